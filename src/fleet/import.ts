/**
 * Bulk device import: parses and validates a CSV or JSON file into rows the store can import in one
 * transaction. Pure: no I/O, no store. Every row is checked and every problem reported with the row
 * number the user sees, so one upload shows all mistakes at once; the caller imports nothing unless
 * `errors` is empty.
 *
 * CSV: the first line is the header, a subset of these columns in any order (name, vendor and host
 * are required):
 *
 *   name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint
 *   studio-a,osprey-talon,10.0.0.21,,admin,s3cret,site=berlin;env=prod,news-720p,pin,AB:CD:…
 *
 * - port: empty = the vendor's default port.
 * - labels: `key=value` pairs separated by `;`.
 * - profile: the name of an existing profile.
 * - tls_mode: off | verify | pin | insecure; tls_fingerprint (SHA-256, hex, colons optional) only with
 *   pin, where an empty one means trust on first use.
 * - An empty cell means "not given": on create the field stays unset, on upsert the stored value is
 *   kept (so an export without passwords can be re-imported without wiping them).
 *
 * JSON: an array of objects with the same keys; `port` may be a number, `labels` a `k=v;…` string or
 * an object. Row numbers are 1-based array positions.
 *
 * Row number 0 in an error means the file as a whole (empty, not parseable, too many rows).
 */
import { type Static, Type } from '@sinclair/typebox';
import { parse as parseCsv } from 'csv-parse/sync';
import {
  type DeviceTls,
  DeviceTls as DeviceTlsSchema,
  VENDOR_IDS,
  type VendorId,
} from '../../drivers/contract.js';
import { compileValidator, createAjv } from '../validation.js';
import { DeviceName, LabelMap, VendorField } from './device-fields.js';
import { normaliseHost } from './host.js';
import { checkLabels, parseLabelList } from './labels.js';

export const IMPORT_COLUMNS = [
  'name',
  'vendor',
  'host',
  'port',
  'username',
  'password',
  'labels',
  'profile',
  'tls_mode',
  'tls_fingerprint',
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];
const REQUIRED_COLUMNS: readonly ImportColumn[] = ['name', 'vendor', 'host'];
export const MAX_IMPORT_ROWS = 10_000;

/** One valid device row, ready for `store.devices.importMany`. Optional fields absent = not given. */
export interface ImportRow {
  /** As the user sees it: the CSV line number (header = 1) or the 1-based JSON array position. */
  readonly row: number;
  readonly name: string;
  readonly vendor: VendorId;
  /** Normalised (see normaliseHost). */
  readonly host: string;
  /** Effective port: the vendor default when the row left it empty. */
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Profile name, resolved by the store. */
  readonly profile?: string;
  readonly tls?: DeviceTls;
}

export interface RowProblem {
  readonly row: number;
  /** The column the problem is in, `*` for the row or file as a whole. */
  readonly field: string;
  readonly reason: string;
}

export interface ParsedImport {
  readonly rows: ImportRow[];
  readonly errors: RowProblem[];
}

export interface ParseImportOptions {
  /** The port a vendor listens on when a row leaves `port` empty; undefined when none is known. */
  readonly defaultPort: (vendor: VendorId) => number | undefined;
}

export type ImportFormat = 'csv' | 'json';

export function parseImport(text: string, format: ImportFormat, opts: ParseImportOptions): ParsedImport {
  return format === 'csv' ? parseCsvImport(text, opts) : parseJsonImport(text, opts);
}

/** A row before validation: cell values as given (strings from CSV; anything from JSON). */
type RawRow = { readonly row: number; readonly cells: Readonly<Record<string, unknown>> };

export function parseCsvImport(text: string, opts: ParseImportOptions): ParsedImport {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // csv-parse miscounts lines for CRLF inside quoted fields; one line ending makes `lines` exact.
    // With `info: true` csv-parse returns { record, info } objects; its typings do not say so.
    records = parseCsv(text.replace(/\r\n?/g, '\n'), {
      info: true,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      // Header + the most rows we accept + one, so an oversized file is detected without parsing it all.
      to: MAX_IMPORT_ROWS + 2,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const line = (err as { lines?: unknown }).lines;
    return fileError(typeof line === 'number' ? line : 0, `not valid CSV: ${(err as Error).message}`);
  }
  const [header, ...body] = records;
  if (!header)
    return fileError(0, `the file is empty; the first line must be the header: ${IMPORT_COLUMNS.join(',')}`);

  const headerLine = startLine(header);
  const columns = header.record.map((c) => c.trim().toLowerCase());
  const headerErrors: RowProblem[] = [];
  columns.forEach((column, i) => {
    if (!(IMPORT_COLUMNS as readonly string[]).includes(column))
      headerErrors.push({
        row: headerLine,
        field: column || `column ${i + 1}`,
        reason: `unknown column; the header must name columns from: ${IMPORT_COLUMNS.join(',')}`,
      });
    else if (columns.indexOf(column) !== i)
      headerErrors.push({ row: headerLine, field: column, reason: 'column appears twice' });
  });
  for (const required of REQUIRED_COLUMNS)
    if (!columns.includes(required))
      headerErrors.push({
        row: headerLine,
        field: required,
        reason: 'required column is missing from the header',
      });
  if (headerErrors.length) return { rows: [], errors: headerErrors };

  if (body.length > MAX_IMPORT_ROWS) return tooMany();
  const shapeErrors: RowProblem[] = [];
  const raw: RawRow[] = [];
  for (const r of body) {
    const row = startLine(r);
    if (r.record.length !== columns.length) {
      shapeErrors.push({
        row,
        field: '*',
        reason: `has ${r.record.length} fields; the header has ${columns.length}`,
      });
      continue;
    }
    const cells: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      cells[column] = r.record[i];
    });
    raw.push({ row, cells });
  }
  const validated = validateRows(raw, opts);
  return { rows: validated.rows, errors: sortProblems([...shapeErrors, ...validated.errors]) };
}

export function parseJsonImport(text: string, opts: ParseImportOptions): ParsedImport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fileError(0, `not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) return fileError(0, 'expected a JSON array of device objects');
  if (data.length > MAX_IMPORT_ROWS) return tooMany();
  const shapeErrors: RowProblem[] = [];
  const raw: RawRow[] = [];
  data.forEach((item: unknown, i) => {
    const row = i + 1;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      shapeErrors.push({ row, field: '*', reason: 'must be an object' });
      return;
    }
    const cells = item as Record<string, unknown>;
    const unknown = Object.keys(cells).filter((k) => !(IMPORT_COLUMNS as readonly string[]).includes(k));
    for (const key of unknown)
      shapeErrors.push({ row, field: key, reason: `unknown field; known: ${IMPORT_COLUMNS.join(', ')}` });
    if (!unknown.length) raw.push({ row, cells });
  });
  const validated = validateRows(raw, opts);
  return { rows: validated.rows, errors: sortProblems([...shapeErrors, ...validated.errors]) };
}

// ---------------------------------------------------------------------------------------------
// Row validation, shared by both formats.
// ---------------------------------------------------------------------------------------------

const ImportRowSchema = Type.Object(
  {
    name: DeviceName,
    vendor: VendorField,
    host: Type.String({ format: 'host', minLength: 1, maxLength: 253 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    labels: Type.Optional(LabelMap),
    profile: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
type CheckedRow = Static<typeof ImportRowSchema>;

/** Field problems with plain column names (`host`, not `/host`), as import reports use them. */
function checker(schema: object) {
  const validate = compileValidator<unknown>(createAjv({ coerce: false }), schema, '');
  return (value: unknown): { field: string; reason: string }[] => {
    const result = validate(value);
    return result.ok
      ? []
      : result.errors.map((e) => ({
          field: e.field.replace(/^\//, '').split('/')[0] || '*',
          reason: e.reason,
        }));
  };
}
const checkRow = checker(ImportRowSchema);
const checkTls = checker(DeviceTlsSchema);

function validateRows(raw: readonly RawRow[], opts: ParseImportOptions): ParsedImport {
  const rows: ImportRow[] = [];
  const errors: RowProblem[] = [];
  const firstByName = new Map<string, number>();
  const firstByAddress = new Map<string, number>();
  for (const { row, cells } of raw) {
    const problems: RowProblem[] = [];
    const add = (field: string, reason: string) => problems.push({ row, field, reason });
    const candidate: Record<string, unknown> = {};
    for (const field of ['name', 'vendor', 'host', 'username', 'profile'] as const) {
      const value = given(cells[field], true);
      if (value !== undefined) candidate[field] = value;
    }
    // Passwords are taken verbatim: leading or trailing blanks may be part of them.
    const password = given(cells.password, false);
    if (password !== undefined) candidate.password = password;
    if (typeof candidate.host === 'string') candidate.host = normaliseHost(candidate.host);

    const port = given(cells.port, true);
    if (port === undefined) {
      const vendor = candidate.vendor;
      if (isVendorId(vendor)) {
        const fallback = opts.defaultPort(vendor);
        if (fallback === undefined) add('port', `is required: no default port is known for ${vendor}`);
        else candidate.port = fallback;
      }
    } else if (typeof port === 'number') candidate.port = port;
    else if (typeof port === 'string' && /^\d{1,5}$/.test(port)) candidate.port = Number(port);
    else add('port', 'must be a whole number from 1 to 65535');

    const labels = cells.labels;
    if (typeof labels === 'string') {
      if (labels.trim()) {
        const parsed = parseLabelList(labels);
        for (const p of parsed.problems) add('labels', `${p.key}: ${p.reason}`);
        if (!parsed.problems.length) candidate.labels = parsed.labels;
      }
    } else if (typeof labels === 'object' && labels !== null && !Array.isArray(labels)) {
      const lp = checkLabels(labels as Record<string, string>);
      for (const p of lp) add('labels', `${p.key}: ${p.reason}`);
      if (!lp.length) candidate.labels = labels;
    } else if (labels !== undefined && labels !== null) add('labels', 'must be "key=value;key2=value2"');

    const tls = parseTls(given(cells.tls_mode, true), given(cells.tls_fingerprint, true), add);

    for (const p of checkRow(candidate)) {
      // Problems already reported in friendlier words above are not repeated, and a missing port
      // is only a consequence of an unknown vendor (whose default port we cannot know).
      if (problems.some((q) => q.field === p.field)) continue;
      if (p.field === 'port' && port === undefined && !isVendorId(candidate.vendor)) continue;
      add(p.field, p.field === 'port' ? 'must be a whole number from 1 to 65535' : p.reason);
    }
    if (problems.length) {
      errors.push(...problems);
      continue;
    }
    const ok = candidate as CheckedRow;
    const address = `${ok.host}:${ok.port}`;
    const sameName = firstByName.get(ok.name);
    const sameAddress = firstByAddress.get(address);
    if (sameName !== undefined) add('name', `"${ok.name}" already appears in row ${sameName}`);
    else firstByName.set(ok.name, row);
    if (sameAddress !== undefined) add('host', `${address} already appears in row ${sameAddress}`);
    else firstByAddress.set(address, row);
    if (problems.length) {
      errors.push(...problems);
      continue;
    }
    rows.push({ row, ...ok, vendor: ok.vendor as VendorId, ...(tls ? { tls } : {}) });
  }
  return { rows, errors };
}

function parseTls(
  mode: unknown,
  fingerprint: unknown,
  add: (field: string, reason: string) => void,
): DeviceTls | undefined {
  if (mode === undefined) {
    if (fingerprint !== undefined) add('tls_fingerprint', 'only allowed with tls_mode=pin');
    return undefined;
  }
  const modes = ['off', 'verify', 'pin', 'insecure'];
  if (typeof mode !== 'string' || !modes.includes(mode)) {
    add('tls_mode', `must be one of: ${modes.join(', ')}`);
    return undefined;
  }
  if (mode !== 'pin') {
    if (fingerprint !== undefined) add('tls_fingerprint', 'only allowed with tls_mode=pin');
    return { mode } as DeviceTls;
  }
  // No fingerprint: trust the first certificate the device presents, and pin that.
  if (fingerprint === undefined) return { mode: 'pin' };
  const tls = { mode: 'pin', fingerprint256: fingerprint };
  if (checkTls(tls).length) {
    add('tls_fingerprint', 'must be a SHA-256 fingerprint: 32 hex bytes, colons optional');
    return undefined;
  }
  return tls as DeviceTls;
}

/** A cell counts as given unless it is missing, null or blank. */
function given(value: unknown, trim: boolean): unknown {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (value.trim() === '') return undefined;
    return trim ? value.trim() : value;
  }
  return value;
}

function isVendorId(value: unknown): value is VendorId {
  return typeof value === 'string' && (VENDOR_IDS as readonly string[]).includes(value);
}

/** First line of a record: its last line minus the line breaks quoted inside its fields. */
function startLine(r: { record: string[]; info: { lines: number } }): number {
  let inner = 0;
  for (const field of r.record) for (const ch of field) if (ch === '\n') inner++;
  return r.info.lines - inner;
}

function fileError(row: number, reason: string): ParsedImport {
  return { rows: [], errors: [{ row, field: '*', reason }] };
}

function tooMany(): ParsedImport {
  return fileError(0, `more than ${MAX_IMPORT_ROWS} rows; split the file and import the parts one by one`);
}

function sortProblems(problems: RowProblem[]): RowProblem[] {
  return problems.sort((a, b) => a.row - b.row);
}

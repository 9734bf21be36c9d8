/** What the CLI prints: aligned tables for people, JSON for scripts. */
import type { Writable } from 'node:stream';

export interface Output {
  readonly json: boolean;
  readonly out: Writable & { isTTY?: boolean };
  readonly err: Writable;
  line(text?: string): void;
  /** The value as JSON (in --json mode) or the table otherwise. */
  result(value: unknown, table?: () => string): void;
}

export function createOutput(json: boolean): Output {
  const out = process.stdout;
  const err = process.stderr;
  return {
    json,
    out,
    err,
    line: (text = '') => out.write(`${text}\n`),
    result(value, table) {
      if (json || !table) out.write(`${JSON.stringify(value, null, 2)}\n`);
      else out.write(table());
    },
  };
}

export type Row = Record<string, unknown>;

/** A plain-text table with a header row; `columns` maps header → cell of a row. */
export function table<T>(rows: readonly T[], columns: Record<string, (row: T) => unknown>): string {
  const headers = Object.keys(columns);
  const cells = rows.map((row) => headers.map((h) => cell(columns[h]!(row))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const format = (values: readonly string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[format(headers), ...cells.map(format)].join('\n')}\n`;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

export function labelText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

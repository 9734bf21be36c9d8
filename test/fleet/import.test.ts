import { describe, expect, it } from 'vitest';
import type { VendorId } from '../../drivers/contract.js';
import { MAX_IMPORT_ROWS, parseCsvImport, parseImport, parseJsonImport } from '../../src/fleet/import.js';

const PORTS: Partial<Record<VendorId, number>> = { 'osprey-talon': 80, videon: 80 };
const opts = { defaultPort: (v: VendorId) => PORTS[v] };
const HEADER = 'name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint';
const FP = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join(':');

describe('parseCsvImport()', () => {
  it('parses a valid file into rows with line numbers, defaults and normalised hosts', () => {
    const csv = [
      HEADER,
      `studio-a,osprey-talon,Studio-A.Local,,admin, s3cret ,site=berlin;env=prod,news,pin,${FP}`,
      'studio-b,videon,[FE80::1],8080,,,,,insecure,',
    ].join('\n');
    const { rows, errors } = parseCsvImport(csv, opts);
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      {
        row: 2,
        name: 'studio-a',
        vendor: 'osprey-talon',
        host: 'studio-a.local',
        port: 80,
        username: 'admin',
        password: ' s3cret ', // passwords are taken verbatim
        labels: { site: 'berlin', env: 'prod' },
        profile: 'news',
        tls: { mode: 'pin', fingerprint256: FP },
      },
      { row: 3, name: 'studio-b', vendor: 'videon', host: 'fe80::1', port: 8080, tls: { mode: 'insecure' } },
    ]);
  });

  it('accepts a subset of columns in any order, header case-insensitive, with a BOM and CRLF', () => {
    const { rows, errors } = parseCsvImport('\ufeffHost,Name,Vendor\r\n10.0.0.1,a,videon\r\n', opts);
    expect(errors).toEqual([]);
    expect(rows).toEqual([{ row: 2, name: 'a', vendor: 'videon', host: '10.0.0.1', port: 80 }]);
  });

  it('row numbers are the lines the user sees: blank lines and multi-line quoted fields counted', () => {
    const csv = [
      HEADER,
      '',
      'a,videon,h1,,,"multi\r\nline pw",,,,',
      '',
      'b,acme,h2,,,,,,,',
      'c,videon,h3,0,,,,,,',
    ].join('\r\n');
    const { rows, errors } = parseCsvImport(csv, opts);
    expect(rows.map((r) => r.row)).toEqual([3]);
    expect(rows[0]?.password).toBe('multi\nline pw');
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [6, 'vendor'],
      [7, 'port'],
    ]);
  });

  it('the header is required: unknown, repeated and missing columns are errors on line 1', () => {
    expect(parseCsvImport('a,videon,10.0.0.1\n', opts).errors).toEqual(
      expect.arrayContaining([
        { row: 1, field: 'a', reason: expect.stringContaining('unknown column') },
        { row: 1, field: 'name', reason: 'required column is missing from the header' },
      ]),
    );
    expect(parseCsvImport('name,vendor,host,name,colour\n', opts).errors).toEqual([
      { row: 1, field: 'name', reason: 'column appears twice' },
      { row: 1, field: 'colour', reason: expect.stringContaining('unknown column') },
    ]);
    expect(parseCsvImport('', opts).errors).toEqual([
      { row: 0, field: '*', reason: expect.stringContaining('empty') },
    ]);
  });

  it('a row with the wrong number of fields is an error for that row', () => {
    const { errors } = parseCsvImport('name,vendor,host\na,videon\nb,videon,h,extra\n', opts);
    expect(errors).toEqual([
      { row: 2, field: '*', reason: 'has 2 fields; the header has 3' },
      { row: 3, field: '*', reason: 'has 4 fields; the header has 3' },
    ]);
  });

  it('unparseable CSV is one error with the line', () => {
    const { rows, errors } = parseCsvImport('name,vendor,host\n"a,videon,h\n', opts);
    expect(rows).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.reason).toMatch(/not valid CSV/);
  });

  it('validates every row and reports all problems with field names', () => {
    const csv = [
      HEADER,
      ',videon,h1,,,,,,,', // 2: no name
      'b,videon,not a host,,,,,,,', // 3
      'c,videon,h3,http,,,,,,', // 4
      'd,videon,h4,,,,site;vendor=x,,,', // 5
      'e,videon,h5,,,,,,pin,', // 6: valid, trust on first use
      'f,videon,h6,,,,,,off,aa:bb', // 7
      'g,videon,h7,,,,,,pin,zz', // 8
      'h,videon,h8,,,,,,tls,', // 9
      'i,teradek-prism,h9,,,,,,,', // 10: no default port known
    ].join('\n');
    const { rows, errors } = parseCsvImport(csv, opts);
    expect(rows.map((r) => [r.name, r.tls])).toEqual([['e', { mode: 'pin' }]]);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [2, 'name'],
      [3, 'host'],
      [4, 'port'],
      [5, 'labels'],
      [5, 'labels'],
      [7, 'tls_fingerprint'],
      [8, 'tls_fingerprint'],
      [9, 'tls_mode'],
      [10, 'port'],
    ]);
    expect(errors.at(-1)?.reason).toBe('is required: no default port is known for teradek-prism');
  });

  it('duplicate names and host:ports within the file are errors naming the first row', () => {
    const csv = [
      HEADER,
      'a,videon,h.example,,,,,,,',
      'a,videon,other,,,,,,,',
      'b,videon,H.EXAMPLE,80,,,,,,',
      'c,videon,h.example,81,,,,,,',
    ].join('\n');
    const { rows, errors } = parseCsvImport(csv, opts);
    expect(rows.map((r) => r.name)).toEqual(['a', 'c']);
    expect(errors).toEqual([
      { row: 3, field: 'name', reason: '"a" already appears in row 2' },
      { row: 4, field: 'host', reason: 'h.example:80 already appears in row 2' },
    ]);
  });

  it(`accepts ${MAX_IMPORT_ROWS} rows; one more is a single clear error`, () => {
    const body = (n: number) =>
      Array.from(
        { length: n },
        (_, i) => `d${i},videon,10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},,,,,,,`,
      );
    const ok = parseCsvImport([HEADER, ...body(MAX_IMPORT_ROWS)].join('\n'), opts);
    expect(ok.errors).toEqual([]);
    expect(ok.rows).toHaveLength(MAX_IMPORT_ROWS);
    expect(ok.rows.at(-1)?.row).toBe(MAX_IMPORT_ROWS + 1);
    const tooMany = parseCsvImport([HEADER, ...body(MAX_IMPORT_ROWS + 5)].join('\n'), opts);
    expect(tooMany).toEqual({
      rows: [],
      errors: [{ row: 0, field: '*', reason: expect.stringContaining('more than 10000 rows') }],
    });
  });
});

describe('parseJsonImport()', () => {
  it('takes an array of the same objects; port may be a number, labels a string or an object', () => {
    const { rows, errors } = parseJsonImport(
      JSON.stringify([
        { name: 'a', vendor: 'videon', host: 'h1', port: 8080, labels: { site: 'x' } },
        { name: 'b', vendor: 'videon', host: 'h2', port: '81', labels: 'site=y', password: 'pw' },
      ]),
      opts,
    );
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { row: 1, name: 'a', vendor: 'videon', host: 'h1', port: 8080, labels: { site: 'x' } },
      { row: 2, name: 'b', vendor: 'videon', host: 'h2', port: 81, labels: { site: 'y' }, password: 'pw' },
    ]);
  });

  it('reports non-arrays, non-objects, unknown fields and wrong types by array position', () => {
    expect(parseJsonImport('{"name":"a"}', opts).errors).toEqual([
      { row: 0, field: '*', reason: 'expected a JSON array of device objects' },
    ]);
    expect(parseJsonImport('[', opts).errors[0]?.reason).toMatch(/not valid JSON/);
    const { errors } = parseJsonImport(
      JSON.stringify([
        7,
        { name: 'a', vendor: 'videon', host: 'h', colour: 'red' },
        { name: 5, vendor: 'videon', host: 'h3', labels: [1] },
      ]),
      opts,
    );
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [1, '*'],
      [2, 'colour'],
      [3, 'labels'],
      [3, 'name'],
    ]);
  });

  it('more than the maximum is one error', () => {
    const big = JSON.stringify(Array.from({ length: MAX_IMPORT_ROWS + 1 }, () => ({})));
    expect(parseImport(big, 'json', opts).errors).toEqual([
      { row: 0, field: '*', reason: expect.stringContaining('more than') },
    ]);
  });

  it('never echoes a password in an error', () => {
    const secret = 'x'.repeat(300);
    const { errors } = parseJsonImport(
      JSON.stringify([{ name: 'a', vendor: 'videon', host: 'h', password: secret }]),
      opts,
    );
    expect(errors.map((e) => e.field)).toEqual(['password']);
    expect(JSON.stringify(errors)).not.toContain(secret);
  });
});

/**
 * Bulk import of a 10,000-row CSV (every column used: credentials, two labels, TLS mode) into a
 * fresh service on the embedded store, through the API (`POST /v1/devices/import`), timed from
 * sending the request to the answer; target < 5 s. The import is checked, not trusted: the service
 * must report every row created and list all of them afterwards.
 *
 * Polling is set to once an hour so the imported devices (none of which exists) cost nothing.
 */
import { api, type BenchResult, startServiceProcess } from './lib.js';
import { listAll } from './polled-fleet.js';

const VENDORS = ['osprey-talon', 'videon', 'teradek-vidiu', 'teradek-prism'] as const;

export async function importBench(): Promise<BenchResult> {
  const rows = Number(process.env.BENCH_ROWS ?? 10_000);
  const service = await startServiceProcess({ POLL_INTERVAL_MS: '3600000' });
  try {
    const csv = inventoryCsv(rows);
    const started = performance.now();
    const result = await api(service.url, 'POST', '/v1/devices/import', csv);
    const wallMs = Math.round(performance.now() - started);
    if (result.created !== rows) throw new Error(`import created ${result.created} of ${rows} rows`);
    const listed = (await listAll(service.url)).length;
    if (listed !== rows) throw new Error(`the service lists ${listed} devices after importing ${rows}`);
    return {
      name: 'import',
      figures: { rows, wallMs, csvKB: Math.round(Buffer.byteLength(csv) / 1024) },
      targets: [{ figure: 'wallMs', value: wallMs, kind: 'max', limit: 5000 }],
    };
  } finally {
    await service.stop();
  }
}

/** The documented import header; addresses in 127.20.0.0/16 (loopback, nobody listening). */
export function inventoryCsv(rows: number): string {
  const lines = ['name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint'];
  for (let i = 0; i < rows; i++) {
    const vendor = VENDORS[i % VENDORS.length]!;
    const host = `127.20.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const labels = `site=site-${i % 40};rack=r${i % 7}`;
    lines.push(
      `enc-${String(i).padStart(5, '0')},${vendor},${host},8080,admin,pw-${i}-secret,${labels},,off,`,
    );
  }
  return `${lines.join('\n')}\n`;
}

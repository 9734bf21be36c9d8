/**
 * The inventory in the import's CSV format (`IMPORT_COLUMNS`), so a fleet can be exported, edited
 * and imported back with `mode=upsert`. Passwords never leave: the cell is empty, which an upsert
 * reads as "keep the stored one". What the format cannot carry (a custom CA certificate, config
 * overrides, the drift policy) is left out; a device verified against a custom CA gets empty TLS
 * cells, so an upsert keeps its stored TLS settings instead of replacing them with ones without
 * the CA.
 */
import { stringify } from 'csv-stringify/sync';
import type { DeviceRecord } from '../store/devices.js';
import { IMPORT_COLUMNS, type ImportColumn } from './import.js';

export function inventoryCsv(
  devices: readonly DeviceRecord[],
  profileNames: ReadonlyMap<string, string>,
): string {
  const rows = devices.map((d): Record<ImportColumn, string> => {
    const tls = d.tls.mode === 'verify' && d.tls.ca ? undefined : d.tls;
    return {
      name: d.name,
      vendor: d.vendor,
      host: d.host,
      port: String(d.port),
      username: d.username ?? '',
      password: '',
      labels: Object.entries(d.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(';'),
      profile: d.profileId ? (profileNames.get(d.profileId) ?? '') : '',
      tls_mode: tls?.mode ?? '',
      tls_fingerprint: tls?.mode === 'pin' ? (tls.fingerprint256 ?? '') : '',
    };
  });
  return stringify(rows, { header: true, columns: [...IMPORT_COLUMNS] });
}

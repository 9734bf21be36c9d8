/**
 * A hosts-table resolver for tests, in the shape of `dns.lookup`: names resolve only to what the
 * table says, so no test ever asks real DNS. Entries can be changed between calls (DNS rebinding).
 */
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';

export interface HostsTable {
  readonly lookup: LookupFunction;
  /** Sets what a name resolves to (several addresses allowed). */
  set(name: string, ...addresses: string[]): void;
  /** How many times each name was resolved. */
  readonly lookups: Map<string, number>;
}

export function hostsTable(initial: Record<string, string[]> = {}): HostsTable {
  const table = new Map<string, string[]>(Object.entries({ localhost: ['127.0.0.1'], ...initial }));
  const lookups = new Map<string, number>();
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const name = hostname.toLowerCase();
    lookups.set(name, (lookups.get(name) ?? 0) + 1);
    const found = table.get(name);
    setImmediate(() => {
      if (!found?.length) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
        return;
      }
      const all: LookupAddress[] = found.map((address) => ({ address, family: isIP(address) }));
      if (options?.all) callback(null, all);
      else callback(null, all[0]!.address, all[0]!.family);
    });
  }) as unknown as LookupFunction;
  return {
    lookup,
    lookups,
    set(name, ...addresses) {
      table.set(name.toLowerCase(), addresses);
    },
  };
}

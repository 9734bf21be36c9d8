import { isIP } from 'node:net';

/**
 * The one spelling of a device host the store keeps, so that duplicate detection (UNIQUE(host, port))
 * sees `Encoder-1.local` and `encoder-1.local`, or `[::1]` and `::1`, as the same device. DNS names
 * are case-insensitive; IPv6 literals are kept without brackets because the HTTP layer adds them.
 * @example normaliseHost(' Encoder-1.LOCAL ') → 'encoder-1.local'; normaliseHost('[FE80::1]') → 'fe80::1'
 */
export function normaliseHost(host: string): string {
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith('[') && trimmed.endsWith(']')) {
    const inner = trimmed.slice(1, -1);
    if (isIP(inner) === 6) return inner;
  }
  return trimmed;
}

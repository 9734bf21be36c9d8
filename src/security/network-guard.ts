/**
 * The SSRF guard. This service connects to whatever host an API caller names, so a device host is
 * an address the caller makes us dial: it must lie in the networks devices are allowed to live in
 * (ALLOW_DEVICE_NETWORKS, default the private ranges), and a few kinds of address are refused
 * whatever the configuration says (link-local, cloud metadata, unspecified, multicast).
 *
 * Checked twice: when a device is created or changed (a clear 400 naming `host`), and at connect
 * time for every address the host resolves to, so a name that later resolves elsewhere (DNS
 * rebinding) is still refused before a socket is opened.
 *
 * Webhook receivers are the other addresses callers make us dial. They live on the internet or an
 * ops network, so the device allow-list does not bind them (`checkWebhook`): only the always-refused
 * addresses are refused, and loopback unless ALLOW_DEVICE_NETWORKS lists it, under the same rule
 * as devices, so one setting decides whether anything may make this service call its own host.
 */
import { lookup as systemLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { BadRequestError } from '../api/errors.js';

/** The default allow-list: the private IPv4 ranges and IPv6 unique-local addresses. */
export const DEFAULT_DEVICE_NETWORKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Refused whatever ALLOW_DEVICE_NETWORKS says, to devices and webhook receivers alike. */
const ALWAYS_REFUSED: readonly (readonly [string, string])[] = [
  ['169.254.0.0/16', 'link-local (cloud metadata service)'],
  ['fe80::/10', 'link-local'],
  ['fd00:ec2::254/128', 'cloud metadata service'],
  ['100.100.100.200/32', 'cloud metadata service'],
  ['168.63.129.16/32', 'cloud platform service'],
  ['0.0.0.0/8', 'unspecified'],
  ['::/128', 'unspecified'],
  ['224.0.0.0/4', 'multicast'],
  ['ff00::/8', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
];
const REFUSED: readonly (readonly [Cidr, string])[] = ALWAYS_REFUSED.map(([cidr, why]) => [
  ipaddr.parseCIDR(cidr),
  why,
]);
const LOOPBACK: readonly Cidr[] = [ipaddr.parseCIDR('127.0.0.0/8'), ipaddr.parseCIDR('::1/128')];
/** NAT64 addresses carry an IPv4 address in their last 32 bits. */
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

/** Thrown for an address the guard refuses; `code` lets the HTTP layers recognise it. */
export class AddressRefusedError extends Error {
  readonly code = 'ERR_ADDRESS_REFUSED';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`address ${address} is refused: ${reason}`);
  }
}

/**
 * Parses a comma-separated CIDR list.
 * @throws Error naming the first entry that is not a CIDR
 */
export function parseNetworks(text: string): Cidr[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      try {
        return ipaddr.parseCIDR(entry);
      } catch {
        throw new Error(`"${entry}" is not a CIDR network such as 10.0.0.0/8 or fc00::/7`);
      }
    });
}

export interface NetworkGuardOptions {
  /** CIDR list, e.g. `10.0.0.0/8,127.0.0.0/8`. */
  readonly allow: string;
  /** Resolves host names (default: the system resolver). Tests pass a hosts table. */
  readonly lookup?: LookupFunction;
  /** Time limit for resolving a name when a device is saved. */
  readonly resolveTimeoutMs?: number;
}

export class NetworkGuard {
  private readonly allowed: Cidr[];
  private readonly resolver: LookupFunction;

  constructor(private readonly opts: NetworkGuardOptions) {
    this.allowed = parseNetworks(opts.allow);
    this.resolver = opts.lookup ?? (systemLookup as LookupFunction);
  }

  /** Throws AddressRefusedError unless devices may live at this IP address. */
  readonly check = (address: string): void => {
    const ip = refuseAlways(address);
    if (this.allows(ip)) return;
    if (isLoopback(ip)) {
      throw new AddressRefusedError(
        address,
        'loopback; allow it in ALLOW_DEVICE_NETWORKS (e.g. 127.0.0.0/8) to manage devices on this host',
      );
    }
    throw new AddressRefusedError(address, `not in ALLOW_DEVICE_NETWORKS (${this.opts.allow})`);
  };

  /**
   * Throws AddressRefusedError unless a webhook receiver may be at this IP address: anywhere but
   * the always-refused addresses, and loopback only when ALLOW_DEVICE_NETWORKS lists it (a receiver
   * URL on loopback would make this service POST to whatever else listens on its own host).
   */
  readonly checkWebhook = (address: string): void => {
    const ip = refuseAlways(address);
    for (const candidate of embedded(ip)) {
      if (isLoopback(candidate) && !this.allows(candidate)) {
        throw new AddressRefusedError(
          address,
          'loopback; allow it in ALLOW_DEVICE_NETWORKS (e.g. 127.0.0.0/8) to deliver webhooks to this host',
        );
      }
    }
  };

  private allows(ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    return this.allowed.some((range) => inRange(ip, range));
  }

  /**
   * Checks a device host when it is saved: an IP literal directly, a name by every address it
   * resolves to now. A name that does not resolve (yet) passes: devices are often entered before
   * they are on the network, and every connection is checked again anyway.
   */
  async checkHost(host: string): Promise<void> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) return this.check(bare);
    const addresses = await this.resolve(bare);
    for (const address of addresses) this.check(address);
  }

  private resolve(host: string): Promise<string[]> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve([]), this.opts.resolveTimeoutMs ?? 2000);
      this.resolver(host, { all: true }, (err, addresses) => {
        clearTimeout(timer);
        if (err || !Array.isArray(addresses)) return resolve([]);
        resolve(addresses.map((a) => a.address));
      });
    });
  }
}

/**
 * Runs a guard check of a value the caller sent, turning a refusal into a 400 naming `field`; any
 * other error passes through.
 */
export async function refusedAsBadRequest(field: string, check: () => void | Promise<void>): Promise<void> {
  try {
    await check();
  } catch (err) {
    if (err instanceof AddressRefusedError)
      throw new BadRequestError(`${field}: ${err.message}`, [{ field, reason: err.message }]);
    throw err;
  }
}

/**
 * The parsed address, unless it is not an IP address or is refused whatever is allowed (itself or
 * the IPv4 address it carries).
 * @throws AddressRefusedError naming the reason
 */
function refuseAlways(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const ip = parseAddress(address);
  if (!ip) throw new AddressRefusedError(address, 'not an IP address');
  for (const candidate of embedded(ip)) {
    for (const [range, why] of REFUSED) {
      if (inRange(candidate, range)) throw new AddressRefusedError(address, why);
    }
  }
  return ip;
}

function isLoopback(ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return LOOPBACK.some((range) => inRange(ip, range));
}

function inRange(ip: ipaddr.IPv4 | ipaddr.IPv6, range: Cidr): boolean {
  return ip.kind() === range[0].kind() && ip.match(range);
}

function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare) || !isIP(bare)) return undefined;
  // IPv4-mapped IPv6 (::ffff:169.254.169.254) is the IPv4 address it carries.
  return ipaddr.process(bare);
}

/** The address itself and any IPv4 address it carries (NAT64), so neither form slips past. */
function embedded(ip: ipaddr.IPv4 | ipaddr.IPv6): (ipaddr.IPv4 | ipaddr.IPv6)[] {
  if (ip.kind() !== 'ipv6' || !ip.match(NAT64)) return [ip];
  const bytes = ip.toByteArray().slice(12);
  return [ip, ipaddr.fromByteArray(bytes)];
}

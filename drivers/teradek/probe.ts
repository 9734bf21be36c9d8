/**
 * Tells which Teradek control plane a device added as plain "teradek" speaks (vendor-apis.md §1):
 * the legacy CGI API (VidiU, VidiU Go, Cube → `teradek-vidiu`) or MQTT over WebSocket at `/mqtt`
 * (Prism, Prism Flex, VidiU X → `teradek-prism`). Both listen on port 80 by default.
 *
 * 1. `GET /cgi-bin/json.cgi?command=geti&q=System.Info.Product` without a session. A CGI unit answers
 *    with the product JSON (basic auth off / open units) or with a `##…#` sentinel (`##Access denied#`):
 *    either way it is a CGI unit. Anything else (404, an HTML page) is not.
 * 2. Otherwise a WebSocket upgrade at `/mqtt`; accepted ⇒ Prism. The MQTT CONNECT (and with it the
 *    password) is never sent: the upgrade alone tells the planes apart.
 *
 * Credentials are not needed and not sent. Errors name the vendor as `teradek`.
 */
import type { ClientRequestArgs, IncomingMessage } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { type ClientOptions, WebSocket } from 'ws';
import {
  DeviceAuthError,
  type DeviceEndpoint,
  DeviceError,
  DeviceProtocolError,
  type DeviceRef,
  DeviceTimeoutError,
  DeviceUnreachableError,
} from '../contract.js';
import { CertificatePin, DeviceHttp, guardedLookup, type HttpReply, peerFingerprint } from '../http.js';
import { MQTT_PATH } from './prism/wire.js';
import { CGI, getiQuery, QUERY, sentinelMessage } from './vidiu/wire.js';

export type TeradekPlane = 'teradek-vidiu' | 'teradek-prism';

export interface ProbeOptions {
  /** Limit for each of the (at most two) attempts. */
  readonly timeoutMs: number;
  /** Overrides the HTTP connection of the CGI attempt (tests); the WebSocket attempt always dials. */
  readonly dispatcher?: Dispatcher;
  /** Called for each address the host resolves to, before connecting (SSRF guard). */
  readonly checkAddress?: (address: string) => void;
  /** Resolves host names (default: the system resolver); every answer passes `checkAddress`. */
  readonly lookup?: LookupFunction;
}

/** Both planes share the default port. */
const DEFAULT_PORT = 80;

/**
 * @example await probeTeradek({ id: 'cam-7', host: '192.168.32.2' }, { timeoutMs: 3000 }) → 'teradek-vidiu'
 * @throws DeviceUnreachableError / DeviceTimeoutError when the device does not answer at all
 * @throws DeviceProtocolError when it answers but speaks neither plane
 */
export async function probeTeradek(
  endpoint: Omit<DeviceEndpoint, 'vendor' | 'credentials'>,
  opts: ProbeOptions,
): Promise<TeradekPlane> {
  const ref: DeviceRef = { deviceId: endpoint.id, vendor: 'teradek' };
  if (await speaksCgi(ref, endpoint, opts)) return 'teradek-vidiu';
  await upgradesToMqtt(ref, endpoint, opts);
  return 'teradek-prism';
}

async function speaksCgi(
  ref: DeviceRef,
  endpoint: Omit<DeviceEndpoint, 'vendor' | 'credentials'>,
  opts: ProbeOptions,
): Promise<boolean> {
  const http = new DeviceHttp({
    // The HTTP layer wants a vendor for its errors; they are re-issued under `teradek` below.
    endpoint: { ...endpoint, vendor: 'teradek-vidiu' },
    defaultPort: DEFAULT_PORT,
    timeoutMs: opts.timeoutMs,
    dispatcher: opts.dispatcher,
    checkAddress: opts.checkAddress,
    lookup: opts.lookup,
  });
  try {
    return isCgiAnswer(
      await http.request({ method: 'GET', path: CGI.json, query: getiQuery(QUERY.product) }),
    );
  } catch (err) {
    throw reissue(ref, err);
  } finally {
    await http.close();
  }
}

/** The product JSON (nested from `System`) or a plain-text sentinel, with a 2xx status. */
function isCgiAnswer(reply: HttpReply): boolean {
  if (reply.status < 200 || reply.status >= 300) return false;
  if (sentinelMessage(reply.text) !== undefined) return true;
  try {
    const body = JSON.parse(reply.text) as unknown;
    return typeof body === 'object' && body !== null && 'System' in body;
  } catch {
    return false;
  }
}

function upgradesToMqtt(
  ref: DeviceRef,
  endpoint: Omit<DeviceEndpoint, 'vendor' | 'credentials'>,
  opts: ProbeOptions,
): Promise<void> {
  const tls = endpoint.tls && endpoint.tls.mode !== 'off' ? endpoint.tls : undefined;
  const host = endpoint.host.replace(/^\[|\]$/g, '');
  const url = `${tls ? 'wss' : 'ws'}://${isIP(host) === 6 ? `[${host}]` : host}:${endpoint.port ?? DEFAULT_PORT}${MQTT_PATH}`;
  return new Promise<void>((resolve, reject) => {
    let options: ClientOptions & Pick<ClientRequestArgs, 'lookup'>;
    try {
      options = {
        handshakeTimeout: opts.timeoutMs,
        rejectUnauthorized: tls?.mode === 'verify',
        ...(tls?.mode === 'verify' && tls.ca ? { ca: tls.ca } : {}),
        ...addressGuard(host, opts.checkAddress, opts.lookup),
      };
    } catch (err) {
      reject(reissue(ref, err));
      return;
    }
    const ws = new WebSocket(url, 'mqtt', options);
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () =>
        settle(
          new DeviceTimeoutError(ref, `no WebSocket upgrade at ${MQTT_PATH} within ${opts.timeoutMs} ms`),
        ),
      opts.timeoutMs,
    );
    ws.on('upgrade', (res: IncomingMessage) => {
      if (tls?.mode !== 'pin') return;
      const refused = new CertificatePin(tls.fingerprint256).check(peerFingerprint(res.socket as TLSSocket));
      if (refused) settle(new DeviceAuthError(ref, refused.message));
    });
    ws.on('open', () => settle());
    ws.on('unexpected-response', (_req, res: IncomingMessage) =>
      settle(
        new DeviceProtocolError(
          ref,
          `neither the CGI API nor MQTT over WebSocket answered (upgrade at ${MQTT_PATH}: HTTP ${res.statusCode})`,
        ),
      ),
    );
    ws.on('error', (err) => settle(reissue(ref, err)));
  });
}

function addressGuard(
  host: string,
  check: ((address: string) => void) | undefined,
  lookup: LookupFunction | undefined,
): Pick<ClientRequestArgs, 'lookup'> {
  if (!check) return {};
  if (isIP(host)) {
    check(host);
    return {};
  }
  return { lookup: guardedLookup(check, lookup) };
}

/** Re-issues errors under the probe's own name; anything that is not ours yet is a connect failure. */
function reissue(ref: DeviceRef, err: unknown): DeviceError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof DeviceTimeoutError) return new DeviceTimeoutError(ref, message, { cause: err });
  if (err instanceof DeviceAuthError) return new DeviceAuthError(ref, message, { cause: err });
  if (err instanceof DeviceProtocolError) return new DeviceProtocolError(ref, message, { cause: err });
  if (err instanceof DeviceError) return new DeviceUnreachableError(ref, message, { cause: err });
  const code = (err as { code?: string }).code;
  return new DeviceUnreachableError(ref, code ? `${code}: ${message}` : message, { cause: err });
}

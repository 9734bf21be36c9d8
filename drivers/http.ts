/**
 * The one HTTP layer every HTTP driver uses: a keep-alive connection pool per device, a time limit
 * per request, session handling with a single automatic re-login, per-device TLS (verify, pin or
 * explicitly insecure), and replies validated against the vendor's TypeBox wire schemas.
 *
 * Transport failures leave this file only as the typed errors of `errors.ts`.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Static, TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { buildConnector, Client, type Dispatcher } from 'undici';
import {
  DeviceAuthError,
  type DeviceEndpoint,
  DeviceProtocolError,
  type DeviceRef,
  DeviceRejectedError,
  DeviceTimeoutError,
  DeviceUnreachableError,
  isDeviceError,
} from './contract.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface HttpRequest {
  readonly method: HttpMethod;
  /** Path without query, e.g. `/cgi-bin/json.cgi`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as `application/json`. */
  readonly json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  readonly form?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** Sends one request without any session logic; what a session's `login` uses. */
export type RawSend = (req: HttpRequest) => Promise<HttpReply>;

/** A vendor's login exchange. */
export interface SessionScheme {
  /** Logs in and returns the headers to send with every later request. Throws DeviceAuthError on refusal. */
  login(send: RawSend, signal?: AbortSignal): Promise<Record<string, string>>;
  /** True when the reply says the session is gone (expired, logged out, device rebooted). */
  isExpired(reply: HttpReply): boolean;
}

/** A wire schema compiled once, at module load, so checking a reply costs a function call. */
export interface WireSchema<T extends TSchema> {
  readonly name: string;
  readonly schema: T;
  readonly check: TypeCheck<T>;
}

export function wireSchema<T extends TSchema>(name: string, schema: T): WireSchema<T> {
  return { name, schema, check: TypeCompiler.Compile(schema) };
}

export interface DeviceHttpOptions {
  readonly endpoint: DeviceEndpoint;
  readonly defaultPort: number;
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
  readonly checkAddress?: (address: string) => void;
  /** Resolves host names (default: the system resolver); every answer passes `checkAddress`. */
  readonly lookup?: LookupFunction;
  /** Trust on first use: told the fingerprint of the first certificate of a `pin` device without one. */
  readonly onFirstCertificate?: (fingerprint256: string) => void;
  readonly session?: SessionScheme;
  /** Headers sent on every request, e.g. HTTP Basic auth for devices without sessions. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Extracts the device's own error text from a non-2xx reply. */
  readonly errorMessage?: (reply: HttpReply) => string | undefined;
}

/** Largest device reply read; embedded web servers answer in kilobytes, so more is a fault. */
const MAX_REPLY_BYTES = 8 * 1024 * 1024;

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

export class DeviceHttp {
  readonly ref: DeviceRef;
  readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private sessionHeaders: Record<string, string> | undefined;
  private loggingIn: Promise<void> | undefined;

  constructor(private readonly opts: DeviceHttpOptions) {
    const { endpoint } = opts;
    this.ref = { deviceId: endpoint.id, vendor: endpoint.vendor };
    const scheme = endpoint.tls && endpoint.tls.mode !== 'off' ? 'https' : 'http';
    const host = isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host;
    this.origin = `${scheme}://${host}:${endpoint.port ?? opts.defaultPort}`;
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? createClient(this.origin, opts);
  }

  /** Opens a session now (other calls do it on demand). A no-op for devices without sessions. */
  async login(signal?: AbortSignal): Promise<void> {
    if (!this.opts.session) return;
    this.sessionHeaders = undefined;
    await this.ensureSession(signal);
  }

  /** Sends a request with the session, re-logging in once if the device says the session expired. */
  async request(req: HttpRequest): Promise<HttpReply> {
    const { session } = this.opts;
    if (!session) return this.send(req);
    await this.ensureSession(req.signal);
    const reply = await this.send(this.withSession(req));
    if (!session.isExpired(reply)) return reply;

    this.sessionHeaders = undefined;
    await this.ensureSession(req.signal);
    const retried = await this.send(this.withSession(req));
    if (session.isExpired(retried)) {
      throw new DeviceAuthError(this.ref, 'device refused a session it had just granted');
    }
    return retried;
  }

  /** Sends a request, requires a 2xx reply, and returns the body validated against `wire`. */
  async json<T extends TSchema>(req: HttpRequest, wire: WireSchema<T>): Promise<Static<T>> {
    const reply = this.ensureOk(await this.request(req));
    return parseWire(this.ref, wire, reply.text);
  }

  /** Sends a request and requires a 2xx reply. */
  async ok(req: HttpRequest): Promise<HttpReply> {
    return this.ensureOk(await this.request(req));
  }

  /** Translates a non-2xx reply into the matching typed error. */
  ensureOk(reply: HttpReply): HttpReply {
    if (reply.status >= 200 && reply.status < 300) return reply;
    const message = this.opts.errorMessage?.(reply) ?? defaultErrorMessage(reply);
    if (reply.status === 401 || reply.status === 403) throw new DeviceAuthError(this.ref, message);
    throw new DeviceRejectedError(this.ref, message, { retryable: reply.status >= 500 });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close().catch(() => undefined);
  }

  private withSession(req: HttpRequest): HttpRequest {
    return { ...req, headers: { ...req.headers, ...this.sessionHeaders } };
  }

  private async ensureSession(signal?: AbortSignal): Promise<void> {
    if (this.sessionHeaders) return;
    // Concurrent callers share one login exchange instead of each opening a session.
    this.loggingIn ??= (async () => {
      try {
        this.sessionHeaders = await this.opts.session!.login((r) => this.send(r), signal);
      } finally {
        this.loggingIn = undefined;
      }
    })();
    await this.loggingIn;
  }

  private send(req: HttpRequest): Promise<HttpReply> {
    const headers: Record<string, string> = { ...this.opts.headers, ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    } else if (req.form) {
      body = new URLSearchParams(req.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const path = req.query ? `${req.path}?${toQuery(req.query)}` : req.path;
    return new Promise<HttpReply>((resolve, reject) => {
      const exchange = new Exchange(this.ref, this.opts.timeoutMs, req.signal, resolve, (err, timedOut) =>
        reject(req.signal?.aborted ? req.signal.reason : this.translate(err, timedOut)),
      );
      try {
        this.dispatcher.dispatch(
          {
            origin: this.origin,
            path,
            method: req.method,
            headers,
            body,
            headersTimeout: this.opts.timeoutMs,
            bodyTimeout: this.opts.timeoutMs,
          },
          exchange,
        );
      } catch (err) {
        exchange.fail(err);
      }
    });
  }

  private translate(err: unknown, timedOut: boolean): Error {
    if (isDeviceError(err)) return err;
    const code = (err as { code?: string }).code ?? '';
    const message = (err as Error).message ?? String(err);
    if (timedOut || TIMEOUT_CODES.has(code)) {
      return new DeviceTimeoutError(this.ref, `no answer within ${this.opts.timeoutMs} ms`, { cause: err });
    }
    if (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
      return new DeviceAuthError(this.ref, `TLS certificate not trusted: ${message}`, { cause: err });
    }
    if (UNREACHABLE_CODES.has(code)) {
      return new DeviceUnreachableError(this.ref, `${code}: ${message}`, { cause: err });
    }
    return new DeviceUnreachableError(this.ref, message, { cause: err });
  }
}

/**
 * One request's reply, collected straight from undici's dispatch handler: no response stream, no
 * AbortController and no promise per chunk, which at a thousand polls a second is most of what the
 * `request()` API would allocate. Settles once: with the reply, at the deadline (the whole exchange,
 * connect to last byte, must fit in `timeoutMs`), when the caller's signal aborts, or on error.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private chunks: Buffer[] = [];
  private bytes = 0;
  private settled = false;
  private abortReason: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly ref: DeviceRef,
    timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (reply: HttpReply) => void,
    private readonly reject: (err: unknown, timedOut: boolean) => void,
  ) {
    this.timer = setTimeout(() => this.fail(new Error(`no answer within ${timeoutMs} ms`), true), timeoutMs);
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.fail(signal.reason));
      this.onAbort = () => this.fail(signal.reason);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Ended before the request reached the socket: stop it there.
    if (this.abortReason) controller.abort(this.abortReason);
    this.chunks = [];
    this.bytes = 0;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: the real reply follows
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.bytes += chunk.length;
    if (this.bytes > MAX_REPLY_BYTES) {
      this.fail(new DeviceProtocolError(this.ref, `reply larger than ${MAX_REPLY_BYTES} bytes`));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.finish();
    const text =
      this.chunks.length === 1
        ? this.chunks[0]!.toString('utf8')
        : Buffer.concat(this.chunks).toString('utf8');
    this.resolve({ status: this.status, headers: this.headers, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  /** Ends the exchange with an error (the first ending wins) and stops the request if it is under way. */
  fail(err: unknown, timedOut = false): void {
    if (this.settled) return;
    this.finish();
    this.abortReason = err instanceof Error ? err : new Error(String(err));
    this.controller?.abort(this.abortReason);
    this.reject(err, timedOut);
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.timer);
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** Parses `text` as JSON and checks it against `wire`; anything else is a DeviceProtocolError. */
export function parseWire<T extends TSchema>(ref: DeviceRef, wire: WireSchema<T>, text: string): Static<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DeviceProtocolError(
      ref,
      `${wire.name}: reply is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  return checkWire(ref, wire, value);
}

/** Checks an already-parsed value against `wire`. */
export function checkWire<T extends TSchema>(ref: DeviceRef, wire: WireSchema<T>, value: unknown): Static<T> {
  if (wire.check.Check(value)) return value;
  const problems = [...wire.check.Errors(value)]
    .slice(0, 3)
    .map((e) => `${e.path || '/'} ${e.message}`)
    .join('; ');
  throw new DeviceProtocolError(ref, `${wire.name}: reply does not match the expected shape: ${problems}`);
}

function defaultErrorMessage(reply: HttpReply): string {
  const text = reply.text.trim();
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const key of ['message', 'error', 'reason', 'detail']) {
      if (typeof body[key] === 'string') return `HTTP ${reply.status}: ${body[key]}`;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return `HTTP ${reply.status}: ${text.slice(0, 200) || '(empty reply)'}`;
}

function toQuery(query: Readonly<Record<string, string | number | boolean>>): string {
  return new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
}

/**
 * One keep-alive connection per device. Operations on a device are serialised by its lane anyway,
 * embedded web servers cope badly with many connections, and an undici Client costs ~2 KB where a
 * Pool costs ~18 KB: at 10,000 devices that is 20 MB against 180 MB.
 */
function createClient(origin: string, opts: DeviceHttpOptions): Client {
  const tls = opts.endpoint.tls;
  const connector = guardedConnector(opts.checkAddress, opts.lookup, {
    timeout: opts.timeoutMs,
    rejectUnauthorized: tls?.mode === 'verify',
    ...(tls?.mode === 'verify' && tls.ca ? { ca: tls.ca } : {}),
  });
  const pin =
    tls?.mode === 'pin' ? new CertificatePin(tls.fingerprint256, opts.onFirstCertificate) : undefined;
  return new Client(origin, {
    keepAliveTimeout: 30_000,
    connect(options, callback) {
      connector(options, (err, socket) => {
        if (err || !socket) {
          callback(err ?? new Error('connection failed'), null);
          return;
        }
        const refused = pin?.check(peerFingerprint(socket as TLSSocket));
        if (!refused) callback(null, socket);
        else {
          socket.destroy();
          callback(refused, null);
        }
      });
    },
  });
}

/**
 * A device's pinned certificate. Without a fingerprint (trust on first use) the first certificate
 * seen is pinned for the life of this connection pool and reported through `onFirst` to be stored;
 * from then on, like a configured pin, any other certificate is refused.
 */
export class CertificatePin {
  private expected: string | undefined;

  constructor(
    fingerprint256: string | undefined,
    private readonly onFirst?: (fingerprint256: string) => void,
  ) {
    this.expected = fingerprint256 ? normaliseFingerprint(fingerprint256) : undefined;
  }

  /** Undefined when `actual` is acceptable; otherwise the error to fail the connection with. */
  check(actual: string | undefined): Error | undefined {
    if (actual && !this.expected) {
      this.expected = actual;
      this.onFirst?.(actual);
      return undefined;
    }
    if (actual && actual === this.expected) return undefined;
    return Object.assign(new Error(`certificate fingerprint ${actual ?? 'missing'} is not the pinned one`), {
      code: 'ERR_TLS_CERT_PIN_MISMATCH',
    });
  }
}

/**
 * An undici connector behind the SSRF guard: an IP literal is checked before it is dialled (Node
 * calls no lookup for one), a name by every address it resolves to (`guardedLookup`). Without
 * `checkAddress` it is undici's own connector (with `lookup`, if given).
 */
export function guardedConnector(
  checkAddress: ((address: string) => void) | undefined,
  lookup: LookupFunction | undefined,
  options: buildConnector.BuildOptions,
): buildConnector.connector {
  if (!checkAddress) return buildConnector({ ...options, ...(lookup ? { lookup } : {}) });
  const connector = buildConnector({ ...options, lookup: guardedLookup(checkAddress, lookup) });
  return (connectOptions, callback) => {
    // undici hands over IPv6 literals without their brackets.
    if (isIP(connectOptions.hostname)) {
      try {
        checkAddress(connectOptions.hostname);
      } catch (err) {
        callback(err as Error, null);
        return;
      }
    }
    connector(connectOptions, callback);
  };
}

/**
 * A DNS lookup that refuses names resolving to a refused address (SSRF guard, DNS rebinding): every
 * address a name resolves to is checked at connect time, not only when the device was added.
 * `resolver` replaces the system resolver (tests resolve names from a table, never from real DNS).
 */
export function guardedLookup(
  checkAddress: (address: string) => void,
  resolver: LookupFunction = dnsLookup as LookupFunction,
): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = Array.isArray(addresses) ? addresses : [];
      if (!list.length) {
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      }
      try {
        for (const a of list) checkAddress(a.address);
      } catch (refused) {
        return callback(refused as Error, []);
      }
      if (options.all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** SHA-256 of the peer's DER certificate, upper-case hex with colons (Node's own format). */
export function peerFingerprint(socket: TLSSocket): string | undefined {
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw) return undefined;
  return normaliseFingerprint(createHash('sha256').update(raw).digest('hex'));
}

export function normaliseFingerprint(value: string): string {
  const hex = value.replace(/:/g, '').toUpperCase();
  return hex.match(/.{2}/g)!.join(':');
}

/** Fingerprint of a PEM certificate, for tests and for operators pinning a known certificate. */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

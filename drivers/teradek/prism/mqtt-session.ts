/**
 * One device's MQTT-over-WebSocket session, the MQTT counterpart of `drivers/http.ts`: a single
 * connection opened lazily and reopened on the next call after it drops, a cache of the retained state
 * topics the device pushes, command exchanges (publish `<topic>/<ts>`, await the reply on
 * `<topic>/<ts>/+`), a time limit per exchange, and transport errors translated into the typed errors
 * of `errors.ts`. Nothing mqtt- or ws-shaped leaves this file.
 *
 * mqtt's own reconnect loop is off: a dead device must not be redialled in the background, and a
 * call against it should fail fast and retryably so the engine's backoff decides when to try again.
 */
import { randomBytes } from 'node:crypto';
import type { ClientRequestArgs, IncomingMessage } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Static, TSchema } from '@sinclair/typebox';
import { connect, type MqttClient } from 'mqtt';
import { type ClientOptions, WebSocket } from 'ws';
import {
  type Credentials,
  DeviceAuthError,
  type DeviceEndpoint,
  type DeviceError,
  DeviceProtocolError,
  type DeviceRef,
  DeviceTimeoutError,
  DeviceUnreachableError,
  isDeviceError,
} from '../../contract.js';
import { CertificatePin, guardedLookup, parseWire, peerFingerprint, type WireSchema } from '../../http.js';

export interface MqttSessionOptions {
  readonly endpoint: DeviceEndpoint;
  readonly defaultPort: number;
  /** WebSocket path of the broker, e.g. `/mqtt`. */
  readonly path: string;
  /** Time limit of one exchange (connect + wait, or connect + command + reply). */
  readonly timeoutMs: number;
  readonly credentials: Credentials;
  readonly checkAddress?: (address: string) => void;
  /** Resolves host names (default: the system resolver); every answer passes `checkAddress`. */
  readonly lookup?: LookupFunction;
  /** Trust on first use: told the fingerprint of the first certificate of a `pin` device without one. */
  readonly onFirstCertificate?: (fingerprint256: string) => void;
  /** Retained topics subscribed on every connect and cached. */
  readonly stateTopics: readonly string[];
}

/** Typed access to the cached retained state; `get` is undefined until the topic has arrived. */
export interface StateView {
  get<T extends TSchema>(topic: string, wire: WireSchema<T>): Static<T> | undefined;
}

export interface CommandOptions {
  readonly signal?: AbortSignal;
  /**
   * The connection dropping after the command went out counts as done. For reboot: a device that
   * restarts before its reply reaches us has still done what it was asked.
   */
  readonly dropMeansDone?: boolean;
}

interface Waiter {
  poll(): void;
  fail(err: Error): void;
}

/** One connection and everything that dies with it. */
interface Connection {
  readonly client: MqttClient;
  readonly state: Map<string, Buffer>;
  /** Command base topic → its reply, undefined until it arrives. */
  readonly replies: Map<string, Buffer | undefined>;
  readonly waiters: Set<Waiter>;
  closed: boolean;
}

/** The time limit of one exchange and the caller's own abort signal. */
interface Limit {
  readonly signal: AbortSignal;
  readonly caller?: AbortSignal;
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/** MQTT 3.1.1 CONNACK return codes that mean "not these credentials". */
const AUTH_RETURN_CODES = new Set([4, 5]);
/** How long `close()` waits for a polite DISCONNECT before cutting the socket. */
const CLOSE_GRACE_MS = 1000;

export class MqttSession {
  readonly ref: DeviceRef;
  readonly url: string;
  private conn: Connection | undefined;
  private opening: Promise<Connection> | undefined;
  private readonly stateTopics: ReadonlySet<string>;
  private lastStamp = 0;
  private ended = false;
  private readonly pin: CertificatePin | undefined;

  constructor(private readonly opts: MqttSessionOptions) {
    const { endpoint } = opts;
    this.ref = { deviceId: endpoint.id, vendor: endpoint.vendor };
    this.stateTopics = new Set(opts.stateTopics);
    const host = bareHost(endpoint.host);
    const secure = endpoint.tls && endpoint.tls.mode !== 'off';
    this.url = `${secure ? 'wss' : 'ws'}://${isIP(host) === 6 ? `[${host}]` : host}:${endpoint.port ?? opts.defaultPort}${opts.path}`;
    this.pin =
      endpoint.tls?.mode === 'pin'
        ? new CertificatePin(endpoint.tls.fingerprint256, opts.onFirstCertificate)
        : undefined;
  }

  /** Opens the session now (other calls do it on demand). Throws DeviceAuthError on a refused login. */
  async open(signal?: AbortSignal): Promise<void> {
    await this.connected(this.limit(signal));
  }

  /**
   * Waits until `probe` can answer from the retained state, and returns its answer. `probe` returns
   * undefined while a topic it needs has not arrived yet; it runs again on every message.
   * @throws DeviceProtocolError when a payload it reads does not match its schema
   */
  async read<R>(what: string, probe: (state: StateView) => R | undefined, signal?: AbortSignal): Promise<R> {
    signal?.throwIfAborted();
    // Usually the answer is already cached: return it without a time limit, whose timer (an
    // AbortSignal.timeout cannot be cancelled) would outlive the call by the whole limit.
    const open = this.conn && !this.conn.closed ? this.conn : undefined;
    const cached = open && probe(this.viewOf(open));
    if (cached !== undefined) return cached;
    const limit = this.limit(signal);
    const conn = await this.connected(limit);
    const view = this.viewOf(conn);
    return this.waitFor(conn, () => probe(view), what, limit);
  }

  private viewOf(conn: Connection): StateView {
    return {
      get: (topic, wire) => {
        const payload = conn.state.get(topic);
        return payload === undefined ? undefined : parseWire(this.ref, wire, payload.toString('utf8'));
      },
    };
  }

  /**
   * Publishes `body` to `<topic>/<ts>` (QoS 2, retained, as the device's web UI does) once the reply
   * subscription is in place, and returns the reply's payload text (undefined when the link dropped
   * after sending and `dropMeansDone` says that is fine).
   */
  async command(topic: string, body: unknown, opts: CommandOptions = {}): Promise<string | undefined> {
    const limit = this.limit(opts.signal);
    const conn = await this.connected(limit);
    const base = `${topic}/${this.stamp()}`;
    const replyFilter = `${base}/+`;
    let sent = false;
    conn.replies.set(base, undefined);
    try {
      // Subscribe first and wait for SUBACK: a broker may handle the publish before a subscription
      // sent in the same breath, and a fast reply would then be lost.
      let subscribed: Error | true | undefined;
      conn.client.subscribe(replyFilter, { qos: 0 }, (err) => {
        subscribed = err ?? true;
        this.poke(conn);
      });
      await this.waitFor(conn, () => settled(subscribed), `SUBACK for ${topic}`, limit);

      let published: Error | undefined;
      conn.client.publish(base, JSON.stringify(body), { qos: 2, retain: true }, (err) => {
        published = err ?? undefined;
        if (err) this.poke(conn);
      });
      sent = true;
      const reply = await this.waitFor(
        conn,
        () => {
          if (published) throw this.translate(published);
          return conn.replies.get(base);
        },
        `reply to ${topic}`,
        limit,
      );
      return reply.toString('utf8');
    } catch (err) {
      if (opts.dropMeansDone && sent && err instanceof DeviceUnreachableError) return undefined;
      throw err;
    } finally {
      conn.replies.delete(base);
      if (!conn.closed) conn.client.unsubscribe(replyFilter, () => undefined);
    }
  }

  /** Cuts the current connection without ceremony; the next call opens a fresh one. */
  disconnect(): void {
    const conn = this.conn;
    if (conn) this.dropped(conn);
  }

  /** Ends the connection; later calls fail. */
  async close(): Promise<void> {
    this.ended = true;
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    this.fail(conn, new DeviceUnreachableError(this.ref, 'driver is closed'));
    await endConnection(conn);
  }

  // ----- connection ---------------------------------------------------------------------------------

  private async connected(limit: Limit): Promise<Connection> {
    if (this.ended) throw new DeviceUnreachableError(this.ref, 'driver is closed');
    if (this.conn && !this.conn.closed) return this.conn;
    // Concurrent callers share one connection attempt; it carries its own time limit, so it always ends.
    this.opening ??= this.dial().finally(() => {
      this.opening = undefined;
    });
    return withLimit(this.opening, limit, () => this.limitError(limit, 'MQTT session'));
  }

  private dial(): Promise<Connection> {
    const { credentials, timeoutMs } = this.opts;
    return new Promise<Connection>((resolve, reject) => {
      let wsOptions: ClientOptions & Pick<ClientRequestArgs, 'lookup'>;
      try {
        wsOptions = { handshakeTimeout: timeoutMs + 1000, ...this.tlsOptions(), ...this.addressGuard() };
      } catch (err) {
        reject(this.translate(err));
        return;
      }
      // A certificate refused by the pin; the socket is cut, and this is why.
      let pinRefusal: Error | undefined;
      const client = connect(this.url, {
        username: credentials.username,
        password: credentials.password,
        // MQTT 3.1.1 allows servers to refuse client ids over 23 characters.
        clientId: `efleet_${randomBytes(6).toString('hex')}`,
        protocolVersion: 4,
        clean: true,
        keepalive: 30,
        reconnectPeriod: 0,
        reconnectOnConnackError: false,
        resubscribe: false,
        // Longer than our own limit, so a slow device is reported by our timer as a timeout.
        connectTimeout: timeoutMs + 1000,
        wsOptions,
        // Our own socket, to see the certificate before the MQTT session starts (pinning).
        createWebsocket: (url: string, protocols: string[]) => {
          const ws = new WebSocket(url, protocols, wsOptions);
          if (this.pin) {
            ws.on('upgrade', (res: IncomingMessage) => {
              pinRefusal = this.pin?.check(peerFingerprint(res.socket as TLSSocket));
              if (pinRefusal) ws.terminate();
            });
          }
          return ws;
        },
      });
      const conn: Connection = {
        client,
        state: new Map(),
        replies: new Map(),
        waiters: new Set(),
        closed: false,
      };
      let done = false;
      const fail = (err: DeviceError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        conn.closed = true;
        client.end(true);
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new DeviceTimeoutError(this.ref, `no MQTT session within ${timeoutMs} ms`)),
        timeoutMs,
      );
      // mqtt re-emits only stream errors that carry a `code`; a WebSocket refusal ("Unexpected server
      // response: 404") or our own address guard's refusal would be lost, so keep the stream's last word.
      let streamError: unknown;
      client.stream.on('error', (err: unknown) => {
        streamError = err;
      });
      // An 'error' without a listener would throw; after the handshake both events mean the link is gone.
      client.on('error', (err) => (done ? this.dropped(conn) : fail(this.translate(pinRefusal ?? err))));
      client.on('close', () => {
        if (done) this.dropped(conn);
        else if (pinRefusal) fail(this.translate(pinRefusal));
        else if (streamError) fail(this.translate(streamError));
        else
          fail(
            new DeviceUnreachableError(this.ref, 'connection closed before the device accepted the session'),
          );
      });
      client.on('message', (topic, payload) => this.onMessage(conn, topic, payload));
      client.once('connect', () => {
        client.subscribe([...this.stateTopics], { qos: 0 }, (err, granted) => {
          if (err) return fail(this.translate(err));
          const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
          if (refused.length) {
            return fail(
              new DeviceProtocolError(this.ref, `device refused subscriptions: ${refused.join(', ')}`),
            );
          }
          if (this.ended) return fail(new DeviceUnreachableError(this.ref, 'driver is closed'));
          done = true;
          clearTimeout(timer);
          this.conn = conn;
          resolve(conn);
        });
      });
    });
  }

  /** Certificate checks for `wss`: a CA or the system's for `verify`; pinned or none otherwise. */
  private tlsOptions(): Pick<ClientOptions, 'rejectUnauthorized' | 'ca'> {
    const tls = this.opts.endpoint.tls;
    if (!tls || tls.mode === 'off') return {};
    return {
      rejectUnauthorized: tls.mode === 'verify',
      ...(tls.mode === 'verify' && tls.ca ? { ca: tls.ca } : {}),
    };
  }

  /** SSRF guard: IP literals are checked now; names are checked for every address they resolve to. */
  private addressGuard(): Pick<ClientRequestArgs, 'lookup'> {
    const check = this.opts.checkAddress;
    if (!check) return {};
    const host = bareHost(this.opts.endpoint.host);
    if (isIP(host)) {
      check(host);
      return {};
    }
    return { lookup: guardedLookup(check, this.opts.lookup) };
  }

  private onMessage(conn: Connection, topic: string, payload: Buffer): void {
    if (this.stateTopics.has(topic)) {
      conn.state.set(topic, payload);
    } else {
      const base = topic.slice(0, topic.lastIndexOf('/'));
      if (conn.replies.has(base) && conn.replies.get(base) === undefined) conn.replies.set(base, payload);
    }
    this.poke(conn);
  }

  /** The link is gone: forget its state (it may be stale by the time we reconnect) and fail its waits. */
  private dropped(conn: Connection): void {
    if (conn.closed) return;
    if (this.conn === conn) this.conn = undefined;
    this.fail(conn, new DeviceUnreachableError(this.ref, 'connection to the device dropped'));
    conn.client.end(true);
  }

  private fail(conn: Connection, err: DeviceError): void {
    conn.closed = true;
    for (const waiter of [...conn.waiters]) waiter.fail(err);
  }

  // ----- waiting ------------------------------------------------------------------------------------

  private limit(caller?: AbortSignal): Limit {
    caller?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    return caller ? { signal: AbortSignal.any([caller, timeout]), caller } : { signal: timeout };
  }

  /** The caller's own reason when they aborted, else a timeout. */
  private limitError(limit: Limit, what: string): unknown {
    if (limit.caller?.aborted) return limit.caller.reason;
    return new DeviceTimeoutError(this.ref, `no ${what} within ${this.opts.timeoutMs} ms`);
  }

  private waitFor<R>(conn: Connection, probe: () => R | undefined, what: string, limit: Limit): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const finish = () => {
        conn.waiters.delete(waiter);
        limit.signal.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        poll: () => {
          let value: R | undefined;
          try {
            value = probe();
          } catch (err) {
            finish();
            reject(err);
            return;
          }
          if (value !== undefined) {
            finish();
            resolve(value);
          }
        },
        fail: (err) => {
          finish();
          reject(err);
        },
      };
      const onAbort = () => waiter.fail(this.limitError(limit, what) as Error);
      if (conn.closed)
        return reject(new DeviceUnreachableError(this.ref, 'connection to the device dropped'));
      if (limit.signal.aborted) return onAbort();
      conn.waiters.add(waiter);
      limit.signal.addEventListener('abort', onAbort, { once: true });
      waiter.poll();
    });
  }

  private poke(conn: Connection): void {
    for (const waiter of [...conn.waiters]) waiter.poll();
  }

  /** Command timestamps as the device's UI makes them (epoch ms), kept unique per session. */
  private stamp(): number {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return this.lastStamp;
  }

  private translate(err: unknown): DeviceError {
    if (isDeviceError(err)) return err;
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (typeof code === 'number') {
      // A CONNACK refusal (mqtt's ErrorWithReasonCode carries the return code).
      if (AUTH_RETURN_CODES.has(code)) return new DeviceAuthError(this.ref, `login refused: ${message}`);
      if (code === 3) return new DeviceUnreachableError(this.ref, message, { cause: err });
      return new DeviceProtocolError(this.ref, `broker refused the session: ${message}`);
    }
    if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT'))) {
      return new DeviceAuthError(this.ref, `TLS certificate not trusted: ${message}`, { cause: err });
    }
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
      return new DeviceTimeoutError(this.ref, `${code}: ${message}`, { cause: err });
    }
    if (/handshake has timed out/i.test(message)) {
      return new DeviceTimeoutError(this.ref, message, { cause: err });
    }
    if (/Unexpected server response/i.test(message)) {
      return new DeviceProtocolError(this.ref, `no MQTT broker at ${this.url}: ${message}`);
    }
    return new DeviceUnreachableError(this.ref, typeof code === 'string' ? `${code}: ${message}` : message, {
      cause: err,
    });
  }
}

function settled(result: Error | true | undefined): true | undefined {
  if (result instanceof Error) throw result;
  return result;
}

/** Resolves with `promise` unless `limit` ends first. */
function withLimit<T>(promise: Promise<T>, limit: Limit, reason: () => unknown): Promise<T> {
  if (limit.signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    limit.signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        limit.signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        limit.signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Sends DISCONNECT when the link is up; cuts the socket if that does not finish promptly. */
function endConnection(conn: Connection): Promise<void> {
  const { client } = conn;
  if (!client.connected) {
    client.end(true);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.stream.destroy();
      resolve();
    }, CLOSE_GRACE_MS);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `[::1]` → `::1`: endpoints may carry IPv6 literals in URL brackets. */
function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/**
 * The vendor-independent half of every simulated device: identity, credentials, fault knobs, a
 * record of what it was told to do, and reboot. Vendor files extend `SimDevice` with only their own
 * behaviour and wire quirks.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { VendorId } from '../contract.js';

export interface FaultKnobs {
  /** Added to every reply, in ms. */
  latencyMs: number;
  /** A random extra 0..jitterMs on every reply. */
  jitterMs: number;
  /** Fraction (0..1) of requests answered with HTTP 500. */
  errorRate: number;
  /** Fraction of requests never answered: the client has to time out. */
  timeoutRate: number;
  /** Fraction of requests whose connection is reset without a reply. */
  resetRate: number;
  /** Fraction of replies garbled (cut in half). */
  malformedRate: number;
  /** Sessions expire this long after login; 0 = never. */
  sessionTtlMs: number;
  /** Config writes are acknowledged but not applied (a unit that silently ignores a write). */
  ignoreWrites: boolean;
  /** The next config write applies half of its fields, then the device reboots. */
  rebootOnNextWrite: boolean;
}

export const NO_FAULTS: FaultKnobs = {
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  timeoutRate: 0,
  resetRate: 0,
  malformedRate: 0,
  sessionTtlMs: 0,
  ignoreWrites: false,
  rebootOnNextWrite: false,
};

/** What a device was told to do, in vendor-neutral words, for tests and crash checks to count. */
export type EffectKind = 'login' | 'login-refused' | 'config' | 'start' | 'stop' | 'reboot';

export interface Effect {
  /** When the device acted (after any simulated latency). */
  readonly at: number;
  /** When the request that caused it arrived (= `at` when there was no HTTP request, e.g. MQTT). */
  readonly receivedAt: number;
  readonly kind: EffectKind;
  readonly detail?: unknown;
}

export interface SimRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly cookies: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SimReply {
  readonly status?: number;
  readonly headers?: Record<string, string | string[]>;
  /** A string is sent as is (text/plain unless headers say otherwise); anything else as JSON. */
  readonly body?: unknown;
}

export interface SimDeviceOptions {
  readonly id: string;
  readonly username?: string;
  readonly password?: string;
  readonly seed?: number;
  /** How long a start takes to reach streaming, in ms. */
  readonly startDelayMs?: number;
  /** How long a reboot keeps the device offline, in ms. */
  readonly rebootMs?: number;
  readonly faults?: Partial<FaultKnobs>;
}

/** How many raw requests each device keeps for inspection (effects are kept in full). */
const REQUEST_LOG_SIZE = 200;

export abstract class SimDevice {
  abstract readonly vendor: VendorId;
  readonly id: string;
  username: string;
  password: string;
  faults: FaultKnobs;
  startDelayMs: number;
  rebootMs: number;
  readonly effects: Effect[] = [];
  /**
   * Told of every effect as it is recorded, while the request that caused it is still being handled
   * (crash tests kill the service at that moment: the device has acted, the caller never hears so).
   */
  onEffect: ((device: SimDevice, effect: Effect) => void) | undefined;
  readonly requestLog: { at: number; method: string; path: string; query: string; body: string }[] = [];
  requestCount = 0;
  private offlineUntil = 0;
  private rngState: number;
  /** Arrival of the HTTP request being handled (see handleArrived). */
  private arrival: number | undefined;

  constructor(opts: SimDeviceOptions, defaults: { username: string; password: string }) {
    this.id = opts.id;
    this.username = opts.username ?? defaults.username;
    this.password = opts.password ?? defaults.password;
    this.faults = { ...NO_FAULTS, ...opts.faults };
    this.startDelayMs = opts.startDelayMs ?? 150;
    this.rebootMs = opts.rebootMs ?? 1500;
    this.rngState = opts.seed ?? hashSeed(opts.id);
  }

  /** The vendor's behaviour: one request in, one reply out. Faults are applied around it. */
  abstract handle(req: SimRequest): SimReply;

  /**
   * Handles an HTTP request that arrived at `receivedAt`: effects it records carry that instant,
   * not the (latency-delayed) handling time. Handlers are synchronous, so a field set around the
   * call is enough; an AsyncLocalStorage would tax every promise in the simulator process.
   */
  handleArrived(req: SimRequest, receivedAt: number): SimReply {
    this.arrival = receivedAt;
    try {
      return this.handle(req);
    } finally {
      this.arrival = undefined;
    }
  }

  /** Forget volatile state (sessions, running streams) as a power cycle would; keep saved settings. */
  protected abstract onReboot(): void;

  /** The vendor's internal state, for tests that check exactly what the device received. */
  abstract snapshot(): unknown;

  get online(): boolean {
    return Date.now() >= this.offlineUntil;
  }

  reboot(downMs = this.rebootMs): void {
    this.record('reboot');
    this.offlineUntil = Date.now() + downMs;
    this.onReboot();
  }

  setFaults(knobs: Partial<FaultKnobs>): void {
    this.faults = { ...this.faults, ...knobs };
  }

  record(kind: EffectKind, detail?: unknown): void {
    const at = Date.now();
    const receivedAt = this.arrival ?? at;
    const effect = detail === undefined ? { at, receivedAt, kind } : { at, receivedAt, kind, detail };
    this.effects.push(effect);
    this.onEffect?.(this, effect);
  }

  count(kind: EffectKind): number {
    return this.effects.reduce((n, e) => (e.kind === kind ? n + 1 : n), 0);
  }

  logRequest(req: SimRequest): void {
    this.requestCount++;
    if (this.requestLog.length >= REQUEST_LOG_SIZE) this.requestLog.shift();
    this.requestLog.push({
      at: Date.now(),
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      body: req.body,
    });
  }

  /** Deterministic per device (mulberry32), so a fault run can be repeated from its seed. */
  random(): number {
    this.rngState = (this.rngState + 0x6d2b79f5) | 0;
    let t = this.rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True when the fault of the given rate strikes this time. */
  strikes(rate: number): boolean {
    return rate > 0 && this.random() < rate;
  }

  /**
   * Applies a config write under the write faults: ignored entirely, or half applied before a
   * reboot. `steps` are the individual field writes in the order the device would apply them.
   * Returns false when the device went down part-way (the caller should drop the connection).
   */
  applyWrite(steps: readonly (() => void)[], detail: unknown): boolean {
    if (this.faults.ignoreWrites) return true;
    if (this.faults.rebootOnNextWrite) {
      this.faults.rebootOnNextWrite = false;
      for (const step of steps.slice(0, Math.ceil(steps.length / 2))) step();
      this.record('config', { partial: true, detail });
      this.reboot();
      return false;
    }
    for (const step of steps) step();
    this.record('config', detail);
    return true;
  }
}

/** Thrown by a vendor handler to drop the connection without a reply (device went down). */
export class ConnectionDropped extends Error {}

function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Closes the loop with nanoStream Cloud's custom ingest webhooks: which stream names the managed
 * devices are configured to send (an index kept current from the store by the fleet monitor), the
 * allow/deny answer to `publish`, and whether each device's stream really arrived:
 *  - `confirmed`: every stream of the device is being published at the ingest;
 *  - `missing`: the device says it is streaming, but no `publish` came within the grace period (or
 *    the ingest reported `publish_done` and nothing since);
 *  - `unknown`: neither (not streaming, or still within the grace period).
 * Everything here is in memory and synchronous: a webhook is answered without waiting on a device
 * or the database.
 */
import type { EncoderConfig } from '../../drivers/contract.js';
import { type NanoStreamHosts, nanoStreamNameOf } from './nanostream-target.js';

export type IngestVerdict = 'confirmed' | 'missing' | 'unknown';
export type WebhookCall = 'publish' | 'update_publish' | 'publish_done';

/**
 * Whether a device may send now (its broadcast window). The scheduler plugs its windows in here;
 * until then every window is open.
 */
export type BroadcastWindow = (deviceId: string, at: Date) => boolean;
export const ALWAYS_OPEN: BroadcastWindow = () => true;

export interface IngestWatchOptions {
  readonly hosts: NanoStreamHosts;
  /** A device streaming this long with no publish is `missing`. */
  readonly graceMs: number;
  /** What the device says about its stream, and since when (ISO time). */
  readonly deviceStream: (deviceId: string) => { readonly stream: string; readonly since?: string };
  /** Told when a device's verdict changes (a first `unknown` is not news and is not told). */
  readonly onVerdict: (deviceId: string, verdict: IngestVerdict, at: number) => void;
  readonly window?: BroadcastWindow;
  readonly now?: () => number;
}

interface Arrival {
  publishing: boolean;
  /** When the ingest last said the stream ended. */
  doneAt?: number;
}

export interface WebhookAnswer {
  /** 200 when allowed, 403 when not. */
  readonly allowed: boolean;
  readonly deviceId?: string;
  readonly reason?: 'unknown_stream' | 'outside_window';
}

export class IngestWatch {
  private readonly deviceByStream = new Map<string, string>();
  private readonly streamsByDevice = new Map<string, readonly string[]>();
  private readonly arrivals = new Map<string, Arrival>();
  private readonly verdicts = new Map<string, IngestVerdict>();
  private readonly now: () => number;
  private readonly window: BroadcastWindow;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: IngestWatchOptions) {
    this.now = opts.now ?? Date.now;
    this.window = opts.window ?? ALWAYS_OPEN;
  }

  /** Streams the index knows (devices sending to nanoStream). */
  get size(): number {
    return this.deviceByStream.size;
  }

  /** A device's desired config changed (or the device is gone: `undefined`); re-index its stream names. */
  setDesired(deviceId: string, config: EncoderConfig | undefined): void {
    const names = config
      ? [config.target, ...(config.renditions ?? []).map((r) => r.target)]
          .map((t) => nanoStreamNameOf(t, this.opts.hosts))
          .filter((n): n is string => n !== undefined)
      : [];
    const before = this.streamsByDevice.get(deviceId) ?? [];
    if (before.length === names.length && before.every((n, i) => n === names[i])) return;
    for (const name of before) {
      if (this.deviceByStream.get(name) === deviceId) {
        this.deviceByStream.delete(name);
        this.arrivals.delete(name);
      }
    }
    for (const name of names) this.deviceByStream.set(name, deviceId);
    if (names.length) {
      this.streamsByDevice.set(deviceId, names);
      this.evaluate(deviceId);
    } else {
      // No longer sending to nanoStream: whatever was said about its ingest no longer holds.
      this.streamsByDevice.delete(deviceId);
      this.report(deviceId, 'unknown');
      this.verdicts.delete(deviceId);
    }
  }

  /** Answers one webhook call and records what it says. */
  handle(call: WebhookCall, streamName: string): WebhookAnswer {
    const deviceId = this.deviceByStream.get(streamName);
    if (!deviceId) return { allowed: false, reason: 'unknown_stream' };
    const now = this.now();
    if (call === 'publish_done') {
      this.arrivals.set(streamName, { publishing: false, doneAt: now });
    } else {
      if (!this.window(deviceId, new Date(now)))
        return { allowed: false, deviceId, reason: 'outside_window' };
      this.arrivals.set(streamName, { publishing: true });
    }
    this.evaluate(deviceId);
    return { allowed: true, deviceId };
  }

  /** Re-evaluates every indexed device (on a timer: the grace period runs out without any call). */
  check(): void {
    for (const deviceId of this.streamsByDevice.keys()) this.evaluate(deviceId);
  }

  start(intervalMs = Math.max(100, Math.min(1000, this.opts.graceMs / 4))): void {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private evaluate(deviceId: string): void {
    const names = this.streamsByDevice.get(deviceId);
    if (names) this.report(deviceId, this.verdict(deviceId, names));
  }

  private report(deviceId: string, verdict: IngestVerdict): void {
    const previous = this.verdicts.get(deviceId);
    if (previous === verdict || (previous === undefined && verdict === 'unknown')) return;
    this.verdicts.set(deviceId, verdict);
    this.opts.onVerdict(deviceId, verdict, this.now());
  }

  private verdict(deviceId: string, names: readonly string[]): IngestVerdict {
    const arrivals = names.map((n) => this.arrivals.get(n));
    if (arrivals.every((a) => a?.publishing)) return 'confirmed';
    const device = this.opts.deviceStream(deviceId);
    if (device.stream !== 'streaming') return 'unknown';
    const since = Math.max(
      device.since ? Date.parse(device.since) : 0,
      ...arrivals.map((a) => (a && !a.publishing ? (a.doneAt ?? 0) : 0)),
    );
    return this.now() - since >= this.opts.graceMs ? 'missing' : 'unknown';
  }
}

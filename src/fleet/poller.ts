/**
 * Polls every device's status on an interval, through the device lanes (so a poll never interleaves
 * with a config write on the same device):
 *  - spread evenly: each device gets its own phase in the interval, so 10,000 devices make a steady
 *    1,000 polls a second at 10 s, not 10,000 at once;
 *  - faster while a device is starting or stopping, so the transition is seen promptly;
 *  - exponential backoff (capped) for devices that do not answer, so dead units cost little;
 *  - never faster than the device tolerates (VidiU Go: 1 s).
 * Due times are kept in a timing wheel of 20 ms slots: O(1) to schedule and to collect, and each
 * tick starts few enough polls (20 at 1,000 a second) that API requests never wait behind a burst.
 */
import {
  type DeviceConfig,
  type DeviceEndpoint,
  type DeviceInfo,
  type DeviceStatus,
  type EncoderDriver,
  UnsupportedConfigError,
  type VendorId,
} from '../../drivers/contract.js';
import type { DeviceLanes } from './device-lanes.js';

export interface PollTarget {
  readonly endpoint: DeviceEndpoint;
  /** The device's minimum poll interval (from its capabilities). */
  readonly minIntervalMs: number;
}

export type PollOutcome =
  | {
      readonly status: DeviceStatus;
      readonly config?: DeviceConfig;
      /** Model, serial and firmware: read on the first poll that answers, and again after an outage. */
      readonly info?: DeviceInfo;
      /** The driver found the device to be another vendor id than stored (a `teradek` unit's plane). */
      readonly identifiedAs?: VendorId;
    }
  | { readonly error: unknown };

export interface PollerOptions {
  readonly lanes: DeviceLanes;
  readonly intervalMs: number;
  /** Interval while a device is starting or stopping. */
  readonly fastIntervalMs?: number;
  /** Longest wait between polls of an unreachable device. */
  readonly maxBackoffMs?: number;
  /**
   * Also read the device's config every this many polls (and on the first poll after it comes
   * back), to notice settings changed behind our back. 0 = never.
   */
  readonly configEveryPolls?: number;
  /** Called with every poll's outcome; must not throw. */
  readonly onResult: (deviceId: string, outcome: PollOutcome, durationMs: number) => void;
}

interface Entry {
  target: PollTarget;
  dueSlot: number;
  failures: number;
  /** Successful polls since the last config read; -1 = read config on the next success. */
  sinceConfig: number;
  /**
   * Whether the device's identity is still to be read: at first, and after it stopped answering
   * (it may come back from a firmware update).
   */
  needsInfo: boolean;
  inFlight: boolean;
  removed: boolean;
}

const TICK_MS = 20;

export class Poller {
  private readonly entries = new Map<string, Entry>();
  private readonly slots = new Map<number, string[]>();
  private lastSlot = Math.floor(Date.now() / TICK_MS);
  private timer: NodeJS.Timeout | undefined;
  private readonly fastMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly opts: PollerOptions) {
    this.fastMs = opts.fastIntervalMs ?? Math.min(1000, opts.intervalMs);
    this.maxBackoffMs = opts.maxBackoffMs ?? Math.max(opts.intervalMs, 5 * 60_000);
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  has(deviceId: string): boolean {
    return this.entries.has(deviceId);
  }

  /**
   * Adds a device (first poll at its own phase of the interval; `soon`: of half the interval, for
   * devices taken over from another replica) or updates its connection details.
   */
  upsert(target: PollTarget, opts: { soon?: boolean } = {}): void {
    const existing = this.entries.get(target.endpoint.id);
    if (existing) {
      existing.target = target;
      return;
    }
    const entry: Entry = {
      target,
      dueSlot: 0,
      failures: 0,
      sinceConfig: -1,
      needsInfo: true,
      inFlight: false,
      removed: false,
    };
    this.entries.set(target.endpoint.id, entry);
    const window = opts.soon ? this.opts.intervalMs / 2 : this.opts.intervalMs;
    this.schedule(target.endpoint.id, entry, Date.now() + phaseOf(target.endpoint.id) * window);
  }

  remove(deviceId: string): void {
    const entry = this.entries.get(deviceId);
    if (entry) entry.removed = true;
    this.entries.delete(deviceId);
  }

  /**
   * Polls the device soon (e.g. after a job changed it), without waiting for its turn. `config`:
   * `read` — that poll reads the device's config as well (where polls read configs at all);
   * `verified` — a job has just read the config back and found it as desired, which counts as a
   * config read: the next one comes at the usual cadence, not on this poll.
   */
  pollSoon(deviceId: string, opts: { config?: 'read' | 'verified' } = {}): void {
    const entry = this.entries.get(deviceId);
    if (!entry) return;
    if (opts.config) entry.sinceConfig = opts.config === 'read' ? -1 : 0;
    if (!entry.inFlight)
      this.schedule(deviceId, entry, Date.now() + Math.max(TICK_MS, entry.target.minIntervalMs / 2));
  }

  private schedule(id: string, entry: Entry, due: number): void {
    const slot = Math.max(Math.floor(due / TICK_MS), this.lastSlot + 1);
    entry.dueSlot = slot;
    const list = this.slots.get(slot);
    if (list) list.push(id);
    else this.slots.set(slot, [id]);
  }

  private tick(): void {
    const now = Math.floor(Date.now() / TICK_MS);
    for (let slot = this.lastSlot + 1; slot <= now; slot++) {
      const ids = this.slots.get(slot);
      if (!ids) continue;
      this.slots.delete(slot);
      for (const id of ids) {
        const entry = this.entries.get(id);
        // Entries rescheduled since (pollSoon) or removed leave stale ids behind; skip them.
        if (entry && entry.dueSlot === slot && !entry.inFlight) this.poll(id, entry);
      }
    }
    this.lastSlot = now;
  }

  private poll(id: string, entry: Entry): void {
    entry.inFlight = true;
    const started = Date.now();
    const every = this.opts.configEveryPolls ?? 0;
    const withConfig = every > 0 && (entry.sinceConfig < 0 || entry.sinceConfig + 1 >= every);
    const withInfo = entry.needsInfo;
    this.opts.lanes
      .run(entry.target.endpoint, async (driver) => {
        const status = await driver.getStatus();
        const config = withConfig ? await readConfig(driver) : undefined;
        const info = withInfo ? await readInfo(driver) : undefined;
        const vendor = driver.capabilities.vendor;
        return {
          status,
          ...(config ? { config } : {}),
          ...(info ? { info } : {}),
          ...(vendor !== entry.target.endpoint.vendor ? { identifiedAs: vendor } : {}),
        };
      })
      .then(
        (outcome) => {
          entry.failures = 0;
          if (withInfo) entry.needsInfo = false;
          // A config read asked for meanwhile (pollSoon) stays due.
          entry.sinceConfig = withConfig ? 0 : entry.sinceConfig < 0 ? -1 : entry.sinceConfig + 1;
          this.opts.onResult(id, outcome, Date.now() - started);
          const { status } = outcome;
          const transitioning = status.state === 'starting' || status.state === 'stopping';
          return transitioning ? this.fastMs : this.opts.intervalMs;
        },
        (error: unknown) => {
          entry.failures++;
          entry.sinceConfig = -1;
          entry.needsInfo = true;
          this.opts.onResult(id, { error }, Date.now() - started);
          return Math.min(this.maxBackoffMs, this.opts.intervalMs * 2 ** Math.min(entry.failures - 1, 16));
        },
      )
      .then((nextIn) => {
        entry.inFlight = false;
        if (entry.removed) return;
        // Keep the device's phase: the next poll is one interval after this one was due.
        const due = Math.max(
          entry.dueSlot * TICK_MS + Math.max(nextIn, entry.target.minIntervalMs),
          Date.now() + TICK_MS,
        );
        this.schedule(id, entry, due);
      });
  }
}

/** The device's config, or nothing where reading it is not supported (the status still counts). */
async function readConfig(driver: EncoderDriver): Promise<DeviceConfig | undefined> {
  try {
    return await driver.getConfig();
  } catch (err) {
    if (err instanceof UnsupportedConfigError) return undefined;
    throw err;
  }
}

/**
 * The device's identity, or nothing when it cannot be read: it is for display, so a unit whose
 * identity call fails (or is refused as provisional) is still polled as healthy, and not asked
 * again until it next comes back from an outage.
 */
async function readInfo(driver: EncoderDriver): Promise<DeviceInfo | undefined> {
  try {
    return await driver.getInfo();
  } catch {
    return undefined;
  }
}

/** A stable position in [0, 1) per device id, so restarts keep the same spread. */
function phaseOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}

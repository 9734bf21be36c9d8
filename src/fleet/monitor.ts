/**
 * Keeps the live view of the fleet in step with the store: which devices the poller polls and with
 * what credentials, each device's desired state for sync/drift, which devices a job is working on,
 * and the persisted history of state changes. Also applies the `heal` drift policy by submitting
 * rate-limited jobs. Reads the store on a short refresh cycle, so changes made by another replica
 * reach this one too.
 */
import { setImmediate } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type DeviceEndpoint, EncoderConfig } from '../../drivers/contract.js';
import { getDriverModule } from '../../drivers/index.js';
import { bodyValidator } from '../api/server.js';
import type { DeviceConnection, DeviceRecord } from '../store/devices.js';
import type { Store } from '../store/index.js';
import type { ProfileRecord } from '../store/profiles.js';
import { effectiveConfig } from './effective-config.js';
import type { EventHub } from './event-hub.js';
import type { JobEngine } from './jobs/engine.js';
import type { JobRequest } from './jobs/model.js';
import type { DesiredWrite } from './jobs/repo.js';
import type { Poller } from './poller.js';
import type { DesiredState, StatusTracker } from './status-tracker.js';

const validConfig = bodyValidator<EncoderConfig>(EncoderConfig, 'config');

export interface MonitorOptions {
  readonly store: Store;
  readonly poller: Poller;
  readonly tracker: StatusTracker;
  readonly hub: EventHub;
  readonly logger: Logger;
  /** Needed for the heal policy; absent = report only. */
  readonly engine?: JobEngine;
  readonly refreshMs?: number;
  /** Least time between two heal jobs for one device; doubles after each heal that did not hold. */
  readonly healBackoffMs?: number;
  /** Only devices this process polls (replicas share the fleet); default all. */
  readonly owns?: (deviceId: string) => boolean;
}

/** The device as the store holds it after a job's desired-state write (see DeviceRepo.setDesired). */
function withDesired(device: DeviceRecord, write: DesiredWrite, version: number): DeviceRecord {
  const next = { ...device, version, ...(write.state ? { desiredState: write.state } : {}) };
  if (!write.base) return next;
  const { profileId: _profile, baseConfig: _base, ...rest } = next;
  return 'profileId' in write.base
    ? { ...rest, profileId: write.base.profileId }
    : { ...rest, baseConfig: write.base.config };
}

/** Devices loaded per slice of a refresh. */
const REFRESH_SLICE = 500;

interface HealState {
  nextAllowed: number;
  backoffMs: number;
}

export function endpointOf(d: DeviceConnection): DeviceEndpoint {
  return {
    id: d.id,
    vendor: d.vendor,
    host: d.host,
    port: d.port,
    tls: d.tls,
    ...(d.username && d.password ? { credentials: { username: d.username, password: d.password } } : {}),
  };
}

export class FleetMonitor {
  private timer: NodeJS.Timeout | undefined;
  private lastRefresh = '';
  private profiles = new Map<string, ProfileRecord>();
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly inFlight = new Set<string>();
  private readonly heal = new Map<string, HealState>();
  /** When each device's last job task ended: drift seen in an older poll is not the job's result. */
  private readonly jobEndedAt = new Map<string, number>();
  /** Drifted devices whose heal waits for a poll newer than their last job. */
  private readonly healPending = new Set<string>();
  private pendingChanges: Parameters<Store['observed']['record']>[0][number][] = [];
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: MonitorOptions) {}

  async start(): Promise<void> {
    const { store, tracker } = this.opts;
    for (const s of await store.observed.latest()) {
      tracker.restore(s.deviceId, {
        connectivity: s.connectivity as never,
        stream: s.stream as never,
        since: s.at,
        ...(s.detail ? { lastError: s.detail } : {}),
      });
    }
    this.unsubscribe = this.opts.hub.subscribe((event) => {
      if (event.type === 'job.task' && event.deviceId) {
        const running = event.data.state === 'running';
        if (running) this.inFlight.add(event.deviceId);
        else {
          this.inFlight.delete(event.deviceId);
          this.jobEndedAt.set(event.deviceId, Date.now());
        }
        tracker.setApplying(event.deviceId, running || this.inFlight.has(event.deviceId));
        // A start or stop changes what the device reports within seconds: look again soon rather
        // than at its next turn. (A config apply already read the device back.)
        if (!running && event.data.action !== 'apply') this.opts.poller.pollSoon(event.deviceId);
      }
      if (event.type === 'job.finished') void this.refresh();
      if (event.type === 'device.drift' && event.deviceId) {
        if (event.data.sync === 'drifted') this.maybeHeal(event.deviceId);
        else if (event.data.sync === 'in_sync') this.healed(event.deviceId);
      }
    });
    await this.refresh(true);
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.refreshing;
    await this.flushChanges();
  }

  /**
   * Devices a new job will work on (they count as "applying" until their task ends). The desired
   * state the job recorded is taken as is, at the version it gave each device, so the next refresh
   * does not load every device of a 10,000-device job back from the store.
   */
  markQueued(
    deviceIds: readonly string[],
    desired?: { readonly write: DesiredWrite; readonly versions: ReadonlyMap<string, number> },
  ): void {
    const { tracker } = this.opts;
    for (const id of deviceIds) {
      this.inFlight.add(id);
      tracker.setApplying(id, true);
      const device = this.devices.get(id);
      const version = desired?.versions.get(id);
      // Only on top of the version just before the job's write; otherwise the refresh loads it.
      if (!device || version !== device.version + 1) continue;
      const next = withDesired(device, desired!.write, version);
      this.devices.set(id, next);
      tracker.setDesired(id, this.desiredOf(next));
    }
  }

  /** Called by the tracker for every connectivity/stream change; persisted in batches. */
  recordChange(deviceId: string, connectivity: string, stream: string, at: string, detail?: string): void {
    this.pendingChanges.push({ deviceId, connectivity, stream, at, ...(detail ? { detail } : {}) });
  }

  device(id: string): DeviceRecord | undefined {
    return this.devices.get(id);
  }

  allDevices(): IterableIterator<DeviceRecord> {
    return this.devices.values();
  }

  /** Reloads what changed in the store since the last refresh (all of it on `full`). */
  refresh(full = false): Promise<void> {
    if (this.refreshing) {
      // A change landed while a refresh was reading: read once more afterwards.
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = this.doRefresh(full)
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'fleet refresh failed'))
      .finally(() => {
        this.refreshing = undefined;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          void this.refresh();
        }
      });
    return this.refreshing;
  }

  private async doRefresh(full: boolean): Promise<void> {
    const { store, poller, tracker } = this.opts;
    const started = new Date(Date.now() - 2000).toISOString(); // overlap covers clock skew between writers
    this.profiles = new Map((await store.profiles.list()).map((p) => [p.id, p]));
    const changed =
      full || !this.lastRefresh
        ? await store.devices.allIds()
        : (await store.devices.changedSince(this.lastRefresh))
            // The refresh windows overlap; a device already loaded at this version is skipped.
            .filter((d) => this.devices.get(d.id)?.version !== d.version)
            .map((d) => d.id);
    // A job's desired-state write changes every device it names: load them in slices and let the
    // event loop breathe in between, so device traffic is not stalled by one long synchronous burst.
    for (let i = 0; i < changed.length; i += REFRESH_SLICE) {
      if (i) await setImmediate();
      for (const d of await store.devices.getWithSecrets(changed.slice(i, i + REFRESH_SLICE))) {
        this.devices.set(d.id, d);
        tracker.setDesired(d.id, this.desiredOf(d));
        if (this.opts.owns?.(d.id) ?? true) {
          poller.upsert({
            endpoint: endpointOf(d),
            minIntervalMs: getDriverModule(d.vendor).capabilities.minPollIntervalMs,
          });
        } else {
          poller.remove(d.id);
        }
      }
    }
    if (full || Math.random() < 0.2) {
      // Deletions leave no row to find by time; compare the id sets now and then.
      const ids = new Set(await store.devices.allIds());
      for (const id of this.devices.keys()) {
        if (!ids.has(id)) {
          this.devices.delete(id);
          poller.remove(id);
          tracker.forget(id);
          this.jobEndedAt.delete(id);
        }
      }
      const flying = await store.jobs.devicesInFlight();
      for (const id of this.inFlight) if (!flying.has(id)) this.inFlight.delete(id);
      for (const id of flying) this.inFlight.add(id);
      for (const id of this.devices.keys()) tracker.setApplying(id, this.inFlight.has(id));
    }
    this.lastRefresh = started;
    const pending = [...this.healPending];
    this.healPending.clear();
    for (const id of pending) if (tracker.get(id).sync === 'drifted') this.maybeHeal(id);
    await this.flushChanges();
  }

  private desiredOf(d: DeviceRecord): DesiredState {
    const profile = d.profileId ? this.profiles.get(d.profileId) : undefined;
    const merged = effectiveConfig(profile?.config ?? d.baseConfig, d.overrides);
    const checked = merged ? validConfig(merged) : undefined;
    return {
      ...(d.desiredState ? { state: d.desiredState } : {}),
      ...(checked?.ok ? { config: checked.value } : {}),
    };
  }

  private async flushChanges(): Promise<void> {
    if (!this.pendingChanges.length) return;
    const batch = this.pendingChanges;
    this.pendingChanges = [];
    try {
      await this.opts.store.observed.record(batch);
    } catch (err) {
      this.pendingChanges.unshift(...batch);
      this.opts.logger.warn({ err }, 'saving state history failed; will retry');
    }
  }

  /** A healed device's next drift is healed promptly again; only repeated failures back off. */
  private healed(deviceId: string): void {
    const state = this.heal.get(deviceId);
    if (state) state.backoffMs = this.opts.healBackoffMs ?? 60_000;
  }

  /** Submits a job that puts the device back into its desired state, if its policy says heal. */
  private maybeHeal(deviceId: string): void {
    const { engine, tracker } = this.opts;
    const device = this.devices.get(deviceId);
    if (!engine || !device || this.inFlight.has(deviceId)) return;
    // Right after a job the last poll predates it (a start not seen yet): look again before healing.
    if (Date.parse(tracker.get(deviceId).polledAt ?? '') <= (this.jobEndedAt.get(deviceId) ?? 0)) {
      this.healPending.add(deviceId);
      return;
    }
    const profile = device.profileId ? this.profiles.get(device.profileId) : undefined;
    // Heal when the device or the profile it follows says so.
    if (device.driftPolicy !== 'heal' && profile?.driftPolicy !== 'heal') return;
    const now = Date.now();
    const state = this.heal.get(deviceId) ?? { nextAllowed: 0, backoffMs: this.opts.healBackoffMs ?? 60_000 };
    if (now < state.nextAllowed) return;
    this.heal.set(deviceId, {
      nextAllowed: now + state.backoffMs,
      backoffMs: Math.min(state.backoffMs * 2, 30 * 60_000),
    });

    const drift = tracker.get(deviceId).drift;
    const requests: JobRequest[] = [];
    const configDrift = drift.some((f) => f.field !== 'stream');
    if (configDrift) {
      if (profile) requests.push({ action: 'apply', deviceIds: [deviceId], profile: profile.id });
      else if (device.baseConfig)
        requests.push({ action: 'apply', deviceIds: [deviceId], config: device.baseConfig });
    }
    const stream = drift.find((f) => f.field === 'stream');
    if (stream)
      requests.push({ action: stream.desired === 'streaming' ? 'start' : 'stop', deviceIds: [deviceId] });
    if (!requests.length) return;
    this.markQueued([deviceId]);
    this.opts.logger.info({ deviceId, drift: drift.map((f) => f.field) }, 'healing drift');
    void (async () => {
      for (const request of requests) {
        const job = await engine.submit(request, { origin: 'heal', createdBy: 'drift-heal' });
        await engine.waitFor(job.id, 120_000);
      }
    })().catch((err: unknown) => this.opts.logger.warn({ err, deviceId }, 'heal job failed to start'));
  }
}

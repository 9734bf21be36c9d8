/**
 * Keeps the live view of the fleet in step with the store: which devices the poller polls and with
 * what credentials, each device's desired state for sync/drift, which devices a job is working on,
 * and the persisted history of state changes. Also applies the `heal` drift policy by submitting
 * rate-limited jobs. Reads the store on a short refresh cycle, so changes made by another replica
 * reach this one too.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DeviceEndpoint, VendorId } from '../../drivers/contract.js';
import { getDriverModule } from '../../drivers/index.js';
import {
  chunks,
  type DeviceConnection,
  type DeviceRecord,
  type DeviceWithSecrets,
} from '../store/devices.js';
import type { Store } from '../store/index.js';
import type { DeviceIdentity, StateChange } from '../store/observed.js';
import type { ProfileRecord } from '../store/profiles.js';
import type { DesiredConfigs } from './desired-config.js';
import type { EventHub } from './event-hub.js';
import type { JobEngine } from './jobs/engine.js';
import type { JobRequest } from './jobs/model.js';
import type { DesiredWrite } from './jobs/repo.js';
import type { Poller, PollTarget } from './poller.js';
import type { DesiredState, StatusTracker } from './status-tracker.js';

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
  readonly configs: DesiredConfigs;
  /** Told each device's desired state after every refresh that read it, and `undefined` once it is deleted. */
  readonly onDesired?: (deviceId: string, desired: DesiredState | undefined) => void;
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

/** Devices read, or state changes written, per step of a refresh. */
const REFRESH_CHUNK = 500;

function pollTarget(d: DeviceWithSecrets): PollTarget {
  return { endpoint: endpointOf(d), minIntervalMs: getDriverModule(d.vendor).capabilities.minPollIntervalMs };
}

export class FleetMonitor {
  private timer: NodeJS.Timeout | undefined;
  private lastRefresh = '';
  private profiles = new Map<string, ProfileRecord>();
  private readonly devices = new Map<string, DeviceWithSecrets>();
  private readonly inFlight = new Set<string>();
  private readonly heal = new Map<string, HealState>();
  /** When each device's last job task ended: drift seen in an older poll is not the job's result. */
  private readonly jobEndedAt = new Map<string, number>();
  /** Drifted devices whose heal waits for a poll newer than their last job. */
  private readonly healPending = new Set<string>();
  private pendingChanges: StateChange[] = [];
  /** The batch of changes being written now (neither pending nor surely stored). */
  private writingChanges: readonly StateChange[] = [];
  private pendingIdentities = new Map<string, DeviceIdentity>();
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private unsubscribe: (() => void) | undefined;
  private readonly identifying = new Set<string>();

  constructor(private readonly opts: MonitorOptions) {}

  async start(): Promise<void> {
    const { store, tracker } = this.opts;
    for (const s of await store.observed.latest()) {
      tracker.restore(s.deviceId, {
        connectivity: s.connectivity as never,
        stream: s.stream as never,
        since: s.at,
        ...(s.detail ? { lastError: s.detail } : {}),
        ...s.identity,
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
        // A job changed what the device reports: look again soon rather than at its next turn, and
        // judge drift only on that look. After an apply the config last read (from before it) would
        // show the replaced settings as drift, so it is set aside: a verified write counts as the
        // device's config read (judged again at the next regular config read); after a write that
        // failed part-way, the next look reads the config.
        const look = !running;
        const apply = look && event.data.action === 'apply' && !event.data.dryRun;
        if (apply) tracker.configWritten(event.deviceId);
        tracker.setApplying(event.deviceId, running || this.inFlight.has(event.deviceId), {
          untilObserved: look,
        });
        if (look) {
          const verified = event.data.state === 'succeeded' || event.data.state === 'unchanged';
          this.opts.poller.pollSoon(event.deviceId, apply ? { config: verified ? 'verified' : 'read' } : {});
        }
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

  /** A device reported another identity (stored with the next batch of state changes). */
  recordIdentity(deviceId: string, identity: DeviceIdentity): void {
    this.pendingIdentities.set(deviceId, identity);
  }

  /**
   * A device's state changes, newest first, including those not written to the store yet (they are
   * written in batches every few seconds): the history never lags behind the state it explains.
   */
  async history(deviceId: string, limit: number): Promise<StateChange[]> {
    const unsaved = [...this.writingChanges, ...this.pendingChanges].filter((c) => c.deviceId === deviceId);
    const stored = await this.opts.store.observed.history(deviceId, limit);
    // A batch written meanwhile can be in both.
    const key = (c: StateChange) => `${c.at}|${c.connectivity}|${c.stream}`;
    const seen = new Set(stored.map(key));
    return [...unsaved.filter((c) => !seen.has(key(c))).reverse(), ...stored].slice(0, limit);
  }

  /**
   * Stores the concrete vendor the driver found for a device added as plain `teradek`, so later
   * operations use that driver directly and the inventory shows what the unit is.
   */
  recordIdentified(deviceId: string, vendor: VendorId): void {
    const device = this.devices.get(deviceId);
    if (!device || device.vendor === vendor || this.identifying.has(deviceId)) return;
    this.identifying.add(deviceId);
    this.opts.store.devices
      .update(deviceId, { vendor })
      .then(
        () => {
          this.opts.logger.info({ deviceId, from: device.vendor, vendor }, 'device identified');
          this.opts.hub.publish({
            type: 'device.identified',
            deviceId,
            data: { from: device.vendor, vendor },
          });
          return this.refresh();
        },
        (err: unknown) => this.opts.logger.warn({ err, deviceId }, 'could not store the identified vendor'),
      )
      .finally(() => this.identifying.delete(deviceId));
  }

  device(id: string): DeviceRecord | undefined {
    return this.devices.get(id);
  }

  allDevices(): IterableIterator<DeviceRecord> {
    return this.devices.values();
  }

  /**
   * Re-applies `owns` to every device after this replica's share of the fleet changed: starts
   * polling devices it now owns (soon, not a whole interval later) and stops polling the others,
   * whose ids it returns.
   */
  applyOwnership(): string[] {
    const { poller } = this.opts;
    const dropped: string[] = [];
    for (const d of this.devices.values()) {
      const mine = this.owns(d.id);
      if (mine && !poller.has(d.id)) poller.upsert(pollTarget(d), { soon: true });
      else if (!mine && poller.has(d.id)) {
        poller.remove(d.id);
        dropped.push(d.id);
      }
    }
    return dropped;
  }

  private owns(deviceId: string): boolean {
    return this.opts.owns?.(deviceId) ?? true;
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
    const previous = this.profiles;
    this.profiles = new Map((await store.profiles.list()).map((p) => [p.id, p]));
    // Only versions first: the overlap re-reads recent writes, and a bulk import is thousands of them.
    const ids =
      full || !this.lastRefresh
        ? await store.devices.allIds()
        : (await store.devices.versionsChangedSince(this.lastRefresh))
            .filter((v) => this.devices.get(v.id)?.version !== v.version)
            .map((v) => v.id);
    // A profile edit changes what its devices should be without touching their rows.
    const edited = new Set(
      [...this.profiles.values()].filter((p) => previous.get(p.id)?.version !== p.version).map((p) => p.id),
    );
    const toRead = new Set(ids);
    if (previous.size && edited.size)
      for (const d of this.devices.values()) if (d.profileId && edited.has(d.profileId)) toRead.add(d.id);
    for (const chunk of chunks([...toRead], REFRESH_CHUNK)) {
      for (const d of await store.devices.getWithSecrets(chunk)) {
        this.devices.set(d.id, d);
        const desired = this.desiredOf(d);
        tracker.setDesired(d.id, desired);
        this.opts.onDesired?.(d.id, desired);
        if (this.owns(d.id)) poller.upsert(pollTarget(d));
        else poller.remove(d.id);
      }
      // SQLite reads and decrypting passwords are synchronous: let API requests and polls in between.
      if (ids.length > REFRESH_CHUNK) await yieldToLoop();
    }
    if (full || Math.random() < 0.2) {
      // Deletions leave no row to find by time; compare the id sets now and then.
      const ids = new Set(await store.devices.allIds());
      for (const id of this.devices.keys()) {
        if (!ids.has(id)) {
          this.devices.delete(id);
          poller.remove(id);
          this.opts.onDesired?.(id, undefined);
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
    const base = profile?.config ?? d.baseConfig;
    const checked = base || d.overrides ? this.opts.configs.resolve(base, d.overrides) : undefined;
    return {
      ...(d.desiredState ? { state: d.desiredState } : {}),
      ...(checked?.ok ? { config: checked.config } : {}),
    };
  }

  private async flushChanges(): Promise<void> {
    // In batches with a pause between: a fleet-wide change (a site's network going down) is
    // thousands of rows, which on SQLite would hold up everything else while they are written.
    while (this.pendingChanges.length) {
      const batch = this.pendingChanges.splice(0, REFRESH_CHUNK);
      this.writingChanges = batch;
      try {
        await this.opts.store.observed.record(batch);
      } catch (err) {
        this.pendingChanges.unshift(...batch);
        this.opts.logger.warn({ err }, 'saving state history failed; will retry');
        return;
      } finally {
        this.writingChanges = [];
      }
      if (this.pendingChanges.length) await yieldToLoop();
    }
    if (!this.pendingIdentities.size) return;
    const identities = this.pendingIdentities;
    this.pendingIdentities = new Map();
    // Devices removed meanwhile have no row to hold an identity.
    for (const id of identities.keys()) if (!this.devices.has(id)) identities.delete(id);
    try {
      await this.opts.store.observed.recordIdentities(identities, new Date().toISOString());
    } catch (err) {
      for (const [id, identity] of identities)
        if (!this.pendingIdentities.has(id)) this.pendingIdentities.set(id, identity);
      this.opts.logger.warn({ err }, 'saving device identities failed; will retry');
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

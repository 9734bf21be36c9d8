/**
 * Turns poll outcomes into each device's observed state: connectivity, stream, live figures, sync
 * against desired state (with the differing fields), and alerts. Emits an event only when something
 * an operator cares about changed, and hands each change to `onChange` for the history table.
 */
import {
  DeviceAuthError,
  type DeviceConfig,
  type DeviceInfo,
  type EncoderConfig,
  isDeviceError,
} from '../../drivers/contract.js';
import { diffConfig } from '../../drivers/converge.js';
import { type DeviceIdentity, identityOf } from '../store/observed.js';
import type { EventSink } from './events.js';
import type { Alert, DriftField, IngestState, ObservedState, SyncStatus } from './observed.js';
import { unknownState } from './observed.js';
import type { PollOutcome } from './poller.js';

export interface DesiredState {
  readonly state?: 'streaming' | 'stopped';
  readonly config?: EncoderConfig;
}

export interface AlertRules {
  /** Consecutive failed polls before "unreachable" becomes an error alert. */
  readonly unreachableAfterPolls: number;
  /** Streaming below this fraction of the configured video bitrate… */
  readonly lowBitrateRatio: number;
  /** …for at least this long raises a warning. */
  readonly lowBitrateForMs: number;
  /** Dropped frames above this fraction of frames sent between two polls raises a warning. */
  readonly droppedFrameRatio: number;
}

export const DEFAULT_ALERT_RULES: AlertRules = {
  unreachableAfterPolls: 3,
  lowBitrateRatio: 0.5,
  lowBitrateForMs: 30_000,
  droppedFrameRatio: 0.01,
};

export interface StatusTrackerOptions {
  readonly events: EventSink;
  readonly rules?: AlertRules;
  /** Called when connectivity or stream state changed (persisted as history). */
  readonly onChange?: (deviceId: string, previous: ObservedState, next: ObservedState) => void;
  /** Called when a device reports another identity than known (first read, firmware update). */
  readonly onIdentity?: (deviceId: string, identity: DeviceIdentity) => void;
}

interface Track {
  observed: ObservedState;
  failures: number;
  config?: DeviceConfig;
  lowBitrateSince?: number;
  lastDropped?: { at: number; dropped: number };
  applying: boolean;
  /** A start or stop just ended: what was observed before it says nothing about its result. */
  awaitingObservation: boolean;
  desired: DesiredState;
}

export class StatusTracker {
  private readonly tracks = new Map<string, Track>();
  private readonly rules: AlertRules;

  constructor(private readonly opts: StatusTrackerOptions) {
    this.rules = opts.rules ?? DEFAULT_ALERT_RULES;
  }

  get(deviceId: string): ObservedState {
    return this.tracks.get(deviceId)?.observed ?? unknownState();
  }

  /** The device's settings as it last reported them, else as we last asked for them. */
  currentConfig(deviceId: string): DeviceConfig | undefined {
    const track = this.tracks.get(deviceId);
    return track?.config ?? track?.desired.config;
  }

  entries(): IterableIterator<[string, { observed: ObservedState }]> {
    return this.tracks.entries();
  }

  /** Seeds a device with its last known state (after a restart) without emitting events. */
  restore(deviceId: string, observed: Partial<ObservedState>): void {
    const track = this.track(deviceId);
    track.observed = { ...track.observed, ...observed };
  }

  forget(deviceId: string): void {
    this.tracks.delete(deviceId);
  }

  /** The desired state changed (a job or an edit); recompute sync without waiting for a poll. */
  setDesired(deviceId: string, desired: DesiredState): void {
    const track = this.track(deviceId);
    track.desired = desired;
    this.update(deviceId, track, { ...track.observed });
  }

  /**
   * A job wrote the device's config: the config last read from it is out of date, and comparing the
   * desired config with it would report the settings just replaced as drift. Until a poll reads the
   * config again, config drift is not judged.
   */
  configWritten(deviceId: string): void {
    const track = this.tracks.get(deviceId);
    if (!track?.config) return;
    track.config = undefined;
    this.update(deviceId, track, { ...track.observed });
  }

  /**
   * A job started or stopped working on the device. With `untilObserved`, the device counts as
   * applying until its next poll result, so a state read before the job is not taken as drift.
   */
  setApplying(deviceId: string, applying: boolean, opts: { untilObserved?: boolean } = {}): void {
    const track = this.track(deviceId);
    // Only an observation (or a new job) ends the wait for a look after a start or stop.
    const awaiting = !applying && (!!opts.untilObserved || track.awaitingObservation);
    if (track.applying === applying && track.awaitingObservation === awaiting) return;
    track.applying = applying;
    track.awaitingObservation = awaiting;
    this.update(deviceId, track, { ...track.observed });
  }

  /** What the ingest side says about the device's stream (nanoStream webhooks), as of `at`. */
  setIngest(deviceId: string, ingest: IngestState, at = Date.now()): void {
    const track = this.track(deviceId);
    if (track.observed.ingest === ingest) return;
    this.update(deviceId, track, { ...track.observed, ingest }, at);
  }

  observe(deviceId: string, outcome: PollOutcome, at = Date.now()): ObservedState {
    const track = this.track(deviceId);
    track.awaitingObservation = false;
    const now = new Date(at).toISOString();
    const prev = track.observed;
    let next: ObservedState;
    if ('status' in outcome) {
      track.failures = 0;
      if (outcome.config) track.config = outcome.config;
      const s = outcome.status;
      next = {
        ...stripLive(prev),
        connectivity: 'online',
        stream: s.state,
        ...(s.bitrateKbps !== undefined ? { bitrateKbps: s.bitrateKbps } : {}),
        ...(s.fps !== undefined ? { fps: s.fps } : {}),
        ...(s.droppedFrames !== undefined ? { droppedFrames: s.droppedFrames } : {}),
        ...(s.uptimeSec !== undefined ? { uptimeSec: s.uptimeSec } : {}),
        ...(s.input ? { input: s.input } : {}),
        ...(s.lastError ? { lastError: s.lastError } : {}),
        ...(outcome.info ? this.identify(deviceId, prev, outcome.info) : {}),
        lastSeen: now,
        polledAt: now,
      };
      if (next.lastError === undefined) delete next.lastError;
    } else {
      track.failures++;
      const err = outcome.error;
      const message = err instanceof Error ? err.message : String(err);
      const down = isDeviceError(err) && (err.code === 'unreachable' || err.code === 'timeout');
      next = {
        ...(down ? stripLive(prev) : prev),
        connectivity:
          err instanceof DeviceAuthError ? 'auth_failed' : down ? 'unreachable' : prev.connectivity,
        stream: down || err instanceof DeviceAuthError ? 'unknown' : prev.stream,
        lastError: message,
        polledAt: now,
      };
    }
    return this.update(deviceId, track, next, at);
  }

  /** The identity fields of a device's state, telling `onIdentity` when they changed. */
  private identify(deviceId: string, prev: ObservedState, info: DeviceInfo): DeviceIdentity | undefined {
    const identity = identityOf(info);
    const known = identityOf(prev);
    if (
      identity &&
      (known?.model !== identity.model ||
        known.serial !== identity.serial ||
        known.firmware !== identity.firmware)
    )
      this.opts.onIdentity?.(deviceId, identity);
    return identity;
  }

  private track(deviceId: string): Track {
    let track = this.tracks.get(deviceId);
    if (!track) {
      track = {
        observed: unknownState(),
        failures: 0,
        applying: false,
        awaitingObservation: false,
        desired: {},
      };
      this.tracks.set(deviceId, track);
    }
    return track;
  }

  private update(deviceId: string, track: Track, next: ObservedState, at = Date.now()): ObservedState {
    const prev = track.observed;
    const { sync, drift } = computeSync(track, next);
    next.sync = sync;
    next.drift = drift;
    next.alerts = this.alerts(track, next, prev, at);
    const stateChanged = prev.connectivity !== next.connectivity || prev.stream !== next.stream;
    next.since = stateChanged ? new Date(at).toISOString() : (prev.since ?? new Date(at).toISOString());
    track.observed = next;

    const { events } = this.opts;
    if (stateChanged) {
      const identity = identityOf(next);
      events.publish({
        type: 'device.state',
        deviceId,
        data: {
          connectivity: next.connectivity,
          stream: next.stream,
          previous: { connectivity: prev.connectivity, stream: prev.stream },
          ...(next.lastError ? { lastError: next.lastError } : {}),
          // Identity is read as a device comes (back) online, which is always a state change: other
          // replicas learn it here.
          ...(identity ? { identity } : {}),
        },
      });
      this.opts.onChange?.(deviceId, prev, next);
    }
    if (prev.sync !== next.sync || JSON.stringify(prev.drift) !== JSON.stringify(next.drift)) {
      events.publish({
        type: 'device.drift',
        deviceId,
        data: { sync: next.sync, drift: next.drift, previous: prev.sync },
      });
    }
    const prevKinds = prev.alerts.map((a) => a.kind).join();
    const nextKinds = next.alerts.map((a) => a.kind).join();
    if (prevKinds !== nextKinds) {
      events.publish({ type: 'device.alert', deviceId, data: { alerts: next.alerts } });
    }
    if (prev.ingest !== next.ingest && next.ingest) {
      events.publish({ type: 'device.ingest', deviceId, data: { ingest: next.ingest } });
    }
    return next;
  }

  private alerts(track: Track, next: ObservedState, prev: ObservedState, at: number): Alert[] {
    const now = new Date(at).toISOString();
    const keep = (kind: Alert['kind']) => prev.alerts.find((a) => a.kind === kind)?.since ?? now;
    const alerts: Alert[] = [];
    if (next.connectivity === 'unreachable' && track.failures >= this.rules.unreachableAfterPolls) {
      alerts.push({
        kind: 'unreachable',
        severity: 'error',
        message: `no answer for ${track.failures} polls`,
        since: keep('unreachable'),
      });
    }
    if (next.connectivity === 'auth_failed') {
      alerts.push({
        kind: 'auth_failed',
        severity: 'error',
        message: next.lastError ?? 'credentials refused',
        since: keep('auth_failed'),
      });
    }
    if (next.stream === 'error') {
      alerts.push({
        kind: 'stream_error',
        severity: 'error',
        message: next.lastError ?? 'stream error',
        since: keep('stream_error'),
      });
    }
    const target = track.desired.config?.video?.bitrateKbps;
    if (
      next.stream === 'streaming' &&
      target &&
      next.bitrateKbps !== undefined &&
      next.bitrateKbps < target * this.rules.lowBitrateRatio
    ) {
      track.lowBitrateSince ??= at;
      if (at - track.lowBitrateSince >= this.rules.lowBitrateForMs) {
        alerts.push({
          kind: 'low_bitrate',
          severity: 'warning',
          message: `sending ${Math.round(next.bitrateKbps)} kbit/s, configured ${target}`,
          since: keep('low_bitrate'),
        });
      }
    } else {
      track.lowBitrateSince = undefined;
    }
    if (next.stream === 'streaming' && next.droppedFrames !== undefined && next.fps) {
      const last = track.lastDropped;
      if (last && next.droppedFrames >= last.dropped && at > last.at) {
        const frames = ((at - last.at) / 1000) * next.fps;
        const ratio = (next.droppedFrames - last.dropped) / frames;
        if (ratio > this.rules.droppedFrameRatio) {
          alerts.push({
            kind: 'dropped_frames',
            severity: 'warning',
            message: `${(ratio * 100).toFixed(1)}% of frames dropped since the last poll`,
            since: keep('dropped_frames'),
          });
        }
      }
      track.lastDropped = { at, dropped: next.droppedFrames };
    }
    if (next.ingest === 'missing') {
      alerts.push({
        kind: 'ingest_missing',
        severity: 'error',
        message: 'device says streaming but the ingest saw no publish',
        since: keep('ingest_missing'),
      });
    }
    return alerts;
  }
}

function stripLive(state: ObservedState): ObservedState {
  const { bitrateKbps, fps, droppedFrames, uptimeSec, lastError, ...rest } = state;
  return rest;
}

function computeSync(track: Track, observed: ObservedState): { sync: SyncStatus; drift: DriftField[] } {
  if (track.applying || track.awaitingObservation) return { sync: 'applying', drift: [] };
  if (observed.connectivity !== 'online') return { sync: 'unknown', drift: [] };
  const drift: DriftField[] = [];
  const wanted = track.desired.state;
  if (wanted === 'streaming' && !['streaming', 'starting'].includes(observed.stream)) {
    drift.push({ field: 'stream', desired: 'streaming', observed: observed.stream });
  }
  if (wanted === 'stopped' && !['idle', 'stopping'].includes(observed.stream)) {
    drift.push({ field: 'stream', desired: 'stopped', observed: observed.stream });
  }
  if (track.desired.config && track.config) {
    for (const change of diffConfig(track.desired.config, track.config)) {
      drift.push({ field: change.path, desired: change.to, observed: change.from });
    }
  }
  return { sync: drift.length ? 'drifted' : 'in_sync', drift };
}

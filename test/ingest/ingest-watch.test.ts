/**
 * IngestWatch with a controllable clock and the real status tracker: the stream-name index, the
 * allow/deny answer (with a pluggable broadcast window), and `ingest: confirmed | missing` with the
 * grace period, the alert and the events.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { EncoderConfig } from '../../drivers/contract.js';
import { loadConfig } from '../../src/config.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { StatusTracker } from '../../src/fleet/status-tracker.js';
import { IngestWatch } from '../../src/ingest/ingest-watch.js';
import { expandNanoStream, nanoStreamHosts } from '../../src/ingest/nanostream-target.js';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';

const hosts = nanoStreamHosts(loadConfig(LOOPBACK_INGEST_ENV));
const GRACE = 30_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const configFor = (streamName: string, ingest: 'rtmp' | 'srt' | 'whip' = 'rtmp'): EncoderConfig => ({
  target: expandNanoStream({ protocol: 'nanostream', ingest, streamName }, hosts),
});
const streaming = { status: { state: 'streaming' as const } };
const idle = { status: { state: 'idle' as const } };

describe('IngestWatch', () => {
  let now: number;
  let events: FleetEvent[];
  let tracker: StatusTracker;
  let open: boolean;
  let watch: IngestWatch;

  beforeEach(() => {
    now = T0;
    events = [];
    open = true;
    tracker = new StatusTracker({ events: { publish: (e) => events.push(e) } });
    watch = new IngestWatch({
      hosts,
      graceMs: GRACE,
      deviceStream: (id) => tracker.get(id),
      onVerdict: (id, verdict, at) => tracker.setIngest(id, verdict, at),
      window: () => open,
      now: () => now,
    });
    watch.setDesired('dev-a', configFor('STREAM-A'));
    watch.setDesired('dev-b', configFor('STREAM-B', 'srt'));
  });

  it('allows the stream names managed devices send, and no other', () => {
    expect(watch.handle('publish', 'STREAM-A')).toEqual({ allowed: true, deviceId: 'dev-a' });
    expect(watch.handle('publish', 'STREAM-B')).toEqual({ allowed: true, deviceId: 'dev-b' });
    expect(watch.handle('publish', 'STREAM-C')).toEqual({ allowed: false, reason: 'unknown_stream' });
  });

  it('keeps the index current: a changed stream name, a device no longer on nanoStream, a deleted one', () => {
    watch.setDesired('dev-a', configFor('STREAM-A2'));
    expect(watch.handle('publish', 'STREAM-A').allowed).toBe(false);
    expect(watch.handle('publish', 'STREAM-A2').allowed).toBe(true);
    watch.setDesired('dev-a', {
      target: { protocol: 'rtmp', url: 'rtmp://127.9.9.9/live', streamKey: 'STREAM-A2' },
    });
    expect(watch.handle('publish', 'STREAM-A2').allowed).toBe(false);
    watch.setDesired('dev-b', undefined);
    expect(watch.handle('publish', 'STREAM-B').allowed).toBe(false);
    expect(watch.size).toBe(0);
  });

  it('renditions: each stream name is indexed; confirmed only when all arrived', () => {
    watch.setDesired('dev-a', {
      ...configFor('MAIN'),
      renditions: [{ target: configFor('LOW').target, video: { codec: 'h264', bitrateKbps: 500 } }],
    });
    watch.handle('publish', 'MAIN');
    expect(tracker.get('dev-a').ingest).toBeUndefined();
    watch.handle('publish', 'LOW');
    expect(tracker.get('dev-a').ingest).toBe('confirmed');
  });

  it('outside its broadcast window a publish is refused (publish_done is always taken)', () => {
    open = false;
    expect(watch.handle('publish', 'STREAM-A')).toEqual({
      allowed: false,
      deviceId: 'dev-a',
      reason: 'outside_window',
    });
    expect(watch.handle('publish_done', 'STREAM-A').allowed).toBe(true);
  });

  it('publish → confirmed, with a device.ingest event', () => {
    tracker.observe('dev-a', streaming, now);
    watch.handle('publish', 'STREAM-A');
    expect(tracker.get('dev-a').ingest).toBe('confirmed');
    expect(events.filter((e) => e.type === 'device.ingest')).toEqual([
      { type: 'device.ingest', deviceId: 'dev-a', data: { ingest: 'confirmed' } },
    ]);
  });

  it('streaming without a publish: unknown within the grace period, missing (with an alert) after it', () => {
    tracker.observe('dev-a', streaming, now);
    now += GRACE - 1;
    watch.check();
    expect(tracker.get('dev-a').ingest).toBeUndefined();
    now += 1;
    watch.check();
    const state = tracker.get('dev-a');
    expect(state.ingest).toBe('missing');
    expect(state.alerts).toEqual([
      {
        kind: 'ingest_missing',
        severity: 'error',
        message: 'device says streaming but the ingest saw no publish',
        since: new Date(now).toISOString(),
      },
    ]);
    expect(events.filter((e) => e.type === 'device.alert' || e.type === 'device.ingest')).toEqual([
      { type: 'device.alert', deviceId: 'dev-a', data: { alerts: state.alerts } },
      { type: 'device.ingest', deviceId: 'dev-a', data: { ingest: 'missing' } },
    ]);
  });

  it('a late publish clears missing; publish_done while still streaming turns missing after the grace period', () => {
    tracker.observe('dev-a', streaming, now);
    now += GRACE;
    watch.check();
    expect(tracker.get('dev-a').ingest).toBe('missing');
    watch.handle('publish', 'STREAM-A');
    expect(tracker.get('dev-a').ingest).toBe('confirmed');
    expect(tracker.get('dev-a').alerts).toEqual([]);

    now += 60_000;
    watch.handle('publish_done', 'STREAM-A');
    expect(tracker.get('dev-a').ingest).toBe('unknown');
    now += GRACE - 1;
    watch.check();
    expect(tracker.get('dev-a').ingest).toBe('unknown');
    now += 1;
    watch.check();
    expect(tracker.get('dev-a').ingest).toBe('missing');
  });

  it('update_publish counts as arrived (e.g. after a restart of this service)', () => {
    tracker.observe('dev-a', streaming, now);
    watch.handle('update_publish', 'STREAM-A');
    expect(tracker.get('dev-a').ingest).toBe('confirmed');
  });

  it('a device that stops is no longer missing', () => {
    tracker.observe('dev-a', streaming, now);
    now += GRACE;
    watch.check();
    expect(tracker.get('dev-a').ingest).toBe('missing');
    tracker.observe('dev-a', idle, now);
    watch.check();
    expect(tracker.get('dev-a').ingest).toBe('unknown');
    expect(tracker.get('dev-a').alerts).toEqual([]);
  });

  it('devices not sending to nanoStream are never touched', () => {
    tracker.observe('dev-x', streaming, now);
    now += GRACE * 10;
    watch.check();
    expect(tracker.get('dev-x').ingest).toBeUndefined();
  });
});

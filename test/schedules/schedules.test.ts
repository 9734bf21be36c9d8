/**
 * Scheduled broadcasts through the API against simulated devices, with a clock the test drives:
 * one-shot runs (config at pre-roll, start and stop on time, nothing fired twice across a restart)
 * and recurring runs across both DST changes of Europe/Berlin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/store.js';
import { iso, MIN, rtmp, type ScheduleSetup, setupSchedules } from './setup.js';

describe.each(BACKENDS)('schedules on %s', (backend) => {
  let t: ScheduleSetup;
  beforeAll(async () => {
    t = await setupSchedules(backend, '2026-03-27T12:00:00Z', { 'osprey-talon': 10 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('recurring daily 02:30 Europe/Berlin across the spring DST change: once a day, at the right instants', async () => {
    const schedule = await t.create({
      name: 'berlin-morning',
      deviceIds: [t.f.ids[9]],
      config: { target: rtmp },
      recurrence: { cron: '30 2 * * *', timezone: 'Europe/Berlin', durationMinutes: 60 },
    });
    const next = await t.svc.request('GET', `/v1/schedules/${schedule.id}/next?count=5`);
    // 02:30 CET = 01:30Z; on 29 March 02:30 does not exist (clocks jump 02:00 → 03:00): the run is at
    // the first valid instant, 03:00 CEST = 01:00Z; from then on 02:30 CEST = 00:30Z.
    const expected = [
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
      '2026-04-01T00:30:00.000Z',
    ];
    expect(next.body.items.map((o: { start: string }) => o.start)).toEqual(expected);
    expect(next.body.items[0]).toMatchObject({
      prerollAt: '2026-03-28T01:28:00.000Z',
      end: '2026-03-28T02:30:00.000Z',
      stopAt: '2026-03-28T02:30:00.000Z',
    });

    await t.advanceTo('2026-03-31T12:00:00Z');
    const runs = (await t.runsOf(schedule.id)).reverse();
    expect(runs.map((r: { start: string }) => r.start)).toEqual(expected.slice(0, 4));
    for (const run of runs) {
      expect(run, JSON.stringify(run)).toMatchObject({ state: 'ended', outcome: 'succeeded', devices: 1 });
      expect(run.phases.start).toMatchObject({ state: 'done', firedAt: run.start, lateMs: 0 });
      expect(run.phases.stop).toMatchObject({ state: 'done', firedAt: run.stopAt });
      expect(run.phases.start.job).toMatchObject({ action: 'start', state: 'succeeded' });
    }
    expect(t.sim(9).count('start')).toBe(4);
    expect(t.sim(9).count('stop')).toBe(4);
    await t.remove(schedule.id);
  });

  it('recurring across the autumn DST change: the repeated 02:30 runs once', async () => {
    await t.advanceTo('2026-10-23T12:00:00Z');
    const schedule = await t.create({
      name: 'berlin-autumn',
      deviceIds: [t.f.ids[9]],
      config: { target: rtmp },
      recurrence: { cron: '30 2 * * *', timezone: 'Europe/Berlin', durationMinutes: 30 },
    });
    const startsBefore = t.sim(9).count('start');
    await t.advanceTo('2026-10-26T12:00:00Z');
    const runs = (await t.runsOf(schedule.id)).reverse();
    // 24 Oct 02:30 CEST = 00:30Z; 25 Oct 02:30 happens twice, fired once (the first, CEST); then CET.
    expect(runs.map((r: { start: string }) => r.start)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(runs.every((r: { state: string }) => r.state === 'ended')).toBe(true);
    expect(t.sim(9).count('start') - startsBefore).toBe(3);
    await t.remove(schedule.id);
  });

  it('one-shot: config at pre-roll, start and stop on time, each once; a restart fires nothing again', async () => {
    const start = t.clock.now() + 10 * MIN;
    const schedule = await t.create({
      name: 'one-shot',
      deviceIds: [t.f.ids[0], t.f.ids[1]],
      config: { target: rtmp, video: { codec: 'h264', bitrateKbps: 2500 } },
      start: iso(start),
      end: iso(start + 30 * MIN),
      options: { postRollMinutes: 1 },
    });
    expect(schedule).toMatchObject({
      enabled: true,
      options: { preRollMinutes: 2, postRollMinutes: 1, missedRunPolicy: 'skip', allowOverlap: false },
      next: { prerollAt: iso(start - 2 * MIN), start: iso(start), stopAt: iso(start + 31 * MIN) },
    });
    expect(schedule.config.target.streamKey).toEqual({ set: true, last4: 'EY-1' });
    const stored = await t.svc.app.store.db.kysely.selectFrom('schedules').select('config').execute();
    expect(JSON.stringify(stored)).not.toContain('SCHEDULED-KEY-1'); // encrypted at rest
    const [a, b] = [t.sim(0), t.sim(1)];

    await t.advanceTo(start - 2 * MIN - 1);
    expect(await t.runsOf(schedule.id)).toEqual([]);
    expect(a.count('config')).toBe(0);

    await t.advanceTo(start - 2 * MIN);
    let [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({
      state: 'ready',
      devices: 2,
      phases: { preroll: { state: 'done', lateMs: 0 } },
    });
    expect(run.phases.preroll.job).toMatchObject({ action: 'apply', state: 'succeeded' });
    expect(run.prerollFailures).toBeUndefined();
    expect([a.count('config'), b.count('config')]).toEqual([1, 1]);
    expect([a.count('start'), b.count('start')]).toEqual([0, 0]);

    const logged = a.requestLog.length;
    await t.advanceTo(start);
    // The start goes out first, with no status read ahead of it (the pre-roll has just checked).
    expect(a.requestLog.slice(logged)[0]).toMatchObject({ method: 'POST', path: '/api/v1/channels/1/start' });
    [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({
      state: 'live',
      phases: { start: { state: 'done', lateMs: 0, firedAt: iso(start) } },
    });
    expect(run.phases.start.job).toMatchObject({
      action: 'start',
      state: 'succeeded',
      counts: { succeeded: 2 },
    });
    expect([a.count('start'), b.count('start')]).toEqual([1, 1]);
    const job = await t.svc.request('GET', `/v1/jobs/${run.phases.start.job.id}`);
    expect(job.body.job).toMatchObject({ origin: 'schedule', createdBy: `schedule:${schedule.id}` });

    // A restart in the middle of the broadcast fires nothing a second time.
    await t.svc.app.scheduler.stop();
    t.svc.app.scheduler.start();
    await t.settle();
    await t.advanceTo(start + 31 * MIN - 1);
    expect([a.count('start'), b.count('start'), a.count('stop')]).toEqual([1, 1, 0]);

    await t.advanceTo(start + 31 * MIN);
    [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({ state: 'ended', outcome: 'succeeded', phases: { stop: { state: 'done' } } });
    expect([a.count('stop'), b.count('stop')]).toEqual([1, 1]);
    expect([a.count('config'), a.count('start')]).toEqual([1, 1]);

    const fired = t.events.filter((e) => e.scheduleId === schedule.id).map((e) => [e.type, e.data.phase]);
    expect(fired).toEqual([
      ['schedule.fired', 'preroll'],
      ['schedule.fired', 'start'],
      ['schedule.fired', 'stop'],
    ]);
    // Nothing is left to fire: the next pass arms no timer for this schedule.
    expect((await t.svc.request('GET', `/v1/schedules/${schedule.id}/next`)).body.items).toEqual([]);
    await t.remove(schedule.id);
  });
});

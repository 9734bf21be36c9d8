/**
 * What goes wrong around a broadcast, with a clock the test drives: devices that are not ready at
 * pre-roll are recorded on the run and reported before the start; starts missed while the
 * scheduler was down are skipped, or run late within the grace window, and recorded either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishedJob } from '../helpers/fleet.js';
import { BACKENDS } from '../helpers/store.js';
import { iso, MIN, rtmp, type ScheduleSetup, setupSchedules } from './setup.js';

describe.each(BACKENDS)('pre-roll problems and missed runs on %s', (backend) => {
  let t: ScheduleSetup;
  beforeAll(async () => {
    t = await setupSchedules(backend, '2026-05-04T08:00:00Z', { 'osprey-talon': 6, 'teradek-prism': 1 });
  });
  afterAll(async () => {
    await t?.close();
  });

  const oneShot = (name: string, deviceIds: string[], start: number, extra: object = {}) =>
    t.create({ name, deviceIds, start: iso(start), end: iso(start + 20 * MIN), ...extra });
  const typesOf = (scheduleId: string) =>
    t.events.filter((e) => e.scheduleId === scheduleId).map((e) => `${e.type}:${e.data.phase ?? ''}`);

  it('a device that does not answer at pre-roll is recorded and reported before the start', async () => {
    // Devices already configured: without a config to apply, pre-roll reads every device's status.
    const setup = await t.svc.request('POST', '/v1/jobs', {
      action: 'apply',
      deviceIds: [t.f.ids[0], t.f.ids[1]],
      config: { target: rtmp },
    });
    expect((await finishedJob(t.svc, setup.body.id)).job.state).toBe('succeeded');
    const start = t.clock.now() + 10 * MIN;
    const schedule = await oneShot('unreachable', [t.f.ids[0]!, t.f.ids[1]!], start);
    t.sim(1).setFaults({ resetRate: 1 });
    try {
      await t.advanceTo(start - 2 * MIN);
      const [run] = await t.runsOf(schedule.id);
      expect(run).toMatchObject({ state: 'ready', outcome: 'problems', devices: 2 });
      expect(run.phases.start).toBeUndefined();
      expect(run.prerollFailures.count).toBe(1);
      expect(run.prerollFailures.devices).toEqual([
        expect.objectContaining({ deviceId: t.f.ids[1], step: 'reach', type: 'unreachable' }),
      ]);
      const reported = t.events.find(
        (e) => e.type === 'schedule.preroll_failed' && e.scheduleId === schedule.id,
      );
      expect(reported?.data).toMatchObject({
        failed: 1,
        start: iso(start),
        runId: run.id,
        devices: [expect.objectContaining({ deviceId: t.f.ids[1] })],
      });
      expect(t.sim(0).count('start')).toBe(0);
    } finally {
      t.sim(1).setFaults({ resetRate: 0 });
    }
    await t.advanceTo(start + 20 * MIN);
    expect(typesOf(schedule.id)).toEqual([
      'schedule.fired:preroll',
      'schedule.preroll_failed:',
      'schedule.fired:start',
      'schedule.fired:stop',
    ]);
    expect(t.sim(0).count('start')).toBe(1);
  });

  it('a config a device cannot take is reported at pre-roll; the other devices get it', async () => {
    const start = t.clock.now() + 10 * MIN;
    const prism = t.f.ids.find((id) => t.f.simOf.get(id)!.vendor === 'teradek-prism')!;
    const schedule = await oneShot('whip', [t.f.ids[2]!, prism], start, {
      config: { target: { protocol: 'whip', url: 'https://127.0.0.1/whip', bearerToken: 'token-1234' } },
    });
    await t.advanceTo(start - 2 * MIN);
    const [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({ state: 'ready', prerollFailures: { count: 1 } });
    expect(run.prerollFailures.devices[0]).toMatchObject({
      deviceId: prism,
      step: 'apply',
      type: 'unsupported',
    });
    expect(run.phases.preroll.job).toMatchObject({ action: 'apply', state: 'partially_failed' });
    expect(t.sim(2).count('config')).toBe(1);
    expect(typesOf(schedule.id)).toEqual(['schedule.fired:preroll', 'schedule.preroll_failed:']);
    await t.advanceTo(start + 20 * MIN);
  });

  it('missed-run policy skip: a start missed while the scheduler was down is recorded as skipped', async () => {
    const start = t.clock.now() + 10 * MIN;
    const schedule = await oneShot('missed-skip', [t.f.ids[3]!], start, { config: { target: rtmp } });
    await t.svc.app.scheduler.stop();
    await t.advanceTo(start + 5 * MIN); // down across pre-roll and start
    t.svc.app.scheduler.start();
    await t.settle();
    const [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({ state: 'skipped', outcome: 'skipped', start: iso(start) });
    expect(run.reason).toMatch(/missed the start by 5 min .*policy is skip/);
    expect(typesOf(schedule.id)).toEqual(['schedule.run_skipped:preroll']);
    await t.advanceTo(start + 30 * MIN);
    expect([t.sim(3).count('config'), t.sim(3).count('start'), t.sim(3).count('stop')]).toEqual([0, 0, 0]);
  });

  it('missed-run policy run-if-within: run late within the grace window, skipped beyond it', async () => {
    const grace = { missedRunPolicy: 'run-if-within', graceMinutes: 10 };
    const start = t.clock.now() + 10 * MIN;
    const late = await oneShot('late-within', [t.f.ids[4]!], start, {
      config: { target: rtmp },
      options: grace,
    });
    const beyond = await oneShot('late-beyond', [t.f.ids[5]!], start - 5 * MIN, {
      config: { target: rtmp },
      options: grace,
    });
    await t.svc.app.scheduler.stop();
    await t.advanceTo(start + 6 * MIN); // one start is 6 min late, the other 11 min
    t.svc.app.scheduler.start();
    await t.settle();

    const [ran] = await t.runsOf(late.id);
    expect(ran).toMatchObject({
      state: 'live',
      phases: { preroll: { state: 'done', lateMs: 8 * MIN }, start: { state: 'done', lateMs: 6 * MIN } },
    });
    expect(ran.phases.start.job).toMatchObject({ action: 'start', state: 'succeeded' });
    expect([t.sim(4).count('config'), t.sim(4).count('start')]).toEqual([1, 1]);

    const [skipped] = await t.runsOf(beyond.id);
    expect(skipped).toMatchObject({ state: 'skipped' });
    expect(skipped.reason).toMatch(/missed the start by 11 min .*more than the grace window of 10 min/);
    expect(t.sim(5).count('start')).toBe(0);

    // The late run still stops at its planned end.
    await t.advanceTo(start + 20 * MIN);
    const [ended] = await t.runsOf(late.id);
    expect(ended).toMatchObject({
      state: 'ended',
      phases: { stop: { lateMs: 0, firedAt: iso(start + 20 * MIN) } },
    });
    expect(t.sim(4).count('stop')).toBe(1);
  });

  it('a scheduler down between pre-roll and start applies the policy at the start', async () => {
    const start = t.clock.now() + 10 * MIN;
    const schedule = await oneShot('down-after-preroll', [t.f.ids[0]!], start, { config: { target: rtmp } });
    await t.advanceTo(start - 2 * MIN);
    expect((await t.runsOf(schedule.id))[0].state).toBe('ready');
    await t.svc.app.scheduler.stop();
    await t.advanceTo(start + 3 * MIN);
    t.svc.app.scheduler.start();
    await t.settle();
    const [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({ state: 'skipped', phases: { start: { state: 'skipped' } } });
    expect(run.reason).toMatch(/missed the start by 3 min/);
  });

  it('a start up to a minute late is on time, not missed', async () => {
    const start = t.clock.now() + 10 * MIN;
    const schedule = await oneShot('slightly-late', [t.f.ids[2]!], start, { config: { target: rtmp } });
    await t.advanceTo(start - 2 * MIN);
    await t.svc.app.scheduler.stop();
    await t.advanceTo(start + 45_000);
    t.svc.app.scheduler.start();
    await t.settle();
    const [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({ state: 'live', phases: { start: { state: 'done', lateMs: 45_000 } } });
    await t.advanceTo(start + 20 * MIN);
  });
});

/**
 * What goes wrong around a broadcast, with a clock the test drives: devices that are not ready at
 * pre-roll are recorded on the run and reported before the start; starts missed while the
 * scheduler was down are skipped, or run late within the grace window, and recorded either way;
 * a start whose job a dead process had already submitted counts as fired, however late.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_PRIORITY } from '../../src/fleet/schedules/fleet-actions.js';
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

  /**
   * A process that claimed the run's start (at the clock's now), submitted its job under the
   * firing's key and died before recording the firing. Its job is in the store and the job engine
   * runs it.
   */
  async function dieAfterStartJob(scheduleId: string, runId: string, deviceIds: string[]) {
    const now = t.clock.now();
    const claim = await t.svc.app.store.schedules.claim({
      runId,
      phase: 'start',
      owner: 'replica-that-died',
      now: iso(now),
      leaseUntil: iso(now + 30_000),
    });
    expect(claim.won).toBe(true);
    const job = await t.svc.app.engine.submit(
      { action: 'start', deviceIds, options: { priority: SCHEDULE_PRIORITY } },
      { origin: 'schedule', createdBy: `schedule:${scheduleId}`, idempotencyKey: `run:${runId}:start` },
    );
    expect((await finishedJob(t.svc, job.id)).job.state).toBe('succeeded');
    return job;
  }

  /**
   * A one-shot schedule on fleet device `index` whose pre-roll ran; then, with the scheduler stopped
   * at the start instant, a process submits the start job and dies before recording the firing.
   */
  async function orphanedStart(name: string, index: number) {
    const start = t.clock.now() + 10 * MIN;
    const device = t.sim(index);
    const schedule = await oneShot(name, [t.f.ids[index]!], start, { config: { target: rtmp } });
    await t.advanceTo(start - 2 * MIN);
    const [ready] = await t.runsOf(schedule.id);
    expect(ready.state).toBe('ready');
    const before = [device.count('start'), device.count('stop')];

    await t.svc.app.scheduler.stop();
    await t.advanceTo(start);
    const orphan = await dieAfterStartJob(schedule.id, ready.id, [t.f.ids[index]!]);
    expect(device.count('start')).toBe(before[0]! + 1);
    return { start, device, schedule, before, orphan };
  }

  it('a start job submitted by a process that died before recording it is taken over as fired, not skipped', async () => {
    const { start, device, schedule, before, orphan } = await orphanedStart('died-after-start-job', 3);

    // Taken over later than the missed-run tolerance, with the policy `skip`.
    await t.advanceTo(start + 2 * MIN);
    t.svc.app.scheduler.start();
    await t.settle();
    let [run] = await t.runsOf(schedule.id);
    expect(run, JSON.stringify(run)).toMatchObject({
      state: 'live',
      phases: { start: { state: 'done', lateMs: 2 * MIN, firedAt: iso(start + 2 * MIN) } },
    });
    expect(run.phases.start.job).toMatchObject({ id: orphan.id, action: 'start' });
    const jobs = (await t.svc.request('GET', '/v1/jobs?limit=100')).body.items.filter(
      (j: { createdBy?: string }) => j.createdBy === `schedule:${schedule.id}`,
    );
    expect(jobs.map((j: { action: string }) => j.action).sort()).toEqual(['apply', 'start']);
    expect(typesOf(schedule.id)).toEqual(['schedule.fired:preroll', 'schedule.fired:start']);

    await t.advanceTo(start + 20 * MIN);
    [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({
      state: 'ended',
      phases: { stop: { state: 'done', lateMs: 0, firedAt: iso(start + 20 * MIN) } },
    });
    expect([device.count('start'), device.count('stop')]).toEqual([before[0]! + 1, before[1]! + 1]);
  });

  it('a start job submitted by a process that died is fired even if the schedule was disabled since', async () => {
    const { start, device, schedule, before, orphan } = await orphanedStart('disabled-after-start-job', 4);
    expect((await t.svc.request('PATCH', `/v1/schedules/${schedule.id}`, { enabled: false })).status).toBe(
      200,
    );

    // Taken over once the dead process's lease ran out, on time by the missed-run policy.
    await t.advanceTo(start + 45_000);
    t.svc.app.scheduler.start();
    await t.settle();
    let [run] = await t.runsOf(schedule.id);
    expect(run, JSON.stringify(run)).toMatchObject({
      state: 'live',
      phases: { start: { state: 'done', lateMs: 45_000, job: { id: orphan.id } } },
    });

    // The devices started, so the disabled schedule's run is still stopped at its end.
    await t.advanceTo(start + 20 * MIN);
    [run] = await t.runsOf(schedule.id);
    expect(run).toMatchObject({ state: 'ended', phases: { stop: { state: 'done', lateMs: 0 } } });
    expect([device.count('start'), device.count('stop')]).toEqual([before[0]! + 1, before[1]! + 1]);
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

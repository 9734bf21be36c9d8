/**
 * Retention on both backends: one sweep deletes the history older than the window — events (more
 * than one batch of them), device state history, finished jobs with their tasks, made or given-up
 * webhook deliveries, schedule runs that are over with their firings — and keeps everything newer,
 * and everything still in use whatever its age.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Retention } from '../../src/fleet/retention.js';
import { BACKENDS, openTestStore, type TestStore } from '../helpers/store.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2031, 5, 1);
const daysAgo = (n: number) => new Date(NOW - n * DAY).toISOString();

describe.each(BACKENDS)('retention on %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(backend);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('deletes only finished history older than the window', async () => {
    const { store } = t;
    const db = store.db.kysely;
    const device = await store.devices.create({
      name: 'enc-1',
      vendor: 'osprey-talon',
      host: '127.0.0.1',
      port: 80,
    });

    const event = (at: string) => ({ type: 'device.state' as const, deviceId: device.id, data: {}, at });
    await store.events.append(
      [...Array.from({ length: 5003 }, () => event(daysAgo(40))), event(daysAgo(1))],
      'test',
    );

    const history = (at: string) => ({
      device_id: device.id,
      at,
      connectivity: 'online',
      stream_state: 'idle',
      detail: null,
    });
    await db
      .insertInto('device_state_history')
      .values([history(daysAgo(31)), history(daysAgo(45)), history(daysAgo(2))])
      .execute();

    const job = (id: string, state: string, createdAt: string, finishedAt: string | null) => ({
      id,
      action: 'apply',
      state,
      origin: 'api',
      selector: null,
      profile: null,
      config: null,
      options: '{}',
      counts: '{}',
      reason: null,
      created_by: null,
      idempotency_scope: null,
      request_hash: null,
      created_at: createdAt,
      started_at: createdAt,
      finished_at: finishedAt,
      cancel_requested: 0,
      owner: null,
      lease_until: null,
      guidance: null,
    });
    await db
      .insertInto('jobs')
      .values([
        job('old-done', 'succeeded', daysAgo(40), daysAgo(40)),
        job('old-aborted', 'aborted', daysAgo(50), daysAgo(49)),
        job('recent-failed', 'failed', daysAgo(40), daysAgo(3)),
        // Queued or running for longer than the window (a stuck job): still in use.
        job('old-running', 'running', daysAgo(40), null),
      ])
      .execute();
    const task = (jobId: string) => ({
      job_id: jobId,
      device_id: device.id,
      seq: 0,
      device_name: 'enc-1',
      vendor: 'osprey-talon',
      canary: 0,
      state: 'succeeded',
      attempt_count: 1,
      attempts: '[]',
      error: null,
      changes: null,
      config: null,
      started_at: null,
      finished_at: null,
    });
    await db
      .insertInto('job_tasks')
      .values(['old-done', 'old-aborted', 'recent-failed', 'old-running'].map(task))
      .execute();

    await db
      .insertInto('webhooks')
      .values({
        id: 'hook',
        url: 'http://127.0.0.1:9/hook',
        secret: 'sealed',
        types: '[]',
        selector: null,
        enabled: 1,
        created_at: daysAgo(60),
        updated_at: daysAgo(60),
      })
      .execute();
    const delivery = (state: string, createdAt: string) => ({
      webhook_id: 'hook',
      event_id: 1,
      event_type: 'device.state',
      body: '{}',
      state,
      attempts: 1,
      last_status: null,
      last_error: null,
      next_attempt_at: createdAt,
      lease_until: null,
      created_at: createdAt,
      delivered_at: null,
    });
    await db
      .insertInto('webhook_deliveries')
      .values([
        delivery('delivered', daysAgo(40)),
        delivery('failed', daysAgo(35)),
        delivery('pending', daysAgo(40)),
        delivery('delivered', daysAgo(1)),
      ])
      .execute();

    await db
      .insertInto('schedules')
      .values({
        id: 'sched',
        name: 'weekly',
        selector: null,
        device_ids: '[]',
        profile: null,
        config: null,
        start_at: null,
        end_at: null,
        cron: '0 9 * * 1',
        timezone: 'UTC',
        duration_minutes: 60,
        options: '{}',
        enabled: 1,
        last_occurrence: daysAgo(1),
        version: 1,
        created_at: daysAgo(90),
        updated_at: daysAgo(90),
      })
      .execute();
    const run = (id: string, state: string, stopAt: string) => ({
      id,
      schedule_id: 'sched',
      occurrence: `${stopAt}#${id}`,
      ends_at: stopAt,
      preroll_at: stopAt,
      stop_at: stopAt,
      state,
      reason: null,
      device_ids: null,
      preroll_failures: null,
      created_at: stopAt,
      updated_at: stopAt,
    });
    await db
      .insertInto('schedule_runs')
      .values([
        run('ended-old', 'ended', daysAgo(40)),
        run('live-old', 'live', daysAgo(40)),
        run('ended-new', 'ended', daysAgo(5)),
      ])
      .execute();
    await db
      .insertInto('schedule_firings')
      .values({
        run_id: 'ended-old',
        phase: 'start',
        state: 'done',
        owner: 'x',
        lease_until: daysAgo(40),
        job_id: 'old-done',
        late_ms: 0,
        claimed_at: daysAgo(40),
        fired_at: daysAgo(40),
        error: null,
      })
      .execute();

    const retention = new Retention({ store, retentionMs: 30 * DAY, logger: pino({ level: 'silent' }) });
    expect(await retention.sweep(NOW)).toEqual({
      events: 5003,
      stateHistory: 2,
      jobs: 2,
      webhookDeliveries: 2,
      scheduleRuns: 1,
    });

    const ids = async (table: 'jobs' | 'schedule_runs') =>
      (await db.selectFrom(table).select('id').orderBy('id').execute()).map((r) => r.id);
    expect(await ids('jobs')).toEqual(['old-running', 'recent-failed']);
    expect(
      (await db.selectFrom('job_tasks').select('job_id').orderBy('job_id').execute()).map((r) => r.job_id),
    ).toEqual(['old-running', 'recent-failed']);
    expect(await ids('schedule_runs')).toEqual(['ended-new', 'live-old']);
    expect(await db.selectFrom('schedule_firings').selectAll().execute()).toEqual([]);
    expect(
      (await db.selectFrom('webhook_deliveries').select('state').orderBy('id').execute()).map((r) => r.state),
    ).toEqual(['pending', 'delivered']);
    expect(await store.events.since(0, 10)).toHaveLength(1);
    expect(await store.observed.history(device.id, 10)).toHaveLength(1);
    // The device itself and its labels are not history.
    expect(await store.devices.get(device.id)).toBeDefined();

    // Nothing left to delete: a second sweep (another replica's) finds nothing.
    expect(Object.values(await retention.sweep(NOW))).toEqual([0, 0, 0, 0, 0]);
  });
});

/**
 * Issue 12, store faults: the service runs on PostgreSQL and every one of its database connections
 * is killed (`pg_terminate_backend`) again and again while a 200-device job runs. The service
 * reconnects on its own, the job completes, and nothing is lost: every device has its result and
 * its config, and the event log holds a `job.task` event for every device.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncoderConfig } from '../../drivers/contract.js';
import { TERMINAL_JOB_STATES } from '../../src/fleet/jobs/model.js';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';
import { assertSimHas } from '../helpers/sim-state.js';
import { TEST_DATABASE_URL } from '../helpers/store.js';

const CONFIG: EncoderConfig = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'store-fault-key-01' },
  video: { codec: 'h264', bitrateKbps: 2600 },
};

describe('PostgreSQL connections killed while a job runs', () => {
  // Our connections carry this name, so only they are killed (other runs share the database).
  const appName = `ef-store-fault-${randomBytes(4).toString('hex')}`;
  let svc: TestService;
  let f: FleetSetup;
  let admin: pg.Client;

  beforeAll(async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('application_name', appName);
    svc = await startService({
      backend: 'postgres',
      env: {
        DATABASE_URL: url.toString(),
        POLL_INTERVAL_MS: '3600000',
        JOB_LEASE_MS: '3000',
        // Ten devices at a time: the job runs for a few seconds of steady store writes.
        CONCURRENCY: '10',
      },
    });
    f = await addFleet(svc, { 'osprey-talon': 150, 'teradek-vidiu': 50 }, { faults: { latencyMs: 25 } });
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await svc?.close();
    await f?.fleet.close();
  });

  it('reconnects, the job completes, no result or event is lost', async () => {
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: CONFIG,
    });
    expect(res.status).toBe(202);
    const jobId = res.body.id as string;

    // Kill every connection of the service every 150 ms until the job has ended.
    let killed = 0;
    let rounds = 0;
    const ended = async () => {
      // This read goes through the service's pool too, so it may meet a killed connection.
      const job = await svc.app.store.jobs.get(jobId).catch(() => undefined);
      return job !== undefined && TERMINAL_JOB_STATES.includes(job.state);
    };
    while (!(await ended())) {
      await new Promise((r) => setTimeout(r, 150));
      const { rows } = await admin.query(
        'select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1) t',
        [appName],
      );
      killed += rows[0].n;
      rounds++;
    }
    expect(rounds, 'kill rounds while the job ran').toBeGreaterThan(5);
    expect(killed, 'connections killed').toBeGreaterThan(5);
    // The kills hit work in progress, not only idle connections.
    expect(
      svc.logs.join('').match(/terminat|Connection terminated|failed; will retry/g)?.length ?? 0,
    ).toBeGreaterThan(0);

    const { job, tasks } = await finishedJob(svc, jobId, 90_000);
    expect(job.state).toBe('succeeded');
    expect(job.counts).toMatchObject({ total: 200, failed: 0, skipped: 0, pending: 0, running: 0 });
    expect(job.counts.succeeded + job.counts.unchanged).toBe(200);
    expect(tasks).toHaveLength(200);
    for (const id of f.ids) assertSimHas(f.simOf.get(id)!, CONFIG);

    // Events written while the database was unreachable were kept and written later: the last
    // batch may still be waiting for its retry when the job ends, so write it now.
    await svc.app.feed.flush();
    const events = await svc.app.store.events.since(0, 100_000, ['job.task']);
    const reported = new Set(events.filter((e) => e.jobId === jobId).map((e) => e.deviceId));
    expect(reported.size).toBe(200);
  }, 120_000);
});

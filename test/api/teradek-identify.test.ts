/**
 * A device added as plain `teradek` is probed on first contact and stored as the control plane it
 * speaks; jobs work on it before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';
import { openSse } from '../helpers/sse.js';

describe('plain `teradek` devices', () => {
  let svc: TestService;
  let f: FleetSetup;

  beforeAll(async () => {
    svc = await startService({ env: { POLL_INTERVAL_MS: '1000' } });
    f = await addFleet(
      svc,
      { 'teradek-vidiu': 2, 'teradek-prism': 2 },
      { addAs: 'teradek', startDelayMs: 50 },
    );
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
  });

  it('are stored as `teradek` at once, without contacting them', async () => {
    const res = await svc.request('GET', '/v1/devices?vendor=teradek');
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
  });

  it('a job before identification runs through the probed driver', async () => {
    const job = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'teradek-auto-key' } },
    });
    expect(job.status).toBe(202);
    const { job: done } = await finishedJob(svc, job.body.id);
    expect(done.state).toBe('succeeded');
    for (const id of f.ids) expect(JSON.stringify(f.simOf.get(id)!.snapshot())).toContain('teradek-auto-key');
  });

  it('the poller identifies each unit and the inventory shows its real vendor, with an event', async () => {
    const events = await openSse(`${svc.url}/v1/events?types=device.identified&since=0`);
    try {
      await expect
        .poll(
          async () => {
            const vendors = [];
            for (const id of f.ids) vendors.push((await svc.request('GET', `/v1/devices/${id}`)).body.vendor);
            return vendors;
          },
          { timeout: 10_000, interval: 250 },
        )
        .toEqual(f.ids.map((id) => f.simOf.get(id)!.vendor));
      await expect.poll(() => events.messages.length, { timeout: 5000 }).toBe(f.ids.length);
    } finally {
      events.close();
    }
  });

  it('refuses a WHIP target before the plane is known (neither plane does WHIP)', async () => {
    const res = await svc.request('POST', '/v1/devices', {
      name: 'teradek-unknown',
      vendor: 'teradek',
      host: '127.0.0.1',
      port: 1,
    });
    expect(res.status).toBe(201);
    const job = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      deviceIds: [res.body.id],
      config: { target: { protocol: 'whip', url: 'https://127.0.0.1/whip' } },
      options: { dryRun: true },
    });
    const { tasks } = await finishedJob(svc, job.body.id);
    expect(tasks[0].error?.type).toBe('unsupported');
  });
});

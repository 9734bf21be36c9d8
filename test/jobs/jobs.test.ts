/**
 * Fleet jobs through the API against simulated devices: the plan writes only what differs, retries
 * transient faults, refuses what a device cannot do before contacting it, and honours dry run,
 * canary, failure budget, cancel and Idempotency-Key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';
import { BACKENDS } from '../helpers/store.js';

const rtmp = (key: string) => ({ protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: key });

describe.each(BACKENDS)('jobs on %s', (backend) => {
  let svc: TestService;
  let f: FleetSetup;

  beforeAll(async () => {
    svc = await startService({ backend, env: { POLL_INTERVAL_MS: '60000' } });
    f = await addFleet(
      svc,
      { 'osprey-talon': 12, 'teradek-prism': 4 },
      { labels: (i) => ({ ring: i < 2 ? 'canary' : 'main' }) },
    );
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
  });

  it('applies a config to every selected device, and a second identical job writes nothing', async () => {
    const body = {
      action: 'apply',
      selector: 'vendor=osprey-talon',
      config: { target: rtmp('KEY-1'), video: { codec: 'h264', bitrateKbps: 2000 } },
    };
    const first = await svc.request('POST', '/v1/jobs', body);
    expect(first.status).toBe(202);
    const { job, tasks } = await finishedJob(svc, first.body.id);
    expect(job.state).toBe('succeeded');
    expect(job.counts).toMatchObject({ total: 12, succeeded: 12, failed: 0 });
    expect(tasks.every((t: { changes: unknown[] }) => t.changes.length > 0)).toBe(true);
    const writes = [...f.simOf.values()].map((s) => s.count('config'));

    const again = await finishedJob(svc, (await svc.request('POST', '/v1/jobs', body)).body.id);
    expect(again.job.counts).toMatchObject({ total: 12, unchanged: 12 });
    expect([...f.simOf.values()].map((s) => s.count('config'))).toEqual(writes);
  });

  it('dry run reports the per-device diff and touches nothing', async () => {
    const before = [...f.simOf.values()].map((s) => s.count('config'));
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'vendor=osprey-talon',
      config: { target: rtmp('KEY-2'), video: { codec: 'h264', bitrateKbps: 3000 } },
      options: { dryRun: true },
    });
    const { job, tasks } = await finishedJob(svc, res.body.id);
    expect(job.state).toBe('succeeded');
    expect(tasks[0].changes).toEqual(
      expect.arrayContaining([
        { path: 'target.streamKey', from: { set: true }, to: { set: true } },
        { path: 'video.bitrateKbps', from: 2000, to: 3000 },
      ]),
    );
    expect([...f.simOf.values()].map((s) => s.count('config'))).toEqual(before);
    const device = await svc.request('GET', `/v1/devices/${f.ids[0]}`);
    expect(device.body.desired.config.video.bitrateKbps).toBe(2000); // dry runs record no desired state
  });

  it('refuses unsupported combinations per device without contacting them', async () => {
    const prisms = [...f.simOf.entries()].filter(([, s]) => s.vendor === 'teradek-prism');
    const requests = prisms.map(([, s]) => s.requestCount);
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: { target: { protocol: 'whip', url: 'https://127.0.0.1/whip', bearerToken: 'tok' } },
    });
    const { job, tasks } = await finishedJob(svc, res.body.id);
    expect(job.state).toBe('partially_failed');
    expect(job.counts).toMatchObject({ total: 16, succeeded: 12, failed: 4 });
    const refused = tasks.filter((t: { state: string }) => t.state === 'failed');
    expect(
      refused.every(
        (t: { error: { type: string }; attempts: unknown[] }) =>
          t.error.type === 'unsupported' && t.attempts.length === 0,
      ),
    ).toBe(true);
    expect(prisms.map(([, s]) => s.requestCount)).toEqual(requests);
  });

  it('canary: stops before the rest when a canary device fails', async () => {
    const canary = f.simOf.get(f.ids[0]!)!;
    canary.setFaults({ errorRate: 1 });
    try {
      const res = await svc.request('POST', '/v1/jobs', {
        action: 'apply',
        selector: 'vendor=osprey-talon',
        config: { target: rtmp('KEY-3') },
        options: { canary: 2, retries: 0 },
      });
      const { job, tasks } = await finishedJob(svc, res.body.id);
      expect(job.state).toBe('aborted');
      expect(job.reason).toMatch(/canary failed: 1 of 2/);
      expect(job.counts).toMatchObject({ failed: 1, succeeded: 1, skipped: 10 });
      expect(tasks.filter((t: { canary: boolean }) => t.canary)).toHaveLength(2);
    } finally {
      canary.setFaults({ errorRate: 0 });
    }
  });

  it('maxFailures: aborts the rest once the budget is spent', async () => {
    const broken = f.ids.slice(0, 6).map((id) => f.simOf.get(id)!);
    for (const s of broken) s.setFaults({ errorRate: 1 });
    try {
      const res = await svc.request('POST', '/v1/jobs', {
        action: 'apply',
        deviceIds: f.ids.slice(0, 12),
        config: { target: rtmp('KEY-4') },
        options: { maxFailures: '10%', retries: 0 },
      });
      const { job } = await finishedJob(svc, res.body.id);
      expect(job.state).toBe('aborted');
      expect(job.reason).toMatch(/failure budget spent/);
      expect(job.counts.failed).toBeGreaterThanOrEqual(2);
      expect(job.counts.skipped + job.counts.failed + job.counts.succeeded).toBe(12);
    } finally {
      for (const s of broken) s.setFaults({ errorRate: 0 });
    }
  });

  it('retries a device that reboots in the middle of the write, and shows the attempts', async () => {
    const flaky = f.simOf.get(f.ids[3]!)!;
    flaky.setFaults({ rebootOnNextWrite: true });
    try {
      const res = await svc.request('POST', '/v1/jobs', {
        action: 'apply',
        deviceIds: [f.ids[3]],
        config: { target: rtmp('KEY-5'), video: { codec: 'h264', bitrateKbps: 2500 } },
        options: { retries: 8 },
      });
      const { job, tasks } = await finishedJob(svc, res.body.id);
      expect(job.state).toBe('succeeded');
      expect(tasks[0].attempts.length).toBeGreaterThan(1);
      expect(tasks[0].attempts[0].error.type).toBe('unreachable');
      expect(flaky.count('reboot')).toBe(1);
      // The retry found the half-applied device and wrote what was still missing.
      const [config] = (flaky.snapshot() as { channels: { video: { bitrate_kbps: number } }[] }).channels;
      expect(config!.video.bitrate_kbps).toBe(2500);
    } finally {
      flaky.setFaults({ rebootOnNextWrite: false });
    }
  });

  it('cancel: no new devices are started, in-flight ones finish', async () => {
    for (const s of f.simOf.values()) s.setFaults({ latencyMs: 150 });
    try {
      const res = await svc.request('POST', '/v1/jobs', {
        action: 'apply',
        selector: 'vendor=osprey-talon',
        config: { target: rtmp('KEY-6') },
        options: { canary: 1 },
      });
      await new Promise((r) => setTimeout(r, 200));
      const canceled = await svc.request('POST', `/v1/jobs/${res.body.id}/cancel`);
      expect(canceled.status).toBe(202);
      const { job, tasks } = await finishedJob(svc, res.body.id);
      expect(job.state).toBe('canceled');
      expect(job.counts.canceled).toBeGreaterThan(0);
      // Every device either finished cleanly or was never touched by this job.
      for (const t of tasks as { state: string; attempts: unknown[] }[]) {
        expect(['succeeded', 'canceled']).toContain(t.state);
        if (t.state === 'canceled') expect(t.attempts).toHaveLength(0);
      }
    } finally {
      for (const s of f.simOf.values()) s.setFaults({ latencyMs: 0 });
    }
  });

  it('Idempotency-Key: a retried request returns the original job; a different body is refused', async () => {
    const body = { action: 'stop', deviceIds: [f.ids[5]] };
    const headers = { 'idempotency-key': 'req-7f3a' };
    const first = await svc.request('POST', '/v1/jobs', body, headers);
    const second = await svc.request('POST', '/v1/jobs', body, headers);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    const other = await svc.request('POST', '/v1/jobs', { action: 'start', deviceIds: [f.ids[5]] }, headers);
    expect(other.status).toBe(422);
    expect(other.body.error).toBe('idempotency_key_reused');
    const jobs = (await svc.request('GET', '/v1/jobs?limit=500')).body.items.filter(
      (j: { idempotencyKey?: string }) => j.idempotencyKey === 'req-7f3a',
    );
    expect(jobs).toHaveLength(1);
  });

  it('refuses malformed job requests with the field named', async () => {
    const cases: [unknown, string][] = [
      [{ action: 'apply', selector: 'a=b' }, 'body/config'],
      [{ action: 'start', selector: 'a=b', deviceIds: ['x'] }, 'body/selector'],
      [{ action: 'start', deviceIds: ['no-such-device'] }, 'body/deviceIds'],
      [{ action: 'start', selector: 'nothing=matches' }, 'body/selector'],
      [{ action: 'explode', selector: 'a=b' }, 'body/action'],
      [{ action: 'start', selector: 'a=b', options: { maxFailures: '110%' } }, 'body/options/maxFailures'],
    ];
    for (const [body, field] of cases) {
      const res = await svc.request('POST', '/v1/jobs', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    }
  });
});

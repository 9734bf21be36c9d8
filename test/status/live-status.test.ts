/**
 * Live status through the API: polling, drift and heal after a reboot, the SSE event stream with
 * Last-Event-ID resume, signed webhooks with retries, metrics and the fleet summary.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';
import { openSse } from '../helpers/sse.js';

const POLL_MS = 1000;

describe('live status', () => {
  let svc: TestService;
  let f: FleetSetup;

  beforeAll(async () => {
    svc = await startService({ env: { POLL_INTERVAL_MS: String(POLL_MS) } });
    f = await addFleet(svc, { 'osprey-talon': 3 }, { rebootMs: 1500, startDelayMs: 100 });
    const job = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: {
        target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'live-status-key' },
        video: { codec: 'h264', bitrateKbps: 2000 },
      },
    });
    await finishedJob(svc, job.body.id);
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
  });

  it('a device rebooting while streaming goes unreachable, comes back drifted, and heal restarts it', async () => {
    const id = f.ids[0]!;
    const sim = f.simOf.get(id)!;
    await svc.request('PATCH', `/v1/devices/${id}`, { driftPolicy: 'heal' });
    const started = await svc.request('POST', `/v1/devices/${id}/start`);
    expect(started.status).toBe(200);
    const sse = await openSse(`${svc.url}/v1/events?types=device.state,device.drift`);
    try {
      await waitForStatus(svc, id, (s) => s.stream === 'streaming' && s.sync === 'in_sync');
      sim.reboot();
      await sse.waitFor((m) => m.data.deviceId === id && m.data.data.connectivity === 'unreachable', 8000);
      await sse.waitFor(
        (m) => m.data.deviceId === id && m.event === 'device.drift' && m.data.data.sync === 'drifted',
        15_000,
      );
      // Nobody touches it: the heal policy starts it again.
      const healed = await waitForStatus(
        svc,
        id,
        (s) => s.stream === 'streaming' && s.sync === 'in_sync',
        20_000,
      );
      expect(healed.connectivity).toBe('online');
      expect(sim.count('start')).toBe(2);
      const jobs = (await svc.request('GET', '/v1/jobs?limit=20')).body.items;
      expect(
        jobs.some((j: { origin: string; action: string }) => j.origin === 'heal' && j.action === 'start'),
      ).toBe(true);
    } finally {
      sse.close();
    }
  }, 40_000);

  it('an SSE client sees a state change within one poll interval + 1 s', async () => {
    const id = f.ids[1]!;
    const sse = await openSse(`${svc.url}/v1/events?types=device.state&selector=fleet%3Dtest`);
    try {
      await waitForStatus(svc, id, (s) => s.connectivity === 'online');
      const changedAt = Date.now();
      f.simOf.get(id)!.setFaults({ resetRate: 1 });
      const m = await sse.waitFor(
        (x) => x.data.deviceId === id && x.data.data.connectivity === 'unreachable',
        5000,
      );
      expect(m.receivedAt - changedAt).toBeLessThanOrEqual(POLL_MS + 1000);
      // The device's history already explains the state it is in (history rows are stored in
      // batches every few seconds; the history does not wait for them).
      const history = await svc.request('GET', `/v1/devices/${id}/history?changes=5`);
      expect(history.body.changes[0]).toMatchObject({ connectivity: 'unreachable' });
    } finally {
      f.simOf.get(id)!.setFaults({ resetRate: 0 });
      sse.close();
    }
  });

  it('resuming with Last-Event-ID loses no event', async () => {
    const first = await openSse(`${svc.url}/v1/events`);
    await svc.request('POST', '/v1/jobs', { action: 'stop', selector: 'fleet=test' });
    await first.waitFor((m) => m.event === 'job.finished');
    const seen = first.messages.map((m) => m.id);
    const cut = seen[Math.floor(seen.length / 2)]!;
    first.close();
    // Events keep happening while the client is away.
    const job = await svc.request('POST', '/v1/jobs', { action: 'start', selector: 'fleet=test' });
    await finishedJob(svc, job.body.id);
    await new Promise((r) => setTimeout(r, 200));
    const resumed = await openSse(`${svc.url}/v1/events`, { 'last-event-id': String(cut) });
    try {
      await resumed.waitFor((m) => m.event === 'job.finished' && m.data.jobId === job.body.id);
      const ids = resumed.messages.map((m) => m.id);
      expect(ids[0]).toBe(cut + 1);
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe(ids[i - 1]! + 1);
      expect(ids).toEqual(expect.arrayContaining(seen.filter((id) => id > cut)));
    } finally {
      resumed.close();
    }
  });

  it('webhooks: signed, retried after two failures, logged', async () => {
    const received: { body: string; signature: string; at: number }[] = [];
    let calls = 0;
    const receiver: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        calls++;
        if (calls <= 2) return void res.writeHead(503).end('busy');
        received.push({
          body: Buffer.concat(chunks).toString(),
          signature: String(req.headers['x-encoderfleet-signature']),
          at: Date.now(),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    try {
      const created = await svc.request('POST', '/v1/webhooks', {
        url: `http://127.0.0.1:${port}/hook`,
        types: ['job.finished'],
      });
      expect(created.status).toBe(201);
      const secret = created.body.secret as string;
      expect(created.body.webhook.secret).toEqual({ set: true });
      const job = await svc.request('POST', '/v1/jobs', { action: 'stop', selector: 'fleet=test' });
      await finishedJob(svc, job.body.id);
      const deadline = Date.now() + 15_000;
      while (!received.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(received).toHaveLength(1);
      const { body, signature } = received[0]!;
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
      const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
      expect(timingSafeEqual(Buffer.from(v1!, 'hex'), Buffer.from(expected, 'hex'))).toBe(true);
      expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60);
      expect(JSON.parse(body)).toMatchObject({ type: 'job.finished', jobId: job.body.id });
      const log = await svc.request('GET', `/v1/webhooks/${created.body.webhook.id}/deliveries`);
      expect(log.body.items[0]).toMatchObject({ state: 'delivered', attempts: 3, lastStatus: 204 });
    } finally {
      receiver.close();
    }
  }, 30_000);

  it('after an apply, the settings it replaced are not reported as drift', async () => {
    const id = f.ids[2]!;
    await waitForStatus(svc, id, (s) => s.connectivity === 'online' && s.sync === 'in_sync');
    const sse = await openSse(`${svc.url}/v1/events?types=device.drift`);
    try {
      const job = await svc.request('POST', '/v1/jobs', {
        action: 'apply',
        deviceIds: [id],
        config: {
          target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'live-status-key' },
          video: { codec: 'h264', bitrateKbps: 3100 },
        },
      });
      const done = (await finishedJob(svc, job.body.id)).job;
      expect(done.state).toBe('succeeded');
      const settled = await waitForStatus(
        svc,
        id,
        (s) => s.sync === 'in_sync' && s.lastSeen > job.body.createdAt,
      );
      expect(settled.drift ?? []).toEqual([]);
      await new Promise((r) => setTimeout(r, 2 * POLL_MS));
      const drifted = sse.messages.filter((m) => m.data.deviceId === id && m.data.data.sync === 'drifted');
      expect(drifted.map((m) => m.data.data)).toEqual([]);
      // The apply read the config back and found it as desired: the polls after it read the
      // status only, until the regular config read (every 6th poll).
      const after = f.simOf
        .get(id)!
        .requestLog.filter((r) => r.at > Date.parse(done.finishedAt) && r.method === 'GET');
      expect(after.some((r) => r.path === '/api/v1/channels/1/status')).toBe(true);
      expect(after.filter((r) => r.path === '/api/v1/channels/1' || r.path === '/api/v1/channels')).toEqual(
        [],
      );
    } finally {
      sse.close();
    }
  });

  it("shows each unit's model, serial and firmware, read once and again after it was down", async () => {
    const id = f.ids[2]!; // no other test takes this one down
    const sim = f.simOf.get(id)! as TalonSim;
    const identityReads = () => sim.requestLog.filter((r) => r.path === '/api/v1/system').length;
    const first = await waitForStatus(svc, id, (s) => s.firmware !== undefined);
    expect(first).toMatchObject({ model: 'Talon 4K-SC', serial: sim.serial, firmware: '2.4.1' });
    const listed = (await svc.request('GET', '/v1/devices?limit=10')).body.items.find(
      (d: { id: string }) => d.id === id,
    );
    expect(listed).toMatchObject({ model: 'Talon 4K-SC', firmware: '2.4.1' });
    await new Promise((r) => setTimeout(r, 2 * POLL_MS));
    expect(identityReads()).toBe(1);

    // A firmware update: the unit reboots and comes back with another version.
    sim.firmware = '2.5.0';
    sim.reboot();
    await waitForStatus(svc, id, (s) => s.connectivity === 'unreachable');
    const back = await waitForStatus(
      svc,
      id,
      (s) => s.connectivity === 'online' && s.firmware === '2.5.0',
      15_000,
    );
    expect(back.model).toBe('Talon 4K-SC');
    expect(identityReads()).toBe(2);
    // The other two units: once they have been read, the summary counts them by version.
    await Promise.all(f.ids.map((other) => waitForStatus(svc, other, (s) => s.firmware !== undefined)));
    const summary = await svc.request('GET', '/v1/fleet/summary');
    expect(summary.body.firmware).toEqual({ 'Talon 4K-SC': { '2.4.1': 2, '2.5.0': 1 } });
    // Identities are stored with the monitor's next batch (every few seconds); then the list filters.
    const due = async () =>
      (await svc.request('GET', '/v1/devices?model=Talon%204K-SC&firmware=2.4.1')).body.items
        .map((d: { id: string }) => d.id)
        .sort();
    await expect.poll(due, { timeout: 10_000 }).toEqual(f.ids.filter((other) => other !== id).sort());
  }, 30_000);

  it('serves Prometheus metrics and a fleet summary', async () => {
    const metrics = await fetch(`${svc.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      /encoder_fleet_devices\{vendor="osprey-talon",connectivity="online",stream="\w+"\} \d/,
    );
    expect(metrics).toMatch(
      /encoder_fleet_poll_duration_seconds_bucket\{le="0\.05",vendor="osprey-talon",outcome="ok"\} \d+/,
    );
    expect(metrics).toMatch(/encoder_fleet_jobs_total\{action="apply",state="succeeded"\} \d/);
    expect(metrics).toContain('encoder_fleet_event_loop_lag_p99_seconds');
    const summary = await svc.request('GET', '/v1/fleet/summary');
    expect(summary.body.devices).toBe(3);
    expect(summary.body.byVendor['osprey-talon'].total).toBe(3);
  });
});

async function waitForStatus(
  svc: TestService,
  id: string,
  ok: (s: any) => boolean,
  timeoutMs = 10_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await svc.request('GET', `/v1/devices/${id}/status`)).body;
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last)}`);
}

/**
 * End to end, closing the loop with the ingest: 20 simulated devices (Talon, VidiU, Prism) get
 * `nanostream` targets (one profile, a stream name per device), a broadcast starts them, and a fake
 * nanoStream ingest posts `publish` webhooks for 19 of the 20 streams. Exactly one device (the one
 * whose stream never arrived) ends up `ingest: missing`, with its alert and event; the other 19
 * are `confirmed`.
 *
 * The broadcast is a scheduled one (`startBroadcast` below): pre-roll applies the profile, the start
 * fires a start job.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';
import { startService, type TestService } from '../helpers/service.js';
import { openSse, type SseClient } from '../helpers/sse.js';

const GRACE_MS = 1500;

/**
 * Schedules a broadcast of `profile` on the devices, starting in a few seconds (pre-roll applies the
 * profile; the start fires a start job), and waits for the scheduled start job to succeed.
 */
async function startBroadcast(svc: TestService, deviceIds: readonly string[], profile: string) {
  const start = Math.ceil((Date.now() + 3000) / 1000) * 1000;
  const created = await svc.request('POST', '/v1/schedules', {
    name: 'nano-e2e',
    deviceIds,
    profile,
    start: new Date(start).toISOString(),
    end: new Date(start + 10 * 60_000).toISOString(),
    options: { preRollMinutes: 0 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  let jobId: string | undefined;
  await vi.waitFor(
    async () => {
      const runs = (await svc.request('GET', `/v1/schedules/${created.body.id}/runs`)).body.items;
      jobId = runs[0]?.phases?.start?.job?.id;
      expect(jobId).toBeDefined();
    },
    { timeout: 20_000, interval: 200 },
  );
  const { job } = await finishedJob(svc, jobId!);
  expect(job).toMatchObject({ action: 'start', origin: 'schedule', state: 'succeeded' });
  expect(job.counts.succeeded + job.counts.unchanged).toBe(deviceIds.length);
}

/** Plays nanoStream Cloud: calls the service's webhook as the ingest sees streams arrive. */
function fakeIngest(svc: TestService) {
  return async (call: 'publish' | 'publish_done', streamName: string) => {
    const res = await fetch(`${svc.url}/v1/ingest/nanostream/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ call, name: streamName, app: 'live', addr: '127.0.0.1', clientid: '1' }),
    });
    return res.status;
  };
}

describe('nanoStream closed loop: 20 devices, 19 streams arrive', () => {
  let svc: TestService;
  let f: FleetSetup;
  let events: SseClient;
  const streamOf = new Map<string, string>();

  beforeAll(async () => {
    svc = await startService({
      env: {
        ...LOOPBACK_INGEST_ENV,
        NANOSTREAM_PUBLISH_GRACE_MS: String(GRACE_MS),
        POLL_INTERVAL_MS: '1000',
      },
    });
    f = await addFleet(svc, { 'osprey-talon': 8, 'teradek-vidiu': 6, 'teradek-prism': 6 });
    const profile = await svc.request('POST', '/v1/profiles', {
      name: 'nano-broadcast',
      config: { target: { protocol: 'nanostream', ingest: 'rtmp' } },
    });
    expect(profile.status).toBe(201);
    for (const [i, id] of f.ids.entries()) {
      const streamName = `EVENT-${String(i).padStart(2, '0')}-${id.slice(0, 8)}`;
      streamOf.set(id, streamName);
      // Talons send over SRT to the EU host; the others over RTMP.
      const target =
        f.simOf.get(id)!.vendor === 'osprey-talon'
          ? { ingest: 'srt', region: 'eu', streamName }
          : { streamName };
      const res = await svc.request('PATCH', `/v1/devices/${id}`, {
        profile: 'nano-broadcast',
        overrides: { target },
      });
      expect(res.status).toBe(200);
    }
    events = await openSse(`${svc.url}/v1/events?types=device.ingest`);
  });

  afterAll(async () => {
    events?.close();
    await svc.close();
    await f.fleet.close();
  });

  it('exactly one device is flagged ingest: missing', async () => {
    await startBroadcast(svc, f.ids, 'nano-broadcast');
    const silent = f.ids[13]!;
    const ingest = fakeIngest(svc);

    // Every device now says it is streaming.
    await vi.waitFor(
      async () => {
        for (const id of f.ids)
          expect((await svc.request('GET', `/v1/devices/${id}/status`)).body.stream).toBe('streaming');
      },
      { timeout: 15_000, interval: 200 },
    );
    // The ingest sees 19 of them arrive; a stream no device sends is refused.
    for (const id of f.ids) if (id !== silent) expect(await ingest('publish', streamOf.get(id)!)).toBe(200);
    expect(await ingest('publish', 'NOT-OURS')).toBe(403);

    await vi.waitFor(
      async () => {
        const states = await Promise.all(
          f.ids.map(async (id) => [id, (await svc.request('GET', `/v1/devices/${id}/status`)).body] as const),
        );
        const missing = states.filter(([, s]) => s.ingest === 'missing').map(([id]) => id);
        expect(missing).toEqual([silent]);
        expect(states.filter(([, s]) => s.ingest === 'confirmed')).toHaveLength(19);
      },
      { timeout: GRACE_MS + 10_000, interval: 200 },
    );

    const status = (await svc.request('GET', `/v1/devices/${silent}/status`)).body;
    expect(status.alerts).toContainEqual(
      expect.objectContaining({ kind: 'ingest_missing', severity: 'error' }),
    );
    // The event stream says the same (events reach SSE clients a moment after the state changes).
    await vi.waitFor(() => {
      const withIngest = (ingest: string) => events.messages.filter((m) => m.data.data.ingest === ingest);
      expect(withIngest('missing').map((m) => m.data.deviceId)).toEqual([silent]);
      expect(withIngest('confirmed')).toHaveLength(19);
    });

    // Its stream turns up late: confirmed, alert cleared.
    expect(await ingest('publish', streamOf.get(silent)!)).toBe(200);
    const after = (await svc.request('GET', `/v1/devices/${silent}/status`)).body;
    expect(after.ingest).toBe('confirmed');
    expect(after.alerts.filter((a: { kind: string }) => a.kind === 'ingest_missing')).toEqual([]);
  });
});

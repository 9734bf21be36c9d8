/**
 * bintu provisioning through the API, against the fake bintu on loopback: one stream per device,
 * each device configured with its own stream name (and sent to it by an apply job), a result per
 * device when bintu fails for one, re-runs that keep existing streams, the stream-state lookup,
 * and 501 when no bintu API key is configured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { FakeBintu } from '../helpers/fake-bintu.js';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';
import { startService, type TestService } from '../helpers/service.js';

describe('bintu provisioning', () => {
  const bintu = new FakeBintu();
  let svc: TestService;
  let f: FleetSetup;

  beforeAll(async () => {
    await bintu.listen();
    svc = await startService({
      env: { ...LOOPBACK_INGEST_ENV, BINTU_API_URL: bintu.url, BINTU_API_KEY: bintu.apiKey },
    });
    f = await addFleet(svc, { 'osprey-talon': 4 }, { labels: (i) => ({ group: i < 3 ? 'a' : 'b' }) });
    await svc.request('POST', '/v1/profiles', {
      name: 'nano-720p',
      config: {
        target: { protocol: 'nanostream', ingest: 'rtmp' },
        video: {
          codec: 'h264',
          bitrateKbps: 1000,
          width: 1280,
          height: 720,
          fps: 30,
          keyframeIntervalFrames: 60,
        },
      },
    });
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
    await bintu.close();
  });

  it('creates a stream per device, configures each with its own name and applies the profile', async () => {
    const res = await svc.request('POST', '/v1/ingest/nanostream/provision', {
      selector: 'group=a',
      transcodes: ['vtrans2-852x480x800x25'],
      tags: ['event-42'],
      profile: 'nano-720p',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 3, failed: 0 });
    expect(res.body.devices.map((d: any) => d.state)).toEqual(['created', 'created', 'created']);
    // bintu saw the transcoding profile and tags, with the key.
    const creates = bintu.requests.filter((r) => r.method === 'POST');
    expect(creates).toHaveLength(3);
    expect(creates[0]).toMatchObject({
      apiKey: bintu.apiKey,
      body: {
        transcodes: [{ profile: 'vtrans2-852x480x800x25' }],
        tags: ['event-42', expect.stringMatching(/^device:/)],
      },
    });
    // The apply job sends each device its own stream name.
    const { job } = await finishedJob(svc, res.body.job.id);
    expect(job).toMatchObject({ state: 'succeeded', counts: { succeeded: 3 } });
    const names = new Set<string>();
    for (const d of res.body.devices) {
      const stream = bintu.streams.get(d.streamId)!;
      expect(d.streamName).toEqual({ set: true });
      const channel = (f.simOf.get(d.deviceId) as TalonSim).snapshot().channels[0]!;
      expect(channel.output.rtmp).toEqual({
        url: 'rtmp://127.0.0.2:1935/live',
        stream_key: stream.streamname,
      });
      names.add(stream.streamname);
    }
    expect(names.size).toBe(3);
    // The stream names are never shown in full.
    expect(JSON.stringify(res.body)).not.toContain([...names][0]);
  });

  it('the webhook now allows exactly those streams', async () => {
    await svc.app.monitor.refresh();
    for (const stream of bintu.streams.values()) {
      const res = await fetch(`${svc.url}/v1/ingest/nanostream/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `call=publish&name=${stream.streamname}`,
      });
      expect(res.status).toBe(200);
    }
  });

  it("looks up a device's stream state", async () => {
    const device = f.ids[0]!;
    const first = await svc.request('GET', `/v1/ingest/nanostream/devices/${device}/stream`);
    expect(first).toMatchObject({ status: 200, body: { state: 'idle' } });
    bintu.streams.get(first.body.streamId)!.state = 'live';
    expect((await svc.request('GET', `/v1/ingest/nanostream/devices/${device}/stream`)).body.state).toBe(
      'live',
    );
    expect((await svc.request('GET', `/v1/ingest/nanostream/devices/${f.ids[3]}/stream`)).status).toBe(404);
    expect((await svc.request('GET', '/v1/ingest/nanostream/devices/nope/stream')).status).toBe(404);
  });

  it('a result per device when bintu fails for one; a re-run keeps existing streams and does the rest', async () => {
    bintu.failCreates = 1;
    const res = await svc.request('POST', '/v1/ingest/nanostream/provision', { deviceIds: f.ids });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 0, failed: 1 });
    const states = res.body.devices.map((d: any) => d.state);
    expect(states.filter((s: string) => s === 'existing')).toHaveLength(3);
    expect(res.body.devices.find((d: any) => d.state === 'failed')).toMatchObject({
      deviceId: f.ids[3],
      error: 'bintu POST /stream: HTTP 500: Internal Server Error (code 5000)',
    });
    const again = await svc.request('POST', '/v1/ingest/nanostream/provision', { deviceIds: f.ids });
    expect(again.body).toMatchObject({ created: 1, failed: 0 });
    const device = (await svc.request('GET', `/v1/devices/${f.ids[3]}`)).body;
    expect(device.overrides.target).toMatchObject({
      protocol: 'nanostream',
      ingest: 'rtmp',
      streamName: { set: true },
    });
  });

  it.each([
    [{}, 'body/selector'],
    [{ selector: 'group=a', deviceIds: ['x'] }, 'body/selector'],
    [{ selector: 'group=a', ingest: 'ftp' }, 'body/ingest'],
    [{ selector: 'group=a', transcodes: ['no spaces allowed'] }, 'body/transcodes/0'],
  ])('refuses %j with a 400 naming %s', async (body, field) => {
    const res = await svc.request('POST', '/v1/ingest/nanostream/provision', body);
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: any) => d.field)).toContain(field);
  });

  it('an unknown profile is refused before any stream is created', async () => {
    const before = bintu.streams.size;
    const res = await svc.request('POST', '/v1/ingest/nanostream/provision', {
      selector: 'group=b',
      profile: 'nope',
    });
    expect(res.status).toBe(422);
    expect(bintu.streams.size).toBe(before);
  });
});

describe('without BINTU_API_KEY', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(() => svc.close());

  it('the bintu routes answer 501 naming the variable', async () => {
    const res = await svc.request('POST', '/v1/ingest/nanostream/provision', { selector: 'x=y' });
    expect(res).toMatchObject({
      status: 501,
      body: { error: 'not_configured', message: 'the bintu API is not configured: set BINTU_API_KEY' },
    });
    expect((await svc.request('GET', '/v1/ingest/nanostream/devices/x/stream')).status).toBe(501);
  });
});

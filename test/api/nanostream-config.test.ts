/**
 * The `nanostream` shorthand through the API: accepted in job configs, profiles, device overrides
 * and PUT config; expanded in dry runs and in the device's effective config; the device (a
 * simulated Talon) receives only the concrete target; bad stream names are a 400 naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';
import { startService, type TestService } from '../helpers/service.js';

describe('nanostream targets through the API', () => {
  let svc: TestService;
  let f: FleetSetup;
  let talon: string;
  let other: string;

  beforeAll(async () => {
    svc = await startService({ env: LOOPBACK_INGEST_ENV });
    f = await addFleet(svc, { 'osprey-talon': 1, 'teradek-vidiu': 1 });
    talon = f.ids.find((id) => f.simOf.get(id)!.vendor === 'osprey-talon')!;
    other = f.ids.find((id) => f.simOf.get(id)!.vendor === 'teradek-vidiu')!;
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
  });

  it('a dry run shows the expanded SRT target (regional host, port 5000, stream id masked)', async () => {
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      deviceIds: [talon],
      config: { target: { protocol: 'nanostream', ingest: 'srt', region: 'eu', streamName: 'ABCDE-XYZ12' } },
      options: { dryRun: true },
    });
    expect(res.status).toBe(202);
    const { tasks } = await finishedJob(svc, res.body.id);
    expect(tasks[0].state).toBe('succeeded');
    expect(tasks[0].changes).toContainEqual({
      path: 'target',
      from: null,
      to: {
        protocol: 'srt',
        host: '127.0.0.4',
        port: 5000,
        mode: 'caller',
        streamId: { set: true, last4: 'YZ12' },
        latencyMs: 500,
      },
    });
    // A dry run writes nothing.
    expect((f.simOf.get(talon) as TalonSim).snapshot().channels[0]!.output.upstream_protocol).toBe('NONE');
  });

  it('profile + per-device stream name: the effective config shows the concrete target, the device gets it', async () => {
    const profile = await svc.request('POST', '/v1/profiles', {
      name: 'nano-rtmp',
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
    expect(profile.status).toBe(201);
    expect(profile.body.config.target).toEqual({ protocol: 'nanostream', ingest: 'rtmp' });

    const patched = await svc.request('PATCH', `/v1/devices/${talon}`, {
      profile: 'nano-rtmp',
      overrides: { target: { streamName: 'STUDIO-A-000017' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.overrides.target).toEqual({ streamName: { set: true, last4: '0017' } });
    expect(patched.body.desired.config.target).toEqual({
      protocol: 'rtmp',
      url: 'rtmp://127.0.0.2:1935/live',
      streamKey: { set: true, last4: '0017' },
    });
    expect(JSON.stringify(patched.body)).not.toContain('STUDIO-A-000017');
    // Encrypted at rest, like stream keys.
    const row = await svc.app.store.db.kysely
      .selectFrom('devices')
      .select('overrides')
      .where('id', '=', talon)
      .executeTakeFirstOrThrow();
    expect(row.overrides).not.toContain('STUDIO-A-000017');
    expect(JSON.parse(row.overrides!).target.streamName).toMatch(/^enc:/);

    const job = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      deviceIds: [talon],
      profile: 'nano-rtmp',
    });
    const { tasks } = await finishedJob(svc, job.body.id);
    expect(tasks[0].state).toBe('succeeded');
    expect((f.simOf.get(talon) as TalonSim).snapshot().channels[0]!.output).toMatchObject({
      upstream_protocol: 'RTMP',
      rtmp: { url: 'rtmp://127.0.0.2:1935/live', stream_key: 'STUDIO-A-000017' },
    });
  });

  it('PUT config takes the shorthand too (WHIP)', async () => {
    const res = await svc.request('PUT', `/v1/devices/${talon}/config`, {
      target: { protocol: 'nanostream', ingest: 'whip', streamName: 'WHIP-STREAM-0042' },
    });
    expect(res.status).toBe(200);
    expect(res.body.config.target).toEqual({
      protocol: 'whip',
      url: 'http://127.0.0.8:8080/p/webrtc',
      bearerToken: { set: true, last4: '0042' },
    });
  });

  it('a profile without a stream name fails per device (clearly) for devices that do not give one', async () => {
    await svc.request('POST', '/v1/profiles', {
      name: 'nano-srt',
      config: { target: { protocol: 'nanostream', ingest: 'srt' } },
    });
    const job = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      deviceIds: [other],
      profile: 'nano-srt',
    });
    const { tasks } = await finishedJob(svc, job.body.id);
    expect(tasks[0].state).toBe('failed');
    expect(tasks[0].error.message).toContain(
      "config/target/streamName is required (in the config or the device's overrides)",
    );
  });

  it('multi-bitrate: renditions go to further Talon channels; a single-output device refuses clearly', async () => {
    const profile = await svc.request('POST', '/v1/profiles', {
      name: 'nano-abr',
      config: {
        target: { protocol: 'nanostream', ingest: 'srt' },
        video: {
          codec: 'h264',
          bitrateKbps: 2000,
          width: 1280,
          height: 720,
          fps: 30,
          keyframeIntervalFrames: 60,
        },
        renditions: [{ video: { bitrateKbps: 500, width: 640, height: 360 } }],
      },
    });
    expect(profile.status).toBe(201);
    for (const [id, n] of [
      [talon, 1],
      [other, 2],
    ] as const) {
      const res = await svc.request('PATCH', `/v1/devices/${id}`, {
        profile: 'nano-abr',
        overrides: {
          target: { streamName: `MAIN-${n}` },
          renditions: [{ target: { streamName: `LOW-${n}` } }],
        },
      });
      expect(res.status).toBe(200);
    }
    const job = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      profile: 'nano-abr',
    });
    const { tasks } = await finishedJob(svc, job.body.id);
    const byDevice = new Map(tasks.map((t: any) => [t.deviceId, t]));
    expect(byDevice.get(talon).state).toBe('succeeded');
    const [main, low] = (f.simOf.get(talon) as TalonSim).snapshot().channels;
    expect(main!.output.srt).toMatchObject({ destination_address: '127.0.0.3', stream_id: 'push%3AMAIN-1' });
    expect(low!.output.srt).toMatchObject({ destination_address: '127.0.0.3', stream_id: 'push%3ALOW-1' });
    expect(low!.video).toMatchObject({
      bitrate_kbps: 500,
      resolution: '640x360',
      frame_rate: 30,
      gop_length: 60,
    });
    expect(byDevice.get(other).state).toBe('failed');
    expect(byDevice.get(other).error).toMatchObject({
      type: 'unsupported',
      message: expect.stringContaining(
        'renditions: teradek-vidiu runs one output: multi-bitrate renditions are not supported',
      ),
    });
  });

  describe('bad stream names are a 400 naming the field', () => {
    const srt = (streamName: string) => ({ protocol: 'nanostream', ingest: 'srt', streamName });

    it.each([
      [
        'job config, charset',
        '/v1/jobs',
        { action: 'apply', selector: 'fleet=test', config: { target: srt('bad name') } },
        'body/config/target/streamName',
        'must match pattern',
      ],
      [
        'job config, SRT stream id > 512',
        '/v1/jobs',
        { action: 'apply', selector: 'fleet=test', config: { target: srt('a'.repeat(508)) } },
        'body/config/target/streamName',
        'SRT stream id "push:<streamName>" 513 characters long; at most 512',
      ],
      [
        'profile, SRT stream id > 512',
        '/v1/profiles',
        { name: 'too-long', config: { target: srt('a'.repeat(510)) } },
        'body/config/target/streamName',
        'at most 512 are allowed',
      ],
      [
        'profile, charset',
        '/v1/profiles',
        { name: 'colon', config: { target: srt('push:x') } },
        'body/config/target/streamName',
        'must match pattern',
      ],
      [
        'unknown ingest',
        '/v1/profiles',
        { name: 'ftp', config: { target: { protocol: 'nanostream', ingest: 'ftp', streamName: 'x' } } },
        'body/config/target/ingest',
        'must be one of "rtmp", "srt", "whip"',
      ],
      [
        'unknown region',
        '/v1/profiles',
        { name: 'mars', config: { target: { protocol: 'nanostream', region: 'mars', streamName: 'x' } } },
        'body/config/target/region',
        'must be one of "eu", "us", "as", "sa"',
      ],
    ])('%s', async (_name, path, body, field, reason) => {
      const res = await svc.request('POST', path, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('bad_request');
      expect(res.body.details).toContainEqual({ field, reason: expect.stringContaining(reason) });
    });

    it('device overrides: a name too long for the SRT ingest of its profile', async () => {
      const res = await svc.request('PATCH', `/v1/devices/${other}`, {
        profile: 'nano-srt',
        overrides: { target: { streamName: 'b'.repeat(510) } },
      });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([
        {
          field: 'body/overrides/target/streamName',
          reason: expect.stringContaining('515 characters long; at most 512 are allowed'),
        },
      ]);
    });

    it('PUT config: a rendition name too long for SRT', async () => {
      const res = await svc.request('PUT', `/v1/devices/${talon}/config`, {
        target: srt('MAIN'),
        renditions: [{ target: { streamName: 'c'.repeat(508) }, video: { bitrateKbps: 500 } }],
      });
      expect(res.status).toBe(400);
      expect(res.body.details).toContainEqual({
        field: 'body/renditions/0/target/streamName',
        reason: expect.stringContaining('at most 512 are allowed'),
      });
    });
  });
});

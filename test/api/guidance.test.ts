/**
 * Setting guidance through the API: POST /v1/configs/validate, and attached to every apply job and
 * dry run; strict makes warnings block; device facts (capture signal, streaming now) feed the
 * upscaling and live-resolution-change rules; the traffic estimate totals a job's devices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';
import { startService, type TestService } from '../helpers/service.js';

const video = {
  codec: 'h264',
  bitrateKbps: 1000,
  width: 1280,
  height: 720,
  fps: 30,
  keyframeIntervalFrames: 60,
};
const nano = { protocol: 'nanostream', ingest: 'rtmp', streamName: 'ABCDE-XYZ12' };

describe('setting guidance through the API', () => {
  let svc: TestService;
  let f: FleetSetup;

  beforeAll(async () => {
    svc = await startService({ env: LOOPBACK_INGEST_ENV });
    f = await addFleet(svc, { 'osprey-talon': 3 });
    for (const [i, id] of f.ids.entries())
      await svc.request('PATCH', `/v1/devices/${id}`, { overrides: { target: { streamName: `DEV-${i}` } } });
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
  });

  const validate = (body: object) => svc.request('POST', '/v1/configs/validate', body);

  it('validate: a config following the recommendations is ok, with its traffic estimate', async () => {
    const res = await validate({
      config: { target: nano, video, audio: { codec: 'aac', bitrateKbps: 128 } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      strict: false,
      warnings: [],
      traffic: {
        devices: 1,
        devicesWithoutBitrate: 0,
        totalKbps: 1128,
        mbPerHour: 507.6,
        hours: 1,
        totalMb: 507.6,
      },
      devices: 0,
      problems: [],
      problemCount: 0,
    });
  });

  it('validate: structured warnings with field and recommended value; strict makes them not ok', async () => {
    const config = {
      target: { ...nano, ingest: 'srt' },
      video: { ...video, fps: 60, keyframeIntervalFrames: 600 },
    };
    const res = await validate({ config, strict: true });
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.warnings).toEqual([
      {
        code: 'frame_rate_high',
        field: 'video.fps',
        message: '60 fps: nanoStream recommends 25 or 30 fps for ultra-low latency, not 60',
        recommended: 30,
      },
      {
        code: 'keyframe_interval',
        field: 'video.keyframeIntervalFrames',
        message:
          'a keyframe every 600 frames is 10 s at 60 fps; nanoStream recommends about 2 s (50–60 frames at 25/30 fps)',
        recommended: 120,
      },
      {
        code: 'srt_on_request',
        field: 'target',
        message:
          'nanoStream Cloud takes SRT only where it was enabled on request; RTMP is the default ingest',
        recommended: 'rtmp',
      },
    ]);
    expect((await validate({ config })).body.ok).toBe(true);
  });

  it('validate for devices: each with its overrides; traffic totals all of them over the hours given', async () => {
    const res = await validate({
      config: { target: { protocol: 'nanostream', ingest: 'rtmp' }, video: { ...video, bitrateKbps: 500 } },
      selector: 'fleet=test',
      hours: 2,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: true,
      devices: 3,
      traffic: { devices: 3, totalKbps: 1500, mbPerHour: 675, hours: 2, totalMb: 1350 },
    });
    expect(res.body.warnings).toEqual([
      expect.objectContaining({ code: 'bitrate_low', recommended: 600, devices: 3, deviceIds: f.ids }),
    ]);
  });

  it('validate: a config that cannot resolve says why (and is not ok)', async () => {
    const res = await validate({ config: { target: { protocol: 'nanostream', ingest: 'srt' } } });
    expect(res.body).toMatchObject({
      ok: false,
      problems: [
        {
          field: 'config/target/streamName',
          reason: "is required (in the config or the device's overrides)",
        },
      ],
    });
  });

  it.each([
    [{ config: { target: nano }, profile: 'x' }, 'body/config'],
    [{}, 'body/config'],
    [{ config: { target: nano }, hours: 0 }, 'body/hours'],
    [{ config: { target: nano }, audience: 'martians' }, 'body/audience'],
    [{ config: { target: { ...nano, streamName: 'bad name' } } }, 'body/config/target/streamName'],
  ])('validate refuses %j with a 400 naming %s', async (body, field) => {
    const res = await validate(body);
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('apply jobs and dry runs carry the guidance for their devices', async () => {
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: {
        target: { protocol: 'nanostream', ingest: 'rtmp' },
        video: { ...video, fps: 50, keyframeIntervalFrames: 100 },
      },
      options: { dryRun: true },
    });
    expect(res.status).toBe(202);
    const expected = {
      strict: false,
      warnings: [expect.objectContaining({ code: 'frame_rate_high', recommended: 25, devices: 3 })],
      traffic: expect.objectContaining({ devices: 3, totalKbps: 3000, mbPerHour: 1350 }),
    };
    expect(res.body.guidance).toEqual(expected);
    const { job } = await finishedJob(svc, res.body.id);
    expect(job.guidance).toEqual(expected);
  });

  it('strict: warnings refuse the job with a 422 and nothing is created', async () => {
    const before = (await svc.request('GET', '/v1/jobs?limit=500')).body.items.length;
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: { target: nano, video: { ...video, fps: 60, keyframeIntervalFrames: 120 } },
      options: { strict: true },
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('setting_warnings');
    expect(res.body.details.warnings[0]).toMatchObject({ code: 'frame_rate_high', field: 'video.fps' });
    expect((await svc.request('GET', '/v1/jobs?limit=500')).body.items.length).toBe(before);
    // Without warnings, strict lets the job through.
    const ok = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: { target: { protocol: 'nanostream', ingest: 'rtmp' }, video },
      options: { strict: true, dryRun: true },
    });
    expect(ok.status).toBe(202);
  });

  it('device facts: upscaling from the capture signal; a resolution change while streaming', async () => {
    const [a, b] = f.ids as [string, string];
    (f.simOf.get(a) as TalonSim).inputSignal = '1280x720p30';
    const hd = { ...video, bitrateKbps: 2500, width: 1920, height: 1080 };
    // b streams at 1080p; a idles with a 720p capture.
    await svc.request('PUT', `/v1/devices/${b}/config`, { target: { ...nano, streamName: 'B' }, video: hd });
    await svc.request('POST', `/v1/devices/${b}/start`);
    await svc.request('GET', `/v1/devices/${a}/status?fresh=true`);
    // The start returns once the device is starting; the rule needs it seen streaming.
    await expect
      .poll(async () => (await svc.request('GET', `/v1/devices/${b}/status?fresh=true`)).body.stream)
      .toBe('streaming');

    const up = await validate({ config: { target: { protocol: 'nanostream' }, video: hd }, deviceIds: [a] });
    expect(up.body.warnings).toEqual([
      expect.objectContaining({
        code: 'upscaling',
        recommended: { width: 1280, height: 720 },
        deviceIds: [a],
      }),
    ]);
    const change = await validate({ config: { target: { protocol: 'nanostream' }, video }, deviceIds: [b] });
    expect(change.body.warnings).toEqual([
      expect.objectContaining({
        code: 'resolution_change_live',
        message:
          'the device is streaming at 1920x1080: changing the resolution during a stream interrupts viewers',
        recommended: { width: 1920, height: 1080 },
        deviceIds: [b],
      }),
    ]);
    await svc.request('POST', `/v1/devices/${b}/stop`);
  });
});

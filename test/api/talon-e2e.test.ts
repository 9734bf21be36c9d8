/**
 * End to end over real HTTP on loopback: the service's API drives a simulated Osprey Talon through
 * RTMP, SRT caller and WHIP configs, then start → streaming → stop. The simulator's own record
 * proves the device received exactly the intended settings.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { SimServer } from '../../drivers/sim/server.js';
import { startService, type TestService } from '../helpers/service.js';

describe('Talon end to end through the API', () => {
  let svc: TestService;
  let simServer: SimServer;
  let sim: TalonSim;
  let id: string;

  beforeAll(async () => {
    svc = await startService();
    simServer = new SimServer();
    sim = new TalonSim({ id: 'talon-e2e', password: 'T4lon-secret!', startDelayMs: 200 });
    const { host, port } = await simServer.listen(sim);
    const created = await svc.request('POST', '/v1/devices', {
      name: 'studio-a-talon',
      vendor: 'osprey-talon',
      host,
      port,
      credentials: { username: 'admin', password: 'T4lon-secret!' },
      labels: { site: 'berlin' },
    });
    expect(created.status).toBe(201);
    id = created.body.id;
  });

  afterAll(async () => {
    await svc.close();
    await simServer.close();
  });

  const channel = () => sim.snapshot().channels[0]!;

  it('applies an RTMP target and returns what the device reports', async () => {
    const res = await svc.request('PUT', `/v1/devices/${id}/config`, {
      target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12-RTMP' },
      video: {
        codec: 'h264',
        width: 1280,
        height: 720,
        fps: 30,
        bitrateKbps: 1500,
        keyframeIntervalFrames: 60,
      },
      audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000, channels: 2 },
    });
    expect(res.status).toBe(200);
    expect(res.body.result.state).toBe('succeeded');
    expect(res.body.config.target).toEqual({
      protocol: 'rtmp',
      url: 'rtmp://127.0.0.1:1935/live',
      streamKey: { set: true, last4: 'RTMP' },
    });
    expect(channel().output.upstream_protocol).toBe('RTMP');
    expect(channel().output.rtmp).toEqual({
      url: 'rtmp://127.0.0.1:1935/live',
      stream_key: 'ABCDE-XYZ12-RTMP',
    });
    expect(channel().video).toEqual({
      codec: 'H.264',
      resolution: '1280x720',
      frame_rate: 30,
      bitrate_kbps: 1500,
      gop_length: 60,
    });
  });

  it('switches to SRT caller on port 5000 with a stream id (defaults filled in)', async () => {
    const res = await svc.request('PUT', `/v1/devices/${id}/config`, {
      target: { protocol: 'srt', host: '127.0.0.1', streamId: 'push:ABCDE-XYZ12' },
    });
    expect(res.status).toBe(200);
    expect(channel().output.upstream_protocol).toBe('TS_OVER_SRT');
    expect(channel().output.srt).toEqual({
      mode: 'CALLER',
      destination_address: '127.0.0.1',
      port: 5000,
      stream_id: 'push%3AABCDE-XYZ12',
      latency_ms: 500,
      encryption: 'NONE',
      passphrase: '',
    });
  });

  it('switches to WHIP', async () => {
    const res = await svc.request('PUT', `/v1/devices/${id}/config`, {
      target: {
        protocol: 'whip',
        url: 'https://127.0.0.1:8443/whip/endpoint',
        bearerToken: 'whip-token-0123456789',
      },
    });
    expect(res.status).toBe(200);
    expect(channel().output.upstream_protocol).toBe('WHIP');
    expect(channel().output.whip).toEqual({
      endpoint: 'https://127.0.0.1:8443/whip/endpoint',
      bearer_token: 'whip-token-0123456789',
    });
  });

  it('starts, shows streaming, stops', async () => {
    const started = await svc.request('POST', `/v1/devices/${id}/start`);
    expect(started.status).toBe(200);
    expect(started.body.result.state).toBe('succeeded');
    let status: { stream: string; bitrateKbps?: number } = { stream: 'unknown' };
    for (let i = 0; i < 40 && status.stream !== 'streaming'; i++) {
      await sleep(50);
      status = (await svc.request('GET', `/v1/devices/${id}/status?fresh=true`)).body;
    }
    expect(status.stream).toBe('streaming');
    expect(status.bitrateKbps).toBeGreaterThan(0);
    const stopped = await svc.request('POST', `/v1/devices/${id}/stop`);
    expect(stopped.status).toBe(200);
    expect(sim.count('start')).toBe(1);
    expect(sim.count('stop')).toBe(1);
    // Three applies, three writes: nothing written twice.
    expect(sim.count('config')).toBe(3);
  });

  it('starting an already streaming device is a no-op that says so', async () => {
    await svc.request('POST', `/v1/devices/${id}/start`);
    await sleep(300);
    const again = await svc.request('POST', `/v1/devices/${id}/start`);
    expect(again.body.result.state).toBe('unchanged');
    expect(sim.count('start')).toBe(2);
  });
});

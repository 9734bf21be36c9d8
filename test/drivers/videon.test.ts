/**
 * The Videon simulator's wire quirks (raw HTTP on loopback) and the driver's behaviour against them:
 * whole-object PUTs, read-only fields refused, string audio bitrate, both service.data forms, list
 * vs detail shapes, 201 on create, Basic auth, protocol switching and the write faults.
 */
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeviceAuthError,
  DeviceRejectedError,
  DeviceUnreachableError,
  type EncoderConfig,
  type EncoderDriver,
  UnsupportedConfigError,
} from '../../drivers/contract.js';
import { SimServer } from '../../drivers/sim/server.js';
import { videon } from '../../drivers/videon/driver.js';
import { SLOTS, VideonSim, type VideonSimOptions } from '../../drivers/videon/simulator.js';
import { parseServiceData } from '../../drivers/videon/wire.js';

const RTMP: EncoderConfig = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12' },
};
const SRT: EncoderConfig = {
  target: { protocol: 'srt', host: '127.0.0.1', port: 5000, mode: 'caller', latencyMs: 500 },
};

let server: SimServer | undefined;
const drivers: EncoderDriver[] = [];
/** Raw clients; closed before the server, which waits for its keep-alive sockets to end. */
const pools: Pool[] = [];

afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await server?.close();
  server = undefined;
});

async function setup(opts: Partial<VideonSimOptions> = {}, password?: string) {
  server = new SimServer();
  const sim = new VideonSim({ id: 'videon-1', startDelayMs: 30, rebootMs: 200, ...opts });
  const address = await server.listen(sim);
  const driver = videon.create({
    endpoint: {
      id: sim.id,
      vendor: 'videon',
      host: address.host,
      port: address.port,
      ...(password ? { credentials: { username: 'admin', password } } : {}),
    },
    timeoutMs: 1000,
  });
  drivers.push(driver);
  const pool = new Pool(`http://${address.host}:${address.port}`);
  pools.push(pool);
  const http = async (method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown) => {
    const res = await pool.request({
      method,
      path,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, text, json: json as Record<string, unknown> };
  };
  return { sim, driver, http };
}

/** The GET body of an object, turned into what a correct PUT sends. */
function writable(obj: Record<string, unknown>, idKey: string): Record<string, unknown> {
  const copy = structuredClone(obj);
  delete copy[idKey];
  const strip = (v: unknown) => {
    if (v && typeof v === 'object') {
      delete (v as Record<string, unknown>).status;
      delete (v as Record<string, unknown>).seconds_in_status;
      Object.values(v).forEach(strip);
    }
  };
  strip(copy);
  return copy;
}

describe('VideonSim wire quirks', () => {
  it('lists output_type as a string, details it as {value, <type>: {…}}', async () => {
    const { http } = await setup();
    const list = await http('GET', '/v2/out_streams/'); // trailing slash accepted
    expect(list.json.out_streams).toContainEqual({ out_stream_id: SLOTS.rtmp, output_type: 'rtmp' });
    const detail = await http('GET', `/v2/out_streams/${SLOTS.rtmp}`);
    expect(detail.json).toMatchObject({ output_type: { value: 'rtmp', rtmp: { status: 'STREAM_STOPPED' } } });
  });

  it('refuses read-only fields and partial objects on PUT, with a reason', async () => {
    const { http } = await setup();
    const got = (await http('GET', '/v2/encoders/aud_encoders/1')).json;
    const withStatus = await http('PUT', '/v2/encoders/aud_encoders/1', {
      ...writable(got, 'aud_encoder_id'),
      status: 'x',
    });
    expect(withStatus).toMatchObject({ status: 400, text: 'status is read-only' });
    const withId = await http('PUT', '/v2/encoders/aud_encoders/1', got);
    expect(withId.status).toBe(400);
    const partial = await http('PUT', '/v2/encoders/aud_encoders/1', { bitrate: { value: '96' } });
    expect(partial.text).toContain('PUT takes the whole object');
  });

  it('takes the audio bitrate only as a string, the video bitrate as a number', async () => {
    const { http, sim } = await setup();
    const aud = writable((await http('GET', '/v2/encoders/aud_encoders/1')).json, 'aud_encoder_id');
    const asNumber = await http('PUT', '/v2/encoders/aud_encoders/1', { ...aud, bitrate: { value: 96 } });
    expect(asNumber).toMatchObject({ status: 400, text: 'bitrate.value: must be a string' });
    const asString = await http('PUT', '/v2/encoders/aud_encoders/1', { ...aud, bitrate: { value: '96' } });
    expect(asString.status).toBe(200);
    expect(sim.snapshot().aud.bitrate.value).toBe('96');
    const vid = writable((await http('GET', '/v2/encoders/vid_encoders/1')).json, 'vid_encoder_id');
    const badEnum = await http('PUT', '/v2/encoders/vid_encoders/1', {
      ...vid,
      scaling_resolution: { value: 'RES_4K' },
    });
    expect(badEnum.status).toBe(400);
    expect(badEnum.text).toContain('scaling_resolution.value');
  });

  it("accepts service.data in the vendor sample's single-quoted form and in JSON, and refuses junk", async () => {
    const { http, sim } = await setup();
    const os = writable((await http('GET', `/v2/out_streams/${SLOTS.rtmp}`)).json, 'out_stream_id');
    const withData = (data: string) => ({
      ...os,
      output_type: { value: 'rtmp', rtmp: { service: { value: 'generic_rtmp', data } } },
    });
    const quoted = await http('PUT', `/v2/out_streams/${SLOTS.rtmp}`, withData("{'url': 'rtmp://h/app/k1'}"));
    expect(quoted.status).toBe(200);
    const json = await http('PUT', `/v2/out_streams/${SLOTS.rtmp}`, withData('{"url": "rtmp://h/app/k2"}'));
    expect(json.status).toBe(200);
    const rtmp = sim.snapshot().outStreams[SLOTS.rtmp]!.output_type.rtmp!;
    expect(parseServiceData(rtmp.service.data)).toEqual({ url: 'rtmp://h/app/k2' });
    const junk = await http('PUT', `/v2/out_streams/${SLOTS.rtmp}`, withData('url=rtmp://h/app/k3'));
    expect(junk).toMatchObject({
      status: 400,
      text: 'output_type.rtmp.service.data: not a valid JSON object',
    });
  });

  it('creates an encoder with 201 {"id": n}', async () => {
    const { http } = await setup();
    const created = await http('POST', '/v2/encoders/vid_encoders');
    expect(created).toMatchObject({ status: 201, json: { id: 2 } });
    expect((await http('GET', '/v2/encoders')).json.vid_encoders).toEqual([
      { vid_encoder_id: 1 },
      { vid_encoder_id: 2 },
    ]);
  });

  it('serves the older /v2/system shape when asked, and the driver reads both', async () => {
    for (const systemShape of ['legacy', 'current'] as const) {
      const { http, driver } = await setup({ systemShape });
      const system = (await http('GET', '/v2/system')).json;
      expect('xml' in system).toBe(systemShape === 'legacy');
      expect((await driver.getInfo()).firmware).toBe('10.3.0');
      await Promise.all([driver, ...drivers.splice(0)].map((d) => d.close()));
      await Promise.all(pools.splice(0).map((p) => p.close()));
      await server?.close();
      server = undefined;
    }
  });
});

describe('Videon driver against the simulator', () => {
  it('sends Basic credentials; a wrong password is a DeviceAuthError', async () => {
    const { sim, driver } = await setup({ requireAuth: true, password: 'right-pw' }, 'right-pw');
    await expect(driver.getStatus()).resolves.toEqual({ state: 'idle' });
    sim.password = 'changed';
    await expect(driver.getStatus()).rejects.toBeInstanceOf(DeviceAuthError);
    expect(sim.count('login-refused')).toBe(1);
  });

  it('switching RTMP → SRT while live empties the RTMP slot and keeps streaming on SRT', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(RTMP);
    await driver.start();
    const result = await driver.applyConfig(SRT);
    expect(result.deviations).toEqual([]);
    const { outStreams } = sim.snapshot();
    expect(outStreams[SLOTS.rtmp]!.enable).toBe(false);
    expect(parseServiceData(outStreams[SLOTS.rtmp]!.output_type.rtmp!.service.data)).toEqual({ url: '' });
    expect(outStreams[SLOTS.srt[0]]!.enable).toBe(true);
    expect(sim.effects.map((e) => e.kind)).toEqual(['config', 'start', 'config', 'stop', 'config', 'start']);
    expect((await driver.getConfig()).target).toEqual(SRT.target);
  });

  it('starting with no destination configured is refused by the device', async () => {
    const { driver } = await setup();
    const err = await driver.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceRejectedError);
    expect((err as DeviceRejectedError).deviceMessage).toContain('no destination');
  });

  it('a frame rate or sample rate is refused before any request (output follows the input)', async () => {
    const { sim, driver } = await setup();
    const before = sim.requestCount;
    await expect(
      driver.applyConfig({ ...RTMP, video: { codec: 'h264', bitrateKbps: 2000, fps: 30 } }),
    ).rejects.toBeInstanceOf(UnsupportedConfigError);
    await expect(
      driver.applyConfig({ ...RTMP, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000 } }),
    ).rejects.toBeInstanceOf(UnsupportedConfigError);
    expect(sim.requestCount).toBe(before);
  });

  it('a write the device ignores shows up as deviations', async () => {
    const { sim, driver } = await setup({ faults: { ignoreWrites: true } });
    const result = await driver.applyConfig({ ...RTMP, audio: { codec: 'aac', bitrateKbps: 96 } });
    expect(result.changes.map((c) => c.path)).toEqual(['target', 'audio.bitrateKbps']);
    expect(result.deviations.map((c) => c.path)).toEqual(['target', 'audio.bitrateKbps']);
    expect(sim.snapshot().aud.bitrate.value).toBe('128');
  });

  it('a device rebooting during a write → retryable DeviceUnreachableError, first object written', async () => {
    const { sim, driver } = await setup({ faults: { rebootOnNextWrite: true } });
    const err = await driver.applyConfig(RTMP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect((err as DeviceUnreachableError).retryable).toBe(true);
    expect(sim.effects.map((e) => e.kind)).toEqual(['config', 'reboot']);
  });

  it('stop stops every managed slot that is on', async () => {
    const { sim, http, driver } = await setup();
    await driver.applyConfig(SRT);
    await driver.start();
    // Someone also turned the RTMP slot on by hand.
    const os = writable((await http('GET', `/v2/out_streams/${SLOTS.rtmp}`)).json, 'out_stream_id');
    const rtmp = {
      value: 'rtmp',
      rtmp: { service: { value: 'generic_rtmp', data: '{"url": "rtmp://h/a/k"}' } },
    };
    expect(
      (await http('PUT', `/v2/out_streams/${SLOTS.rtmp}`, { ...os, enable: true, output_type: rtmp })).status,
    ).toBe(200);
    await driver.stop();
    const { outStreams } = sim.snapshot();
    expect(outStreams[SLOTS.rtmp]!.enable).toBe(false);
    expect(outStreams[SLOTS.srt[0]]!.enable).toBe(false);
    expect(sim.count('stop')).toBe(2);
  });
});

/**
 * The Teradek VidiU driver against its simulator over real HTTP on loopback: the session cookie, the
 * sentinel bodies, session expiry, the provisional set/apply exchange under write faults, and the
 * transport faults. Each test checks the typed error or value the caller gets, and what the
 * simulated device saw.
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeviceAuthError,
  DeviceProtocolError,
  DeviceRejectedError,
  DeviceTimeoutError,
  DeviceUnreachableError,
  type EncoderConfig,
  type EncoderDriver,
  UnsupportedConfigError,
} from '../../drivers/contract.js';
import type { SimDeviceOptions } from '../../drivers/sim/device.js';
import { SimServer } from '../../drivers/sim/server.js';
import { teradekVidiu } from '../../drivers/teradek/vidiu/driver.js';
import { VidiuSim } from '../../drivers/teradek/vidiu/simulator.js';
import { KEYS } from '../../drivers/teradek/vidiu/wire.js';

const RTMP: EncoderConfig = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12-77QQ' },
};
const AV: EncoderConfig = {
  ...RTMP,
  video: { codec: 'h264', bitrateKbps: 2500, width: 1280, height: 720, fps: 25, keyframeIntervalFrames: 50 },
  audio: { codec: 'aac', bitrateKbps: 96, sampleRate: 44100, channels: 2 },
};

let server: SimServer | undefined;
const drivers: EncoderDriver[] = [];

afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
  await server?.close();
  server = undefined;
});

async function setup(
  opts: Partial<SimDeviceOptions> = {},
  driverOpts: { timeoutMs?: number; password?: string; checkAddress?: (a: string) => void } = {},
) {
  server = new SimServer();
  const sim = new VidiuSim({ id: 'vidiu-1', startDelayMs: 30, ...opts });
  const address = await server.listen(sim);
  const driver = teradekVidiu.create({
    endpoint: {
      id: sim.id,
      vendor: 'teradek-vidiu',
      host: address.host,
      port: address.port,
      ...(driverOpts.password ? { credentials: { username: 'admin', password: driverOpts.password } } : {}),
    },
    timeoutMs: driverOpts.timeoutMs ?? 1000,
    ...(driverOpts.checkAddress ? { checkAddress: driverOpts.checkAddress } : {}),
  });
  drivers.push(driver);
  return { sim, driver };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('teradek-vidiu driver: session', () => {
  it('logs in with the form; the serenity-session cookie it was given opens system.cgi', async () => {
    const { sim, driver } = await setup();
    await driver.getStatus();
    const [login, status] = sim.requestLog;
    expect(login).toMatchObject({ method: 'POST', path: '/cgi-bin/api.cgi' });
    expect(Object.fromEntries(new URLSearchParams(login!.body))).toEqual({
      command: 'login',
      user: 'admin',
      passwd: 'admin',
    });
    expect(status).toMatchObject({ method: 'GET', path: '/cgi-bin/system.cgi', query: 'command=status' });
    expect(sim.count('login')).toBe(1);
  });

  it('wrong password → DeviceAuthError without the password in it; one attempt only', async () => {
    const { sim, driver } = await setup({ password: 'secret-pw-1' });
    const err = await driver.getConfig().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceAuthError);
    expect((err as DeviceAuthError).retryable).toBe(false);
    expect((err as Error).message).not.toContain('admin');
    expect(sim.count('login-refused')).toBe(1);
  });

  it('session expiry (##Access denied# with HTTP 200) → one re-login, call succeeds', async () => {
    const { sim, driver } = await setup({ faults: { sessionTtlMs: 80 } });
    await driver.getStatus();
    await sleep(120);
    expect((await driver.getStatus()).state).toBe('idle');
    expect(sim.count('login')).toBe(2);
  });
});

describe('teradek-vidiu driver: config (provisional set/apply)', () => {
  it('writes one set form and one apply; the stream key never travels in a URL', async () => {
    const { sim, driver } = await setup();
    const result = await driver.applyConfig(AV);
    expect(result.deviations).toEqual([]);
    const writes = sim.requestLog.filter((r) => r.method === 'POST' && !r.body.includes('command=login'));
    expect(writes.map((w) => new URLSearchParams(w.body).get('command'))).toEqual(['set', 'apply']);
    expect(sim.requestLog.every((r) => !r.query.includes('ABCDE'))).toBe(true);
    expect(sim.snapshot().settings[KEYS.videoGop]).toBe('50');
    // Secrets in the change list are masked.
    expect(JSON.stringify(result.changes)).not.toContain('ABCDE-XYZ12-77QQ');
  });

  it('a value the device refuses → DeviceRejectedError with its words; nothing staged or applied', async () => {
    const { sim, driver } = await setup();
    // 100 kbps is within the family range but not on this unit's audio menu.
    const err = await driver
      .applyConfig({ ...RTMP, audio: { codec: 'aac', bitrateKbps: 100 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceRejectedError);
    expect((err as DeviceRejectedError).deviceMessage).toMatch(/^Invalid value for Encoder\.Audio\.bitrate/);
    expect(sim.snapshot().pending).toEqual({});
    expect(sim.count('config')).toBe(0);
  });

  it('unsupported target or codec → UnsupportedConfigError before any request', async () => {
    const { sim, driver } = await setup();
    await expect(
      driver.applyConfig({
        target: { protocol: 'srt', host: '127.0.0.1', port: 5000, mode: 'caller', latencyMs: 500 },
      }),
    ).rejects.toBeInstanceOf(UnsupportedConfigError);
    await expect(
      driver.applyConfig({ ...RTMP, video: { codec: 'h265', bitrateKbps: 2000 } }),
    ).rejects.toBeInstanceOf(UnsupportedConfigError);
    expect(sim.requestCount).toBe(0);
  });

  it('a unit that ignores writes shows up as deviations, not as success', async () => {
    const { driver } = await setup({ faults: { ignoreWrites: true } });
    const result = await driver.applyConfig(RTMP);
    expect(result.changes.length).toBeGreaterThan(0);
    expect(result.deviations.map((d) => d.path)).toEqual(['target']);
  });

  it('reboot part-way through apply → DeviceUnreachableError; the next converge finishes the job', async () => {
    const { sim, driver } = await setup({ rebootMs: 150, faults: { rebootOnNextWrite: true } });
    const err = await driver.applyConfig(AV).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect(sim.snapshot().settings[KEYS.rtmpUrl]).toBe('rtmp://127.0.0.1:1935/live'); // first half applied
    expect(sim.snapshot().settings[KEYS.audioChannels]).toBe('2');
    await sleep(200);
    const again = await driver.applyConfig(AV);
    expect(again.deviations).toEqual([]);
    expect(again.changes.map((c) => c.path)).not.toContain('target');
    expect(sim.count('login')).toBe(2); // the reboot dropped the session
  });
});

describe('teradek-vidiu driver: status and broadcast', () => {
  it('live: bitrate from the JSON-in-string Codec.Status, input from Video-Input', async () => {
    const { sim, driver } = await setup();
    sim.videoInput = 'HDMI:720p59.94';
    await driver.applyConfig(AV);
    await driver.start();
    await sleep(60);
    const status = await driver.getStatus();
    expect(status.state).toBe('streaming');
    expect(status.bitrateKbps).toBeGreaterThan(2400);
    expect(status.bitrateKbps).toBeLessThan(2700);
    expect(status.input).toEqual({ width: 1280, height: 720, fps: 59.94 });
  });

  it('Broadcast-Error other than none → error with the device words', async () => {
    const { sim, driver } = await setup();
    sim.broadcastError = 'RTMP server refused the connection';
    expect(await driver.getStatus()).toMatchObject({
      state: 'error',
      lastError: 'RTMP server refused the connection',
    });
  });

  it('start with no destination → DeviceRejectedError carrying the device message', async () => {
    const { sim, driver } = await setup();
    const err = await driver.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceRejectedError);
    expect((err as Error).message).toContain('No RTMP destination configured');
    expect(sim.count('start')).toBe(0);
  });

  it('reboot is refused as unsupported without contacting the device', async () => {
    const { sim, driver } = await setup();
    const err = await driver.reboot().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedConfigError);
    expect((err as UnsupportedConfigError).problems[0]?.field).toBe('reboot');
    expect(sim.requestCount).toBe(0);
  });
});

describe('teradek-vidiu driver: transport faults', () => {
  it('nothing listening → DeviceUnreachableError (retryable)', async () => {
    const port = await freePort();
    const driver = teradekVidiu.create({
      endpoint: { id: 'gone', vendor: 'teradek-vidiu', host: '127.0.0.1', port },
      timeoutMs: 500,
    });
    drivers.push(driver);
    const err = await driver.getStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect((err as DeviceUnreachableError).retryable).toBe(true);
  });

  it('no answer → DeviceTimeoutError after timeoutMs', async () => {
    const { driver } = await setup({ faults: { timeoutRate: 1 } }, { timeoutMs: 200 });
    const started = Date.now();
    await expect(driver.getStatus()).rejects.toBeInstanceOf(DeviceTimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('garbled replies → DeviceProtocolError', async () => {
    const { sim, driver } = await setup();
    await driver.login();
    sim.setFaults({ malformedRate: 1 });
    await expect(driver.getStatus()).rejects.toBeInstanceOf(DeviceProtocolError);
    await expect(driver.getInfo()).rejects.toBeInstanceOf(DeviceProtocolError);
  });

  it('HTTP 500 → retryable DeviceRejectedError', async () => {
    const { driver } = await setup({ faults: { errorRate: 1 } });
    const err = await driver.getStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceRejectedError);
    expect((err as DeviceRejectedError).retryable).toBe(true);
  });

  it('the SSRF guard is consulted before connecting', async () => {
    const { sim, driver } = await setup(
      {},
      {
        checkAddress: (a) => {
          throw new Error(`address ${a} refused`);
        },
      },
    );
    await expect(driver.getStatus()).rejects.toBeInstanceOf(DeviceUnreachableError);
    expect(sim.requestCount).toBe(0);
  });

  it('an aborted signal stops the call with its reason', async () => {
    const { driver } = await setup({ faults: { latencyMs: 500 } });
    const controller = new AbortController();
    const pending = driver.getStatus({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled by job')), 20);
    await expect(pending).rejects.toThrow('cancelled by job');
  });
});

describe('VidiuSim quirks', () => {
  it('answers without a session with ##Access denied# and HTTP 200; HTTP Basic works on json.cgi only', async () => {
    server = new SimServer();
    const sim = new VidiuSim({ id: 'vidiu-raw' });
    const { host, port } = await server.listen(sim);
    const pool = new Pool(`http://${host}:${port}`);
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await pool.request({ method: 'GET', path, headers });
      return { status: res.statusCode, text: await res.body.text() };
    };
    try {
      expect(await get('/cgi-bin/system.cgi?command=status')).toEqual({
        status: 200,
        text: '##Access denied#',
      });
      const basic = { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` };
      const info = await get('/cgi-bin/json.cgi?command=geti&q=System.Info.Product', basic);
      expect(JSON.parse(info.text)).toMatchObject({
        System: { Info: { Product: { productname: 'VidiU Pro' } } },
      });
      expect((await get('/cgi-bin/system.cgi?command=status', basic)).text).toBe('##Access denied#');
    } finally {
      await pool.close();
    }
  });
});

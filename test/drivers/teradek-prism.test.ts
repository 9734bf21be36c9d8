/**
 * Failure behaviour of the Teradek Prism driver against its simulator over real MQTT-over-WebSocket on
 * loopback (undici's MockAgent cannot intercept MQTT). Each test sets one fault and checks the typed
 * error the caller gets, and what the simulated device saw.
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  DeviceAuthError,
  type DeviceEndpoint,
  DeviceProtocolError,
  DeviceRejectedError,
  DeviceTimeoutError,
  DeviceUnreachableError,
  type EncoderConfig,
  type EncoderDriver,
} from '../../drivers/contract.js';
import type { SimDeviceOptions } from '../../drivers/sim/device.js';
import { SimServer } from '../../drivers/sim/server.js';
import { teradekPrism } from '../../drivers/teradek/prism/driver.js';
import { PrismSim } from '../../drivers/teradek/prism/simulator.js';

const RTMP: EncoderConfig = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'ABCDE-XYZ12' },
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
  const sim = new PrismSim({ id: 'prism-1', startDelayMs: 30, rebootMs: 200, ...opts });
  const address = await server.listen(sim);
  const driver = open(
    { id: sim.id, vendor: 'teradek-prism', host: address.host, port: address.port },
    driverOpts,
  );
  return { sim, driver, address };
}

function open(
  endpoint: DeviceEndpoint,
  opts: { timeoutMs?: number; password?: string; checkAddress?: (a: string) => void } = {},
): EncoderDriver {
  const driver = teradekPrism.create({
    endpoint: opts.password
      ? { ...endpoint, credentials: { username: 'admin', password: opts.password } }
      : endpoint,
    timeoutMs: opts.timeoutMs ?? 1000,
    ...(opts.checkAddress ? { checkAddress: opts.checkAddress } : {}),
  });
  drivers.push(driver);
  return driver;
}

async function until(check: () => boolean | Promise<boolean>, withinMs = 2000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('teradek-prism driver: failures', () => {
  it('broker refuses the credentials → DeviceAuthError, and no reconnect loop', async () => {
    const { sim, driver } = await setup({}, { password: 'wrong' });
    const err = await driver.getStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceAuthError);
    expect((err as DeviceAuthError).retryable).toBe(false);
    expect((err as DeviceAuthError).deviceId).toBe('prism-1');
    expect((err as Error).message).not.toContain('wrong'); // the password never shows
    await sleep(300);
    expect(sim.count('login-refused')).toBe(1);
    expect(sim.connections).toBe(0);
  });

  it('nothing listening → DeviceUnreachableError', async () => {
    const port = await freePort();
    const driver = open({ id: 'gone', vendor: 'teradek-prism', host: '127.0.0.1', port });
    const err = await driver.getInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect((err as DeviceUnreachableError).retryable).toBe(true);
  });

  it('connection dropped mid-command → DeviceUnreachableError; the next call reconnects', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(RTMP);
    sim.setFaults({ resetRate: 1 });
    const err = await driver.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect(sim.requestLog.at(-1)?.path).toMatch(/^Session\/0\/Stream\/0\/publish\/\d{13}$/);
    expect(sim.count('start')).toBe(0);

    sim.setFaults({ resetRate: 0 });
    expect((await driver.getStatus()).state).toBe('idle');
    expect(sim.count('login')).toBe(2);
  });

  it('reply never comes → DeviceTimeoutError after timeoutMs', async () => {
    const { sim, driver } = await setup({}, { timeoutMs: 250 });
    await driver.applyConfig(RTMP);
    sim.setFaults({ timeoutRate: 1 });
    const started = Date.now();
    const err = await driver.start().catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect((err as Error).message).toContain('Session/0/Stream/0/publish');
    expect(took).toBeGreaterThanOrEqual(240);
    expect(took).toBeLessThan(1000);
  });

  it('CONNACK never comes → DeviceTimeoutError', async () => {
    const { driver } = await setup({ faults: { timeoutRate: 1 } }, { timeoutMs: 200 });
    await expect(driver.login()).rejects.toBeInstanceOf(DeviceTimeoutError);
  });

  it('error reply → DeviceRejectedError with the device message', async () => {
    const { sim, driver } = await setup();
    // A factory unit has RTMP selected but nothing filled in: the device refuses to go live.
    const err = await driver.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceRejectedError);
    expect((err as DeviceRejectedError).deviceMessage).toBe('RTMP URL and stream key are required');
    expect((err as DeviceRejectedError).retryable).toBe(false);

    sim.setFaults({ errorRate: 1 });
    const err2 = await driver.applyConfig(RTMP).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(DeviceRejectedError);
    expect((err2 as DeviceRejectedError).deviceMessage).toBe('Internal error');
    expect(sim.count('config')).toBe(0);
  });

  it('malformed retained payload → DeviceProtocolError', async () => {
    const { driver } = await setup({ faults: { malformedRate: 1 } });
    const err = await driver.getStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceProtocolError);
    expect((err as DeviceProtocolError).retryable).toBe(true);
    expect((err as Error).message).toContain('Session/0/Stream/0/Info');
  });

  it('retained payload of the wrong shape → DeviceProtocolError', async () => {
    const { sim, driver } = await setup();
    sim.productName = ''; // valid JSON, but `name` must not be empty
    const err = await driver.getInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceProtocolError);
    expect((err as Error).message).toMatch(/System\/Product.*\/name/);
  });

  it('malformed command reply → DeviceProtocolError', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(RTMP);
    sim.setFaults({ malformedRate: 1 });
    await expect(driver.start()).rejects.toBeInstanceOf(DeviceProtocolError);
  });

  it('reconnects after a reboot, with state Ready and the settings kept', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(RTMP);
    await driver.start();
    await until(async () => (await driver.getStatus()).state === 'streaming');

    sim.reboot();
    // The cut reaches the client a moment later; from then on no stale state may be served.
    let during: unknown;
    await until(async () => {
      during = await driver.getStatus().then(
        () => undefined,
        (e: unknown) => e,
      );
      return during !== undefined;
    }, 500);
    expect(during).toBeInstanceOf(DeviceUnreachableError);

    await until(() => sim.online);
    expect(await driver.getStatus()).toMatchObject({ state: 'idle' });
    expect((await driver.getConfig()).target).toEqual(RTMP.target);
    // mqtt's own reconnect loop is off: one login per call that needed a session, none in between.
    const logins = sim.count('login');
    await sleep(200);
    expect(sim.count('login')).toBe(logins);
  });

  it('right after reboot() no state from before the restart is served', async () => {
    const { sim, driver } = await setup({ rebootMs: 1000 });
    await driver.login();
    await driver.reboot();
    await expect(driver.getStatus()).rejects.toBeInstanceOf(DeviceUnreachableError);
    expect(sim.count('reboot')).toBe(1);
  });

  it('an expired session (device disconnects the client) is reopened transparently', async () => {
    const { sim, driver } = await setup({ faults: { sessionTtlMs: 100 } });
    await driver.login();
    await until(() => sim.connections === 0);
    expect((await driver.getStatus()).state).toBe('idle');
    expect(sim.count('login')).toBe(2);
  });

  it('an aborted signal stops the wait for a reply with its reason', async () => {
    const { sim, driver } = await setup({}, { timeoutMs: 5000 });
    await driver.applyConfig(RTMP);
    sim.setFaults({ timeoutRate: 1 });
    const controller = new AbortController();
    const reason = new Error('operator cancelled');
    setTimeout(() => controller.abort(reason), 50);
    const started = Date.now();
    await expect(driver.start({ signal: controller.signal })).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an aborted signal stops the wait for a session, and a pre-aborted one sends nothing', async () => {
    const { sim, driver } = await setup({ faults: { timeoutRate: 1 } }, { timeoutMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await driver.getStatus({ signal: controller.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');

    const before = sim.requestCount;
    await expect(driver.stop({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(sim.requestCount).toBe(before);
  });

  it('a write the device ignores shows up as deviations', async () => {
    const { sim, driver } = await setup({ faults: { ignoreWrites: true } });
    const result = await driver.applyConfig(RTMP);
    expect(result.changes.map((c) => c.path)).toEqual(['target']);
    expect(result.deviations.map((c) => c.path)).toEqual(['target']);
    expect(sim.snapshot().settings.rtmp.url).toBe('');
  });

  it('a device rebooting part-way through a write → DeviceUnreachableError, half applied', async () => {
    const { sim, driver } = await setup({ faults: { rebootOnNextWrite: true } });
    await expect(driver.applyConfig(RTMP)).rejects.toBeInstanceOf(DeviceUnreachableError);
    expect(sim.effects.map((e) => e.kind)).toEqual(['login', 'config', 'reboot']);
    const { rtmp } = sim.snapshot().settings;
    expect(rtmp.url).toBe('rtmp://127.0.0.1:1935/live'); // 3 of the 5 fields made it
    expect(rtmp.stream).toBe('ABCDE-XYZ12');
  });

  it('checkAddress is asked before connecting, and its refusal stops the call', async () => {
    const seen: string[] = [];
    const { sim, driver } = await setup(
      {},
      {
        checkAddress: (a) => {
          seen.push(a);
          throw new Error(`${a} is not an allowed device address`);
        },
      },
    );
    const err = await driver.getStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect((err as Error).message).toContain('not an allowed device address');
    expect(seen).toEqual(['127.0.0.1']);
    expect(sim.requestCount).toBe(0);
  });

  it('checkAddress is asked for every address a host name resolves to', async () => {
    const { sim, address } = await setup();
    const seen: string[] = [];
    const driver = open(
      { id: sim.id, vendor: 'teradek-prism', host: 'localhost', port: address.port },
      {
        checkAddress: (a) => {
          seen.push(a);
          throw new Error(`${a} is not an allowed device address`);
        },
      },
    );
    const err = await driver.getStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnreachableError);
    expect((err as Error).message).toContain('not an allowed device address');
    expect(seen.length).toBeGreaterThan(0);
    expect(sim.requestCount).toBe(0);
  });
});

describe('teradek-prism driver: status over pushed state', () => {
  it('reports live bitrate in kbps (the device pushes bps), uptime and input', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig({ ...RTMP, video: { codec: 'h264', bitrateKbps: 2500 } });
    expect(sim.snapshot().settings.video.bitrate).toBe(2_500_000);
    await driver.start();
    // Live state and the first live counters are pushed on separate topics, one after the other.
    await until(async () => ((await driver.getStatus()).bitrateKbps ?? 0) > 0, 3000);
    const status = await driver.getStatus();
    expect(status.state).toBe('streaming');
    expect(status.bitrateKbps).toBeGreaterThan(2400);
    expect(status.bitrateKbps).toBeLessThan(2600);
    expect(status.uptimeSec).toBeGreaterThanOrEqual(0);
    expect(status.input).toEqual({ width: 1920, height: 1080, fps: 30 });
  });

  it('start on a live device and stop on an idle one send nothing', async () => {
    const { sim, driver } = await setup();
    const sent = (verb: string) =>
      sim.requestLog.filter((r) => r.path.startsWith(`Session/0/Stream/0/${verb}/`)).length;
    await driver.stop();
    expect(sent('unpublish')).toBe(0);
    await driver.applyConfig(RTMP);
    await driver.start();
    await until(async () => (await driver.getStatus()).state === 'streaming');
    await driver.start();
    expect(sent('publish')).toBe(1);
  });

  it('a failed stream reads as error with the device words; stop then start recovers', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(RTMP);
    await driver.start();
    await until(async () => (await driver.getStatus()).state === 'streaming');
    sim.failStream('Server rejected the stream key');
    await until(async () => (await driver.getStatus()).state === 'error');
    expect(await driver.getStatus()).toMatchObject({ lastError: 'Server rejected the stream key' });
    expect((await driver.getStatus()).bitrateKbps).toBeUndefined();
    await driver.start();
    await until(async () => (await driver.getStatus()).state === 'streaming');
    expect(await driver.getStatus()).not.toHaveProperty('lastError');
    expect(sim.count('start')).toBe(2);
  });

  it('a codec change moves the destination to the other codec mode key', async () => {
    const { sim, driver } = await setup();
    await driver.applyConfig(RTMP);
    const result = await driver.applyConfig({ ...RTMP, video: { codec: 'h265', bitrateKbps: 3000 } });
    expect(result.deviations).toEqual([]);
    expect(sim.snapshot().settings.modes['mode-hevc']).toBe('RTMP');
    expect(sim.requestLog.map((r) => r.path.replace(/\/\d+$/, '')).slice(-2)).toEqual([
      'Session/0/VideoEncoder/set',
      'Session/0/Stream/0/set',
    ]);
  });
});

describe('teradek-prism simulator', () => {
  it('serves MQTT only at /mqtt', async () => {
    const { address } = await setup();
    const ws = new WebSocket(`ws://${address.host}:${address.port}/other`, ['mqtt']);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve(undefined));
      ws.once('error', () => undefined);
    });
    ws.terminate();
    expect(status).toBe(404);
  });

  it('closes the connection of a client that publishes to a state topic', async () => {
    const { sim, address } = await setup();
    const client = await connectAsync(`ws://${address.host}:${address.port}/mqtt`, {
      username: 'admin',
      password: 'admin',
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('Session/0/Stream/0/Info', JSON.stringify({ State: 'Live' }), { retain: true });
    await closed;
    await client.endAsync(true);
    expect(sim.snapshot().state).toBe('Ready');
  });

  it('SimServer.close() also cuts the MQTT connections it handed over', async () => {
    const { driver } = await setup();
    await driver.login();
    const closed = await Promise.race([server!.close().then(() => true), sleep(1000).then(() => false)]);
    server = undefined;
    expect(closed).toBe(true);
    await expect(driver.getStatus()).rejects.toBeInstanceOf(DeviceUnreachableError);
  });

  it('serves 200 devices on one shared listener, each on its own loopback address', async () => {
    server = new SimServer();
    const port = await server.listenShared();
    const sims = Array.from({ length: 200 }, (_, i) => new PrismSim({ id: `prism-${i}` }));
    const fleet = sims.map((sim, i) => {
      sim.productName = `Prism ${i}`;
      const { host } = server!.attach(sim, `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
      return open({ id: sim.id, vendor: 'teradek-prism', host, port }, { timeoutMs: 10_000 });
    });
    const infos = await Promise.all(fleet.map((d) => d.getInfo()));
    expect(infos.map((info) => info.model)).toEqual(sims.map((s) => s.productName));
    expect(sims.every((s) => s.connections === 1 && s.count('login') === 1)).toBe(true);
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

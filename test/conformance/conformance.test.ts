/**
 * One conformance suite, run once per driver against its simulator over real loopback HTTP (or
 * MQTT over WebSocket). Adding a vendor = add a folder, register it, add a fixture, pass this suite.
 * At the end it prints a driver × check matrix.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DeviceAuthError,
  DeviceError,
  type EncoderDriver,
  PROTOCOLS,
  type StreamState,
  UnsupportedConfigError,
} from '../../drivers/contract.js';
import type { SimDevice } from '../../drivers/sim/device.js';
import { SimServer } from '../../drivers/sim/server.js';
import type { ConformanceFixture } from './fixture.js';
import { fixtures } from './fixtures.js';

const matrix = new Map<string, Map<string, 'pass' | 'FAIL'>>();

afterAll(() => {
  const checks = [...new Set([...matrix.values()].flatMap((m) => [...m.keys()]))];
  const vendors = [...matrix.keys()];
  const width = Math.max(...checks.map((c) => c.length));
  const lines = [`${'check'.padEnd(width)} | ${vendors.join(' | ')}`];
  for (const check of checks) {
    const cells = vendors.map((v) => (matrix.get(v)?.get(check) ?? '-').padEnd(v.length));
    lines.push(`${check.padEnd(width)} | ${cells.join(' | ')}`);
  }
  console.log(`\nConformance matrix (driver × check)\n${lines.join('\n')}\n`);
});

for (const fx of fixtures as ConformanceFixture[]) {
  const vendor = fx.module.vendor;
  const caps = fx.module.capabilities;

  describe(`conformance: ${vendor}`, () => {
    let server: SimServer;
    let sim: SimDevice;
    let driver: EncoderDriver;

    /** Registers `name` in the matrix and runs it as a test. */
    function check(name: string, body: () => Promise<void>) {
      it(name, async () => {
        const row = matrix.get(vendor) ?? new Map();
        matrix.set(vendor, row);
        row.set(name, 'FAIL');
        await body();
        row.set(name, 'pass');
      });
    }

    async function waitForState(want: StreamState, withinMs = 3000): Promise<void> {
      const deadline = Date.now() + withinMs;
      let last: StreamState | undefined;
      while (Date.now() < deadline) {
        last = (await driver.getStatus()).state;
        if (last === want) return;
        await sleep(25);
      }
      throw new Error(`device did not reach ${want} within ${withinMs} ms (last: ${last})`);
    }

    const anyTarget = () => Object.values(fx.targets)[0]!;

    beforeEach(async () => {
      server = new SimServer();
      sim = fx.createSim({ id: `conf-${vendor}`, startDelayMs: fx.startDelayMs ?? 50, rebootMs: 400 });
      const address = await (fx.serve ? fx.serve(server, sim) : server.listen(sim));
      driver = fx.module.create({
        endpoint: {
          id: sim.id,
          vendor,
          host: address.host,
          port: address.port,
          ...(fx.credentials ? { credentials: fx.credentials } : {}),
        },
        timeoutMs: 1500,
      });
    });

    afterEach(async () => {
      await driver.close();
      await server.close();
    });

    check('login: good credentials', async () => {
      await driver.login();
      await driver.getStatus();
    });

    check('login: wrong password → DeviceAuthError', async () => {
      sim.password = 'not-the-password';
      const err = await driver
        .login()
        .then(() => driver.getStatus())
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceAuthError);
      expect((err as DeviceError).deviceId).toBe(sim.id);
    });

    check('info: model reported', async () => {
      const info = await driver.getInfo();
      expect(info.model.length).toBeGreaterThan(0);
    });

    for (const protocol of PROTOCOLS) {
      const config = fx.targets[protocol];
      if (caps.targets.includes(protocol)) {
        check(`apply ${protocol} target, read back equal`, async () => {
          expect(config, `fixture must give a ${protocol} config`).toBeDefined();
          const result = await driver.applyConfig(config!);
          expect(result.deviations).toEqual([]);
          expect(result.changes.length).toBeGreaterThan(0);
          expect((await driver.getConfig()).target).toEqual(config!.target);
          fx.assertDeviceHas(sim, config!);
        });
      } else {
        check(`refuse ${protocol} before any write`, async () => {
          const before = sim.requestCount;
          const target =
            protocol === 'whip'
              ? { protocol, url: 'https://127.0.0.1/whip' }
              : protocol === 'srt'
                ? { protocol, host: '127.0.0.1', port: 5000, mode: 'caller' as const, latencyMs: 500 }
                : { protocol, url: 'rtmp://127.0.0.1/live', streamKey: 'k' };
          await expect(driver.applyConfig({ target } as never)).rejects.toBeInstanceOf(
            UnsupportedConfigError,
          );
          expect(sim.requestCount).toBe(before);
        });
      }
    }

    if (fx.av) {
      const av = fx.av;
      check('apply video + audio, read back equal', async () => {
        const result = await driver.applyConfig(av);
        expect(result.deviations).toEqual([]);
        const got = await driver.getConfig();
        expect(got.video).toMatchObject(av.video ?? {});
        expect(got.audio).toMatchObject(av.audio ?? {});
        fx.assertDeviceHas(sim, av);
      });
    } else {
      check('refuse video settings before any write', async () => {
        const before = sim.requestCount;
        await expect(
          driver.applyConfig({ ...anyTarget(), video: { codec: 'h264', bitrateKbps: 1000 } }),
        ).rejects.toBeInstanceOf(UnsupportedConfigError);
        expect(sim.requestCount).toBe(before);
      });
    }

    check('identical apply writes nothing', async () => {
      const config = fx.av ?? anyTarget();
      await driver.applyConfig(config);
      const writes = sim.count('config');
      const again = await driver.applyConfig(config);
      expect(again.changes).toEqual([]);
      expect(sim.count('config')).toBe(writes);
    });

    check('status: idle, start → streaming, stop → idle', async () => {
      await driver.applyConfig(anyTarget());
      expect((await driver.getStatus()).state).toBe('idle');
      await driver.start();
      await waitForState('streaming');
      const live = await driver.getStatus();
      expect(live.state).toBe('streaming');
      await driver.stop();
      await waitForState('idle');
    });

    check('start and stop are idempotent', async () => {
      await driver.applyConfig(anyTarget());
      await driver.start();
      await driver.start();
      await waitForState('streaming');
      await driver.start();
      expect(sim.count('start')).toBe(1);
      await driver.stop();
      await driver.stop();
      await waitForState('idle');
      await driver.stop();
      expect(sim.count('stop')).toBe(1);
    });

    if (caps.reboot) {
      check('reboot and recovery', async () => {
        await driver.login();
        await driver.reboot();
        await sleep(50);
        const during = await driver.getStatus().catch((e: unknown) => e);
        expect(during).toBeInstanceOf(DeviceError);
        expect((during as DeviceError).retryable).toBe(true);
        await sleep(500);
        expect((await driver.getStatus()).state).toBe('idle');
        expect(sim.count('reboot')).toBe(1);
      });
    } else {
      check('reboot refused as unsupported', async () => {
        await expect(driver.reboot()).rejects.toBeInstanceOf(UnsupportedConfigError);
      });
    }
  });
}

/**
 * The simulator harness records, for every effect, when the request that caused it arrived as well
 * as when the device acted (after its simulated latency), and lists effects of one kind across the
 * fleet on its control API: what the schedule benchmark reads to time scheduled starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDriverModule } from '../../drivers/index.js';
import { type SimFleet, startSimFleet } from '../../drivers/sim/fleet.js';

describe('simulator effects', () => {
  let fleet: SimFleet;
  beforeAll(async () => {
    fleet = await startSimFleet({
      counts: { 'osprey-talon': 2 },
      addressBlock: 90,
      faults: { latencyMs: 80 },
    });
  });
  afterAll(async () => {
    await fleet.close();
  });

  it('an effect carries the arrival of its request; GET /effects?kind= lists them fleet-wide', async () => {
    const { device, address } = fleet.devices[0]!;
    const driver = getDriverModule('osprey-talon').create({
      endpoint: {
        id: device.id,
        vendor: 'osprey-talon',
        host: address.host,
        port: address.port,
        credentials: { username: device.username, password: device.password },
      },
      timeoutMs: 2000,
    });
    await driver.applyConfig({
      target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'EFFECTS-1' },
    });
    const sent = Date.now();
    await driver.start();
    await driver.close();
    const start = device.effects.find((e) => e.kind === 'start')!;
    expect(start.receivedAt).toBeGreaterThanOrEqual(sent);
    expect(start.at - start.receivedAt).toBeGreaterThanOrEqual(75); // the simulated latency
    const listed = (await (await fetch(`${fleet.controlUrl}/effects?kind=start`)).json()) as unknown[];
    expect(listed).toEqual([
      {
        device: device.id,
        vendor: 'osprey-talon',
        kind: 'start',
        at: start.at,
        receivedAt: start.receivedAt,
      },
    ]);
  });
});

/**
 * The device lanes: a cancel reaches operations still waiting for their turn, never one already
 * running on the device, and the device's next operation waits for the running one to end. Closing
 * refuses what still waits rather than leaving it (and the close) pending forever.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceEndpoint, EncoderDriver } from '../../drivers/contract.js';
import { DeviceLanes } from '../../src/fleet/device-lanes.js';

const endpoint: DeviceEndpoint = { id: 'd1', vendor: 'osprey-talon', host: '127.0.0.1', port: 1 };
const lanes = () =>
  new DeviceLanes({
    concurrency: 1,
    createDriver: () => ({ close: async () => {} }) as unknown as EncoderDriver,
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('device lanes', () => {
  it('an abort while an operation runs lets it finish and holds the lane until it has', async () => {
    const l = lanes();
    const events: string[] = [];
    const controller = new AbortController();
    const first = l.run(
      endpoint,
      async () => {
        events.push('first start');
        await sleep(80);
        events.push('first end');
        return 'first done';
      },
      { signal: controller.signal },
    );
    await sleep(10);
    controller.abort(new Error('stop'));
    const second = l.run(endpoint, async () => {
      events.push('second start');
      return 'second done';
    });
    await expect(first).resolves.toBe('first done');
    await expect(second).resolves.toBe('second done');
    expect(events).toEqual(['first start', 'first end', 'second start']);
    await l.close();
  });

  it('an abort removes an operation still waiting for a slot; it never runs', async () => {
    const l = lanes();
    const ran: string[] = [];
    const controller = new AbortController();
    const busy = l.run({ ...endpoint, id: 'd2' }, () => sleep(50).then(() => ran.push('busy')));
    const waiting = l.run(endpoint, async () => ran.push('waiting'), { signal: controller.signal });
    controller.abort(new Error('canceled'));
    await expect(waiting).rejects.toThrow('canceled');
    await busy;
    expect(ran).toEqual(['busy']);
    await l.close();
  });

  it('close() refuses the operations still waiting (for a slot or their lane) and waits for the running ones', async () => {
    const l = lanes();
    const ran: string[] = [];
    const running = l.run(endpoint, () => sleep(50).then(() => ran.push('running')));
    const behindInLane = l.run(endpoint, async () => ran.push('behind in lane'));
    const forSlot = l.run({ ...endpoint, id: 'd2' }, async () => ran.push('waiting for a slot'));
    await sleep(10);
    await l.close();
    expect(ran).toEqual(['running']);
    await expect(running).resolves.toBe(1);
    await expect(forSlot).rejects.toThrow('device lanes closed');
    await expect(behindInLane).rejects.toThrow('device lanes closed');
  });
});

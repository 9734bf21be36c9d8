/**
 * Device identity on both backends: stored beside the observed state without disturbing it, kept
 * across a reopen, and filterable by model and firmware.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, openTestStore, type TestStore } from '../helpers/store.js';

describe.each(BACKENDS)('device identity on %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(backend);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('is kept across a reopen, leaves the observed state alone, and filters the device list', async () => {
    const [a, b, c] = await Promise.all(
      ['enc-a', 'enc-b', 'enc-c'].map((name, i) =>
        t.store.devices.create({ name, vendor: 'osprey-talon', host: `10.50.0.${i + 1}`, port: 80 }),
      ),
    );
    // `a` has been seen streaming before its identity is stored; `b` has no observed row yet.
    await t.store.observed.record([
      { deviceId: a!.id, at: '2031-01-01T00:00:00.000Z', connectivity: 'online', stream: 'streaming' },
    ]);
    await t.store.observed.recordIdentities(
      new Map([
        [a!.id, { model: 'Talon 4K-SC', serial: 'T4K-1', firmware: '2.4.1' }],
        [b!.id, { model: 'Talon 4K-SC', firmware: '2.5.0' }],
      ]),
      '2031-01-01T00:00:01.000Z',
    );

    const store = await t.reopen();
    const latest = new Map((await store.observed.latest()).map((s) => [s.deviceId, s]));
    expect(latest.get(a!.id)).toMatchObject({
      connectivity: 'online',
      stream: 'streaming',
      identity: { model: 'Talon 4K-SC', serial: 'T4K-1', firmware: '2.4.1' },
    });
    expect(latest.get(b!.id)?.identity).toEqual({ model: 'Talon 4K-SC', firmware: '2.5.0' });
    expect(latest.has(c!.id)).toBe(false);

    const names = async (query: { model?: string; firmware?: string }) =>
      (await store.devices.list({ ...query, limit: 10 })).items.map((d) => d.name);
    expect(await names({ model: 'Talon 4K-SC' })).toEqual(['enc-a', 'enc-b']);
    expect(await names({ model: 'Talon 4K-SC', firmware: '2.4.1' })).toEqual(['enc-a']);
    expect(await names({ firmware: '9.9' })).toEqual([]);

    // A firmware update: the new version replaces the old.
    await store.observed.recordIdentities(
      new Map([[a!.id, { model: 'Talon 4K-SC', serial: 'T4K-1', firmware: '2.5.0' }]]),
      '2031-01-02T00:00:00.000Z',
    );
    expect(await names({ firmware: '2.5.0' })).toEqual(['enc-a', 'enc-b']);
  });
});

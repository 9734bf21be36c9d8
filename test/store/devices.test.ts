import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSelector } from '../../src/fleet/selector.js';
import type { NewDevice } from '../../src/store/devices.js';
import { ConflictError, PreconditionFailedError, StoreNotFoundError } from '../../src/store/errors.js';
import { BACKENDS, openTestStore, type TestStore } from '../helpers/store.js';

const device = (n: number, extra: Partial<NewDevice> = {}): NewDevice => ({
  name: `enc-${String(n).padStart(3, '0')}`,
  vendor: 'osprey-talon',
  host: `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`,
  port: 80,
  ...extra,
});

describe.each(BACKENDS)('device store on %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(backend);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('creates, reads, updates and deletes a device', async () => {
    const created = await t.store.devices.create(
      device(1, { username: 'admin', password: 'hunter22', labels: { site: 'berlin' } }),
    );
    expect(created).toMatchObject({
      name: 'enc-001',
      vendor: 'osprey-talon',
      port: 80,
      hasPassword: true,
      labels: { site: 'berlin' },
      version: 1,
    });
    expect(created).not.toHaveProperty('password');
    const [withSecret] = await t.store.devices.getWithSecrets([created.id]);
    expect(withSecret!.password).toBe('hunter22');
    const bare = await t.store.devices.create(device(2));
    expect((await t.store.devices.list({ limit: 10 })).items).toEqual([
      {
        id: created.id,
        name: 'enc-001',
        vendor: 'osprey-talon',
        host: '10.0.0.2',
        port: 80,
        tls: { mode: 'off' },
        labels: { site: 'berlin' },
        version: 1,
      },
      {
        id: bare.id,
        name: 'enc-002',
        vendor: 'osprey-talon',
        host: '10.0.0.3',
        port: 80,
        tls: { mode: 'off' },
        labels: {},
        version: 1,
      },
    ]);
    await t.store.devices.delete(bare.id);
    const updated = await t.store.devices.update(
      created.id,
      { host: '10.9.9.9', labels: { site: 'paris', rack: '3' } },
      1,
    );
    expect(updated).toMatchObject({ host: '10.9.9.9', labels: { site: 'paris', rack: '3' }, version: 2 });
    expect(await t.store.devices.delete(created.id)).toBe(true);
    expect(await t.store.devices.get(created.id)).toBeUndefined();
  });

  it('refuses a duplicate name and a duplicate host:port, naming the field', async () => {
    await t.store.devices.create(device(1));
    await expect(t.store.devices.create(device(2, { name: 'enc-001' }))).rejects.toMatchObject({
      field: 'name',
    });
    const clash = await t.store.devices.create(device(3, { host: '10.0.0.2' })).catch((e: unknown) => e);
    expect(clash).toBeInstanceOf(ConflictError);
    expect((clash as ConflictError).field).toBe('host:port');
    // same host, other port is another device
    await t.store.devices.create(device(4, { host: '10.0.0.2', port: 8080 }));
  });

  it('lets exactly one of two concurrent writers with the same version win', async () => {
    const d = await t.store.devices.create(device(1));
    const results = await Promise.allSettled([
      t.store.devices.update(d.id, { labels: { writer: 'a' } }, 1),
      t.store.devices.update(d.id, { labels: { writer: 'b' } }, 1),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(PreconditionFailedError);
    expect((lost[0]!.reason as PreconditionFailedError).currentVersion).toBe(2);
    const final = await t.store.devices.get(d.id);
    expect(final!.labels.writer).toBe(
      (won[0] as PromiseFulfilledResult<{ labels: Record<string, string> }>).value.labels.writer,
    );
    await expect(t.store.devices.update('missing', {}, 1)).rejects.toBeInstanceOf(StoreNotFoundError);
  });

  it.each(['name', 'createdAt', 'vendor', 'host'] as const)(
    'walks 250 devices by %s with cursors, each once, in order',
    async (sort) => {
      const vendors = ['osprey-talon', 'videon', 'teradek-vidiu', 'teradek-prism'] as const;
      await t.store.devices.insertMany(
        Array.from({ length: 250 }, (_, i) => device(i, { vendor: vendors[i % 4]! })),
      );
      for (const order of ['asc', 'desc'] as const) {
        const all = (await t.store.devices.list({ sort, order, limit: 1000 })).items.map((d) => d.id);
        const walked: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await t.store.devices.list({ sort, order, limit: 37, ...(cursor ? { cursor } : {}) });
          walked.push(...page.items.map((d) => d.id));
          cursor = page.nextCursor;
        } while (cursor);
        expect(walked).toEqual(all);
        expect(new Set(walked).size).toBe(250);
      }
    },
  );

  it('filters by selector (vendor family rule), text and observed state', async () => {
    await t.store.devices.insertMany([
      device(1, { vendor: 'teradek-vidiu', labels: { site: 'berlin', env: 'prod' } }),
      device(2, { vendor: 'teradek-prism', labels: { site: 'berlin', env: 'staging' } }),
      device(3, { vendor: 'videon', labels: { site: 'paris' }, name: 'Studio-B' }),
      device(4, { vendor: 'osprey-talon', host: 'talon.studio.example' }),
    ]);
    const names = async (selector: string, extra = {}) =>
      (await t.store.devices.list({ selector: parseSelector(selector), limit: 50, ...extra })).items
        .map((d) => d.name)
        .sort();
    expect(await names('vendor=teradek,site=berlin')).toEqual(['enc-001', 'enc-002']);
    expect(await names('vendor=teradek-prism')).toEqual(['enc-002']);
    expect(await names('env!=staging')).toEqual(['Studio-B', 'enc-001', 'enc-004'].sort());
    expect(await names('site in (paris,berlin),!env')).toEqual(['Studio-B']);
    expect(await names('site notin (berlin)')).toEqual(['Studio-B', 'enc-004'].sort());
    expect(await names('', { text: 'STUDIO' })).toEqual(['Studio-B', 'enc-004'].sort());
    const [one] = (await t.store.devices.list({ limit: 1 })).items;
    await t.store.observed.record([
      { deviceId: one!.id, at: new Date().toISOString(), connectivity: 'online', stream: 'streaming' },
    ]);
    expect((await t.store.devices.list({ state: 'streaming', limit: 10 })).items.map((d) => d.id)).toEqual([
      one!.id,
    ]);
    expect((await t.store.devices.list({ state: 'unknown', limit: 10 })).items).toHaveLength(3);
  });

  it('keeps devices, labels and desired state across a restart', async () => {
    const d = await t.store.devices.create(
      device(1, {
        password: 'p4ssw0rd!',
        labels: { site: 'berlin' },
        overrides: { target: { streamKey: 'KEY-123456789' } },
      }),
    );
    await t.store.db.kysely
      .transaction()
      .execute((tx) => t.store.devices.setDesired(tx, [d.id], { state: 'streaming' }));
    const reopened = await t.reopen();
    const [again] = await reopened.devices.getWithSecrets([d.id]);
    expect(again).toMatchObject({
      labels: { site: 'berlin' },
      desiredState: 'streaming',
      password: 'p4ssw0rd!',
      overrides: { target: { streamKey: 'KEY-123456789' } },
    });
  });
});

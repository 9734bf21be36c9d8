/**
 * Inventory acceptance through the API: bulk import (all or nothing, every bad row reported, upsert
 * by name, duplicate hosts), optimistic concurrency with ETag / If-Match, profiles ⊕ overrides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

const HEADER = 'name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint';
const csvRow = (i: number, extra = '') =>
  `cam-${i},osprey-talon,10.20.${Math.floor(i / 250)}.${(i % 250) + 1},,admin,pw-${i},site=berlin;rack=r${i % 4},,,${extra}`;

describe('inventory through the API', () => {
  let svc: TestService;
  const importCsv = (csv: string, mode = 'create') =>
    fetch(`${svc.url}/v1/devices/import?mode=${mode}`, {
      method: 'POST',
      headers: { ...svc.headers, 'content-type': 'text/csv' },
      body: csv,
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as any,
    }));

  beforeAll(async () => {
    svc = await startService({ start: false });
  });
  afterAll(() => svc.close());

  it('imports nothing from a CSV with 3 bad rows and reports all 3 with row numbers', async () => {
    const csv = [
      HEADER,
      csvRow(1),
      'cam-2,acme,10.20.0.3,,,,,,,',
      csvRow(3),
      'cam-4,videon,not a host,,,,,,,',
      csvRow(5),
      'cam-6,videon,10.20.0.7,99999,,,,,,',
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('import_rejected');
    expect(res.body.details.map((p: { row: number; field: string }) => [p.row, p.field])).toEqual([
      [3, 'vendor'],
      [5, 'host'],
      [7, 'port'],
    ]);
    expect((await svc.request('GET', '/v1/devices')).body.items).toHaveLength(0);
  });

  it('imports 10,000 rows, then refuses a re-import that clashes, and upserts by name', async () => {
    const csv = [HEADER, ...Array.from({ length: 10_000 }, (_, i) => csvRow(i))].join('\n');
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ rows: 10_000, created: 10_000, updated: 0 });
    const page = await svc.request('GET', '/v1/devices?selector=rack%3Dr1&limit=1000');
    expect(page.body.items).toHaveLength(1000);
    expect(page.body.nextCursor).toBeDefined();

    const again = await importCsv([HEADER, csvRow(7)].join('\n'));
    expect(again.status).toBe(400);
    expect(again.body.details).toEqual([
      { row: 2, field: 'name', reason: 'a device named "cam-7" already exists' },
    ]);

    const clash = await importCsv([HEADER, 'cam-new,videon,10.20.0.8,80,,,,,,'].join('\n'));
    expect(clash.body.details).toEqual([
      { row: 2, field: 'host', reason: '10.20.0.8:80 is already used by device "cam-7"' },
    ]);

    const upsert = await importCsv(
      [HEADER, 'cam-7,osprey-talon,10.20.0.8,,,,site=paris,,,'].join('\n'),
      'upsert',
    );
    expect(upsert.body).toEqual({ rows: 1, created: 0, updated: 1 });
    const cam7 = (await svc.request('GET', '/v1/devices?q=cam-7&limit=5')).body.items.find(
      (d: { name: string }) => d.name === 'cam-7',
    );
    expect(cam7.labels).toEqual({ site: 'paris' });
    const detail = await svc.request('GET', `/v1/devices/${cam7.id}`);
    expect(detail.body.credentials).toEqual({ username: 'admin', password: { set: true } }); // empty cells keep stored values
  }, 60_000);

  it('accepts a JSON array too, with the same checks', async () => {
    const res = await fetch(`${svc.url}/v1/devices/import`, {
      method: 'POST',
      headers: { ...svc.headers, 'content-type': 'application/json' },
      body: JSON.stringify([
        { name: 'json-1', vendor: 'videon', host: '10.99.0.1', port: 2020, labels: { site: 'oslo' } },
        { name: 'json-2', vendor: 'videon' },
      ]),
    });
    const body = (await res.json()) as any;
    expect(res.status).toBe(400);
    expect(body.details).toEqual([{ row: 2, field: 'host', reason: 'is required' }]);
  });

  it('concurrent PATCHes with the same ETag: one wins, the other gets 412, nothing lost', async () => {
    const created = await svc.request('POST', '/v1/devices', {
      name: 'etag-1',
      vendor: 'osprey-talon',
      host: '10.30.0.1',
    });
    const etag = created.headers.get('etag')!;
    const [a, b] = await Promise.all([
      svc.request(
        'PATCH',
        `/v1/devices/${created.body.id}`,
        { labels: { writer: 'a' } },
        { 'if-match': etag },
      ),
      svc.request(
        'PATCH',
        `/v1/devices/${created.body.id}`,
        { labels: { writer: 'b' } },
        { 'if-match': etag },
      ),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    const loser = a.status === 412 ? a : b;
    const winner = a.status === 200 ? a : b;
    expect(loser.body).toMatchObject({ error: 'precondition_failed', details: { currentVersion: 2 } });
    const now = await svc.request('GET', `/v1/devices/${created.body.id}`);
    expect(now.body.labels).toEqual(winner.body.labels);
    expect(now.headers.get('etag')).toBe('"2"');
    // The loser retries with the fresh ETag and succeeds.
    const retry = await svc.request(
      'PATCH',
      `/v1/devices/${created.body.id}`,
      { labels: { ...now.body.labels, second: 'yes' } },
      { 'if-match': now.headers.get('etag')! },
    );
    expect(retry.status).toBe(200);
  });

  it('a device follows a profile plus its own overrides; GET shows both and the effective config', async () => {
    const profile = await svc.request('POST', '/v1/profiles', {
      name: 'news-720p',
      config: {
        target: { protocol: 'srt', host: 'bintu-srt.nanocosmos.de', port: 5000 },
        video: {
          codec: 'h264',
          width: 1280,
          height: 720,
          fps: 30,
          bitrateKbps: 1500,
          keyframeIntervalFrames: 60,
        },
      },
    });
    expect(profile.status).toBe(201);
    const device = await svc.request('POST', '/v1/devices', {
      name: 'follower',
      vendor: 'osprey-talon',
      host: '10.30.0.2',
      profile: 'news-720p',
      overrides: { target: { streamId: 'push:FOLLOWER-0001' } },
    });
    expect(device.body.profile).toMatchObject({ name: 'news-720p', version: 1 });
    expect(device.body.overrides).toEqual({ target: { streamId: { set: true, last4: '0001' } } });
    expect(device.body.desired.base).toBe('profile');
    expect(device.body.desired.config.target).toEqual({
      protocol: 'srt',
      host: 'bintu-srt.nanocosmos.de',
      port: 5000,
      mode: 'caller',
      latencyMs: 500,
      streamId: { set: true, last4: '0001' },
    });
    // A masked secret read from the API cannot be sent back as if it were the secret.
    const update = await svc.request(
      'PUT',
      `/v1/profiles/${profile.body.id}`,
      {
        config: {
          target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: { set: true, last4: '0001' } },
        },
      },
      { 'if-match': '"1"' },
    );
    expect(update.status).toBe(400);
    expect(update.body.details).toContainEqual({
      field: 'body/config/target/streamKey',
      reason: 'must be string',
    });
    const update2 = await svc.request(
      'PUT',
      `/v1/profiles/news-720p`,
      { config: { target: { protocol: 'srt', host: 'bintu-srt-eu.nanocosmos.de' } } },
      { 'if-match': '"1"' },
    );
    expect(update2.status).toBe(200);
    expect(update2.body.version).toBe(2);
    const versions = await svc.request('GET', '/v1/profiles/news-720p/versions');
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const stale = await svc.request(
      'PUT',
      '/v1/profiles/news-720p',
      { description: 'late' },
      { 'if-match': '"1"' },
    );
    expect(stale.status).toBe(412);
    const del = await svc.request('DELETE', '/v1/profiles/news-720p');
    expect(del.status).toBe(409);
    expect(del.body.message).toContain('1 device(s) follow this profile');
  });

  it("refuses `vendor` as a label key (it is the device's vendor in selectors)", async () => {
    const res = await svc.request('POST', '/v1/devices', {
      name: 'x',
      vendor: 'videon',
      host: '10.30.0.9',
      labels: { vendor: 'acme' },
    });
    expect(res.status).toBe(400);
    expect(res.body.details[0]).toMatchObject({ field: 'body/labels/vendor' });
  });
});

/**
 * The audit log: every state-changing request is recorded — key, route, devices, time, outcome and
 * the job it started — on both store backends; reads are not; the log filters by key, device, job
 * and time with cursor pages; and the database refuses to change or delete an entry.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startService, type TestService } from '../helpers/service.js';
import { BACKENDS } from '../helpers/store.js';

describe.each(BACKENDS)('audit log on %s', (backend) => {
  let svc: TestService;
  let operator: { id: string; secret: string };
  let deviceId: string;
  let jobId: string;
  let startedAt: string;

  beforeAll(async () => {
    svc = await startService({ backend, start: false });
    startedAt = new Date().toISOString();
    const key = await svc.request('POST', '/v1/keys', { name: 'night shift', role: 'operator' });
    operator = { id: key.body.key.id, secret: key.body.secret };
    const device = await svc.request('POST', '/v1/devices', {
      name: 'cam-1',
      vendor: 'videon',
      host: '127.0.0.1',
      port: 1,
      credentials: { username: 'admin', password: 'never-in-the-audit-log' },
    });
    deviceId = device.body.id;
    await svc.request('GET', '/v1/devices');
    await svc.request('PATCH', `/v1/devices/${deviceId}`, { name: 'x' }, bearer(operator.secret)); // 403
    const job = await svc.request(
      'POST',
      '/v1/jobs',
      { action: 'stop', selector: 'vendor=videon', options: { dryRun: true } },
      bearer(operator.secret),
    );
    jobId = job.body.id;
    await svc.request('POST', '/v1/profiles', { name: 'bad', config: { video: { fps: 'fast' } } }); // 400
    await svc.request('DELETE', '/v1/devices/no-such-device', undefined, { authorization: 'Bearer wrong' }); // 401
  });
  afterAll(() => svc.close());

  const audit = async (query = '') => (await svc.request('GET', `/v1/audit${query}`)).body;

  it('records every state-changing request with who, what, which device, outcome and job; no reads', async () => {
    const { items } = await audit();
    expect(items.map((e: any) => `${e.method} ${e.route} ${e.status}`)).toEqual([
      'DELETE /v1/devices/:id 401',
      'POST /v1/profiles 400',
      'POST /v1/jobs 202',
      'PATCH /v1/devices/:id 403',
      'POST /v1/devices 201',
      'POST /v1/keys 201',
    ]);
    const [unauthenticated, , job, refused, created, key] = items;
    expect(unauthenticated.keyId).toBeUndefined();
    expect(job).toMatchObject({
      keyId: operator.id,
      keyName: 'night shift',
      jobId,
      detail: { action: 'stop' },
    });
    expect(refused).toMatchObject({
      keyId: operator.id,
      deviceIds: [deviceId],
      path: `/v1/devices/${deviceId}`,
    });
    expect(created).toMatchObject({ keyName: 'ADMIN_API_KEY', deviceIds: [deviceId] });
    expect(key.detail).toEqual({ keyId: operator.id, role: 'operator' });
    for (const e of items) expect(Date.parse(e.at)).toBeGreaterThanOrEqual(Date.parse(startedAt));
    expect(JSON.stringify(items)).not.toContain('never-in-the-audit-log');
    expect(JSON.stringify(items)).not.toContain(operator.secret);
  });

  it('filters by key, device (directly or through a job), job and time; pages with a cursor', async () => {
    expect((await audit(`?key=${operator.id}`)).items.map((e: any) => e.route)).toEqual([
      '/v1/jobs',
      '/v1/devices/:id',
    ]);
    expect((await audit(`?device=${deviceId}`)).items.map((e: any) => e.route)).toEqual([
      '/v1/jobs',
      '/v1/devices/:id',
      '/v1/devices',
    ]);
    expect((await audit(`?job=${jobId}`)).items).toHaveLength(1);
    expect(
      (await audit(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).items,
    ).toEqual([]);
    expect((await audit(`?until=${encodeURIComponent(startedAt)}`)).items).toEqual([]);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await audit(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e: any) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual((await audit()).items.map((e: any) => e.id));
    expect(new Set(seen).size).toBe(6);
  });

  it('is append-only in the database itself', async () => {
    const db = svc.app.store.db.kysely;
    await expect(sql`update audit_log set status = 200`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_devices`.execute(db)).rejects.toThrow(/append-only/);
    expect((await audit()).items).toHaveLength(6);
  });

  it('is for admins only', async () => {
    const res = await svc.request('GET', '/v1/audit', undefined, bearer(operator.secret));
    expect(res.status).toBe(403);
    expect(res.body.details.permission).toBe('audit:read');
  });
});

/**
 * Inventory export: the import's CSV, without passwords, that imports back with `mode=upsert`
 * leaving every device as it was (passwords and a custom CA included, which the CSV does not carry).
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

const HEADER = 'name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint';
const PIN = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
const CA = `-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUTestOnlyNotARealCertificate0wCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----`;

describe('inventory export', () => {
  let svc: TestService;
  const importCsv = (csv: string, mode: string) =>
    fetch(`${svc.url}/v1/devices/import?mode=${mode}`, {
      method: 'POST',
      headers: { ...svc.headers, 'content-type': 'text/csv' },
      body: csv,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const details = async () => {
    const page = await svc.request('GET', '/v1/devices?selector=batch%3Dexport&limit=100');
    const all = await Promise.all(
      page.body.items.map((d: { id: string }) => svc.request('GET', `/v1/devices/${d.id}`)),
    );
    return all.map((r) => {
      const { updatedAt: _u, version: _v, ...rest } = r.body;
      return rest;
    });
  };

  beforeAll(async () => {
    svc = await startService({ start: false });
  });
  afterAll(() => svc.close());

  it('exports the import CSV without passwords, and an upsert of it changes nothing', async () => {
    const profile = await svc.request('POST', '/v1/profiles', {
      name: 'news-720p',
      config: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'k-0001' } },
    });
    expect(profile.status).toBe(201);
    const imported = await importCsv(
      [
        HEADER,
        `enc-a,osprey-talon,10.40.0.1,,admin,secret-a,"batch=export;site=berlin",news-720p,pin,${PIN}`,
        'enc-b,videon,10.40.0.2,2020,,,batch=export,,verify,',
        'enc-c,teradek-vidiu,10.40.0.3,8080,operator,secret-c,batch=export;rack=r1,,,',
      ].join('\n'),
      'create',
    );
    expect(imported.body).toEqual({ rows: 3, created: 3, updated: 0 });
    const withCa = await svc.request('POST', '/v1/devices', {
      name: 'enc-d',
      vendor: 'videon',
      host: '10.40.0.4',
      labels: { batch: 'export' },
      credentials: { username: 'admin', password: 'secret-d' },
      tls: { mode: 'verify', ca: CA },
    });
    expect(withCa.status).toBe(201);
    // Another device, outside the selector.
    await svc.request('POST', '/v1/devices', { name: 'other', vendor: 'videon', host: '10.40.0.9' });
    const before = await details();

    const res = await fetch(`${svc.url}/v1/devices/export?selector=batch%3Dexport`, { headers: svc.headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="devices.csv"');
    const csv = await res.text();
    expect(csv.split('\n')[0]).toBe(HEADER);
    expect(csv).not.toMatch(/secret-/);
    expect(parse(csv, { columns: true })).toEqual([
      {
        name: 'enc-a',
        vendor: 'osprey-talon',
        host: '10.40.0.1',
        port: '80',
        username: 'admin',
        password: '',
        labels: 'batch=export;site=berlin',
        profile: 'news-720p',
        tls_mode: 'pin',
        tls_fingerprint: PIN,
      },
      {
        name: 'enc-b',
        vendor: 'videon',
        host: '10.40.0.2',
        port: '2020',
        username: '',
        password: '',
        labels: 'batch=export',
        profile: '',
        tls_mode: 'verify',
        tls_fingerprint: '',
      },
      {
        name: 'enc-c',
        vendor: 'teradek-vidiu',
        host: '10.40.0.3',
        port: '8080',
        username: 'operator',
        password: '',
        labels: 'batch=export;rack=r1',
        profile: '',
        tls_mode: 'off',
        tls_fingerprint: '',
      },
      // The CSV cannot carry the CA: the TLS cells stay empty, so an upsert keeps it.
      {
        name: 'enc-d',
        vendor: 'videon',
        host: '10.40.0.4',
        port: '2020',
        username: 'admin',
        password: '',
        labels: 'batch=export',
        profile: '',
        tls_mode: '',
        tls_fingerprint: '',
      },
    ]);

    const again = await importCsv(csv, 'upsert');
    expect(again.body).toEqual({ rows: 4, created: 0, updated: 4 });
    expect(await details()).toEqual(before);
  });

  it('refuses a bad selector with a 400 naming it', async () => {
    const res = await svc.request('GET', '/v1/devices/export?selector=%3D%3D');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/selector/);
  });
});

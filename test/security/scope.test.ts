/**
 * Label-scoped keys: a key limited to `site=berlin` neither sees nor touches a Paris device, on
 * every route that lists or acts on devices — lists, single-device routes, selectors, jobs, events
 * and the fleet summary — and cannot use fleet-wide permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startService, type TestService } from '../helpers/service.js';
import { openSse } from '../helpers/sse.js';

describe('label-scoped keys', () => {
  let svc: TestService;
  let admin: Record<string, string>;
  let operator: Record<string, string>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    svc = await startService({ start: true });
    // Devices on closed loopback ports: reachable by nobody, so jobs fail fast and stay on loopback.
    for (const [i, [name, site]] of [
      ['berlin-1', 'berlin'],
      ['berlin-2', 'berlin'],
      ['paris-1', 'paris'],
    ].entries()) {
      const res = await svc.request('POST', '/v1/devices', {
        name,
        vendor: 'osprey-talon',
        host: '127.0.0.1',
        port: i + 1,
        labels: { site: site! },
      });
      expect(res.status).toBe(201);
      ids[name!] = res.body.id;
    }
    const scopedAdmin = await svc.request('POST', '/v1/keys', {
      name: 'berlin admin',
      role: 'admin',
      scope: 'site=berlin',
    });
    const scopedOperator = await svc.request('POST', '/v1/keys', {
      name: 'berlin operator',
      role: 'operator',
      scope: 'site = berlin',
    });
    expect(scopedOperator.body.key.scope).toBe('site=berlin');
    admin = bearer(scopedAdmin.body.secret);
    operator = bearer(scopedOperator.body.secret);
  });
  afterAll(() => svc.close());

  it('lists only devices in scope, also with a selector or a search', async () => {
    const names = async (query: string) =>
      (await svc.request('GET', `/v1/devices${query}`, undefined, operator)).body.items
        .map((d: any) => d.name)
        .sort();
    expect(await names('')).toEqual(['berlin-1', 'berlin-2']);
    expect(await names('?selector=site%3Dparis')).toEqual([]);
    expect(await names('?selector=site%20in%20(berlin,paris)')).toEqual(['berlin-1', 'berlin-2']);
    expect(await names('?q=paris')).toEqual([]);
  });

  it('single-device routes answer 404 for a device outside the scope', async () => {
    const paris = ids['paris-1'];
    const calls: [string, string, unknown?][] = [
      ['GET', `/v1/devices/${paris}`],
      ['GET', `/v1/devices/${paris}/status`],
      ['GET', `/v1/devices/${paris}/status?fresh=true`],
      ['POST', `/v1/devices/${paris}/start?wait=0`],
      ['POST', `/v1/devices/${paris}/stop?wait=0`],
      [
        'PUT',
        `/v1/devices/${paris}/config?wait=0`,
        { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/a', streamKey: 'k' } },
      ],
    ];
    for (const [method, path, body] of calls) {
      const res = await svc.request(method, path, body, operator);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    for (const [method, path, body] of [
      ['POST', `/v1/devices/${paris}/reboot?wait=0`],
      ['PATCH', `/v1/devices/${paris}`, { name: 'renamed' }],
      ['DELETE', `/v1/devices/${paris}`],
    ] as [string, string, unknown?][]) {
      const res = await svc.request(method, path, body, admin);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const untouched = await svc.request('GET', `/v1/devices/${paris}`);
    expect(untouched.body).toMatchObject({ name: 'paris-1', version: 1 });
    expect((await svc.request('GET', `/v1/devices/${ids['berlin-1']}`, undefined, operator)).status).toBe(
      200,
    );
  });

  it('a scoped admin cannot add, import or move a device outside its scope', async () => {
    const outside = await svc.request(
      'POST',
      '/v1/devices',
      { name: 'paris-2', vendor: 'videon', host: '127.0.0.1', port: 10, labels: { site: 'paris' } },
      admin,
    );
    expect(outside.status).toBe(403);
    expect(outside.body.error).toBe('out_of_scope');
    const moved = await svc.request(
      'PATCH',
      `/v1/devices/${ids['berlin-2']}`,
      { labels: { site: 'paris' } },
      admin,
    );
    expect(moved.status).toBe(403);
    const inside = await svc.request(
      'POST',
      '/v1/devices',
      { name: 'berlin-3', vendor: 'videon', host: '127.0.0.1', port: 11, labels: { site: 'berlin' } },
      admin,
    );
    expect(inside.status).toBe(201);
    const csv = [
      'name,vendor,host,port,labels',
      'berlin-4,videon,127.0.0.1,12,site=berlin',
      'paris-9,videon,127.0.0.1,13,site=paris',
      'paris-1,osprey-talon,127.0.0.1,3,site=berlin',
    ].join('\n');
    const imported = await fetch(`${svc.url}/v1/devices/import?mode=upsert`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(imported.status).toBe(400);
    expect(((await imported.json()) as any).details).toEqual([
      { row: 3, field: 'labels', reason: "would put the device outside this key's scope" },
      { row: 4, field: 'name', reason: "names a device outside this key's scope" },
    ]);
    expect((await svc.request('GET', '/v1/devices?q=berlin-4')).body.items).toEqual([]);
  });

  it('jobs: a selector is narrowed to the scope, ids outside it are unknown, other jobs are invisible', async () => {
    const all = await svc.request(
      'POST',
      '/v1/jobs',
      { action: 'stop', selector: 'site', options: { dryRun: true } },
      operator,
    );
    expect(all.status).toBe(202);
    const tasks = await svc.request('GET', `/v1/jobs/${all.body.id}/tasks`, undefined, operator);
    expect(tasks.body.items.map((t: any) => t.deviceName).sort()).toEqual([
      'berlin-1',
      'berlin-2',
      'berlin-3',
    ]);

    const byId = await svc.request(
      'POST',
      '/v1/jobs',
      { action: 'stop', deviceIds: [ids['berlin-1'], ids['paris-1']], options: { dryRun: true } },
      operator,
    );
    expect(byId.status).toBe(400);
    expect(byId.body.message).toContain(ids['paris-1']);

    const parisOnly = await svc.request('POST', '/v1/jobs', {
      action: 'stop',
      selector: 'site=paris',
      options: { dryRun: true },
    });
    const mixed = await svc.request('POST', '/v1/jobs', {
      action: 'stop',
      selector: 'site',
      options: { dryRun: true },
    });
    for (const job of [parisOnly.body.id, mixed.body.id]) {
      for (const path of [`/v1/jobs/${job}`, `/v1/jobs/${job}/tasks`]) {
        expect((await svc.request('GET', path, undefined, operator)).status, path).toBe(404);
      }
      expect((await svc.request('POST', `/v1/jobs/${job}/cancel`, undefined, operator)).status).toBe(404);
    }
    const listed = (await svc.request('GET', '/v1/jobs', undefined, operator)).body.items.map(
      (j: any) => j.id,
    );
    expect(listed).toContain(all.body.id);
    expect(listed).not.toContain(parisOnly.body.id);
    expect(listed).not.toContain(mixed.body.id);
    expect((await svc.request('GET', `/v1/jobs/${mixed.body.id}`)).status).toBe(200);
  });

  it('events: only devices in scope and jobs wholly within it', async () => {
    const sse = await openSse(`${svc.url}/v1/events?types=device.state,job.created`, operator);
    const all = await openSse(`${svc.url}/v1/events?types=device.state,job.created`);
    try {
      for (const name of ['paris-1', 'berlin-1']) {
        svc.app.hub.publish({ type: 'device.state', deviceId: ids[name]!, data: { probe: name } });
      }
      const paris = await svc.request('POST', '/v1/jobs', {
        action: 'stop',
        selector: 'site=paris',
        options: { dryRun: true },
      });
      const berlin = await svc.request('POST', '/v1/jobs', {
        action: 'stop',
        selector: 'site=berlin',
        options: { dryRun: true },
      });
      await all.waitFor((m) => m.data.jobId === berlin.body.id);
      await sse.waitFor((m) => m.data.jobId === berlin.body.id);
      const seen = sse.messages.map((m) => m.data.deviceId ?? m.data.jobId);
      expect(seen).toContain(ids['berlin-1']);
      expect(seen).not.toContain(ids['paris-1']);
      expect(seen).not.toContain(paris.body.id);
      expect(all.messages.map((m) => m.data.jobId)).toContain(paris.body.id);
    } finally {
      sse.close();
      all.close();
    }
  });

  it('the fleet summary counts only devices in scope', async () => {
    await svc.app.monitor.refresh(true);
    const scoped = await svc.request('GET', '/v1/fleet/summary', undefined, operator);
    const whole = await svc.request('GET', '/v1/fleet/summary');
    expect(scoped.body.devices).toBe(whole.body.devices - 1);
    expect(JSON.stringify(scoped.body)).not.toContain(ids['paris-1']);
  });

  it('fleet-wide permissions are refused to a scoped key, naming the permission', async () => {
    for (const [method, path, body, permission] of [
      ['GET', '/v1/keys', undefined, 'keys:manage'],
      ['POST', '/v1/keys', { name: 'escalate', role: 'admin' }, 'keys:manage'],
      ['GET', '/v1/audit', undefined, 'audit:read'],
      ['GET', '/v1/webhooks', undefined, 'webhooks:manage'],
      ['POST', '/v1/profiles', { name: 'p', config: {} }, 'profiles:manage'],
    ] as [string, string, unknown, string][]) {
      const res = await svc.request(method, path, body, admin);
      expect(res.status, path).toBe(403);
      expect(res.body.details.permission).toBe(permission);
      expect(res.body.message).toContain('scoped to "site=berlin"');
    }
  });
});

/**
 * Authentication and roles: every registered route declares what it needs; a table of role × route
 * class; a sweep of every route with every role; revoked keys refused at once; the first admin key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/server.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { type Permission, type Role, refusal } from '../../src/security/permissions.js';
import { bearer, startService, TEST_ADMIN_KEY, type TestService } from '../helpers/service.js';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/** One route of each class, and which roles may use it. */
const ROUTE_CLASSES: { name: string; method: string; path: string; body?: unknown; allowed: Role[] }[] = [
  { name: 'read devices', method: 'GET', path: '/v1/devices', allowed: ROLES },
  { name: 'read jobs', method: 'GET', path: '/v1/jobs', allowed: ROLES },
  { name: 'read profiles', method: 'GET', path: '/v1/profiles', allowed: ROLES },
  { name: 'fleet summary', method: 'GET', path: '/v1/fleet/summary', allowed: ROLES },
  {
    name: 'start/stop',
    method: 'POST',
    path: '/v1/devices/DEVICE/start?wait=0',
    allowed: ['operator', 'admin'],
  },
  {
    name: 'apply a config',
    method: 'PUT',
    path: '/v1/devices/DEVICE/config?wait=0',
    body: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'k' } },
    allowed: ['operator', 'admin'],
  },
  {
    name: 'run a job',
    method: 'POST',
    path: '/v1/jobs',
    body: { action: 'stop', deviceIds: ['DEVICE'], options: { dryRun: true } },
    allowed: ['operator', 'admin'],
  },
  {
    name: 'reboot (job)',
    method: 'POST',
    path: '/v1/jobs',
    body: { action: 'reboot', deviceIds: ['DEVICE'], options: { dryRun: true } },
    allowed: ['admin'],
  },
  { name: 'reboot (device)', method: 'POST', path: '/v1/devices/DEVICE/reboot?wait=0', allowed: ['admin'] },
  {
    name: 'manage devices',
    method: 'PATCH',
    path: '/v1/devices/DEVICE',
    body: { labels: { site: 'berlin' } },
    allowed: ['admin'],
  },
  {
    name: 'manage profiles',
    method: 'POST',
    path: '/v1/profiles',
    body: { name: 'P', config: {} },
    allowed: ['admin'],
  },
  { name: 'manage webhooks', method: 'GET', path: '/v1/webhooks', allowed: ['admin'] },
  { name: 'manage keys', method: 'GET', path: '/v1/keys', allowed: ['admin'] },
  { name: 'audit log', method: 'GET', path: '/v1/audit', allowed: ['admin'] },
];

describe('authentication and roles', () => {
  let svc: TestService;
  const keys = {} as Record<Role, string>;
  let deviceId: string;

  beforeAll(async () => {
    svc = await startService({ start: false });
    for (const role of ROLES) {
      const res = await svc.request('POST', '/v1/keys', { name: `${role} key`, role });
      expect(res.status).toBe(201);
      expect(res.body.secret).toMatch(/^efk_[A-Za-z0-9_-]{43}$/);
      keys[role] = res.body.secret;
    }
    const device = await svc.request('POST', '/v1/devices', {
      name: 'unreachable',
      vendor: 'osprey-talon',
      host: '127.0.0.1',
      port: 1,
    });
    deviceId = device.body.id;
  });
  afterAll(() => svc.close());

  it('refuses a request without a key, with an unknown key and with a malformed header (401)', async () => {
    for (const authorization of [
      '',
      'Bearer efk_nope',
      'Basic YWRtaW46YWRtaW4=',
      `Bearer ${TEST_ADMIN_KEY}x`,
    ]) {
      const res = await svc.request('GET', '/v1/devices', undefined, { authorization });
      expect(res.status, authorization).toBe(401);
      expect(res.body.error).toBe('unauthorized');
    }
  });

  for (const route of ROUTE_CLASSES) {
    for (const role of ROLES) {
      const allowed = route.allowed.includes(role);
      it(`${route.name}: ${role} is ${allowed ? 'allowed' : 'refused with 403'}`, async () => {
        const path = route.path.replace('DEVICE', deviceId);
        const body = route.body && JSON.parse(JSON.stringify(route.body).replace('DEVICE', deviceId));
        const res = await svc.request(route.method, path, body, bearer(keys[role]));
        if (allowed) expect([401, 403]).not.toContain(res.status);
        else {
          expect(res.status).toBe(403);
          expect(res.body.error).toBe('forbidden');
          expect(res.body.message).toContain(res.body.details.permission);
        }
      });
    }
  }

  it('every registered route declares access, and each one is enforced as declared for every role', async () => {
    const routes = svc.app.server.routeTable;
    expect(routes.length).toBeGreaterThan(30);
    expect(routes.some((r) => r.method === 'HEAD')).toBe(true);
    const checked: string[] = [];
    for (const route of routes) {
      expect(route.access, `${route.method} ${route.url}`).toBeTruthy();
      const path = route.url.replace(/:(\w+)/g, 'no-such-thing').replace(/\*$/, 'x');
      for (const who of [...ROLES, 'nobody'] as const) {
        const headers = who === 'nobody' ? { authorization: '' } : bearer(keys[who]);
        const status = await statusOf(svc, route.method, path, headers);
        const open = route.access === 'public' || route.access === 'external';
        const label = `${route.method} ${route.url} as ${who}`;
        if (open) expect(status, label).not.toBe(401);
        else if (who === 'nobody') expect(status, label).toBe(401);
        else {
          const refused = refusal({ keyId: '', keyName: '', role: who }, route.access as Permission);
          if (refused) expect(status, label).toBe(403);
          else expect([401, 403], label).not.toContain(status);
        }
        checked.push(label);
      }
    }
    expect(checked.length).toBe(routes.length * 4);
  });

  it('a route that declares no permission cannot be registered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ef-auth-'));
    const app = await buildApp({
      config: loadConfig({ DATA_DIR: dir, ADMIN_API_KEY: TEST_ADMIN_KEY }),
      logger: pino({ level: 'silent' }),
      secretKey: randomBytes(32).toString('base64'),
    });
    try {
      const server = await createServer(pino({ level: 'silent' }), {
        keys: app.store.apiKeys,
        audit: app.store.audit,
        publicEndpoints: new Set(),
        rateLimitPerMinute: 0,
      });
      expect(() => server.get('/v1/forgotten', async () => 'oops')).toThrow(/declares no permission/);
      server.get('/v1/remembered', { config: { permission: 'fleet:read' } }, async () => 'ok');
      await server.close();
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a revoked key is refused at once', async () => {
    const made = await svc.request('POST', '/v1/keys', { name: 'short-lived', role: 'operator' });
    expect((await svc.request('GET', '/v1/devices', undefined, bearer(made.body.secret))).status).toBe(200);
    expect((await svc.request('DELETE', `/v1/keys/${made.body.key.id}`)).status).toBe(204);
    const after = await svc.request('GET', '/v1/devices', undefined, bearer(made.body.secret));
    expect(after.status).toBe(401);
    expect(after.body.message).toBe('this API key has been revoked');
    const listed = await svc.request('GET', '/v1/keys?revoked=true');
    const key = listed.body.items.find((k: any) => k.id === made.body.key.id);
    expect(key).toMatchObject({ name: 'short-lived', role: 'operator', revokedBy: expect.any(String) });
    expect(key.prefix).toBe(made.body.secret.slice(0, 12));
    expect(JSON.stringify(listed.body)).not.toContain(made.body.secret);
  });

  it('keeps one unscoped admin key: revoking the last one is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ef-auth-'));
    const shown: string[] = [];
    const app = await buildApp({
      config: loadConfig({ DATA_DIR: dir }),
      logger: pino({ level: 'silent' }),
      secretKey: randomBytes(32).toString('base64'),
      announceKey: (k) => shown.push(k),
    });
    try {
      const res = await app.server.inject({
        method: 'DELETE',
        url: '/v1/keys/bootstrap-admin',
        headers: bearer(shown[0]!),
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toBe('last_admin_key');
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a fresh store gets an admin key, shown once (not logged); a restart shows none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ef-boot-'));
    const secretKey = randomBytes(32).toString('base64');
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => lines.push(l) });
    const shown: string[] = [];
    const open = () =>
      buildApp({
        config: loadConfig({ DATA_DIR: dir }),
        logger,
        secretKey,
        announceKey: (k) => shown.push(k),
      });
    try {
      let app = await open();
      expect(shown).toHaveLength(1);
      const ok = await app.server.inject({ method: 'GET', url: '/v1/keys', headers: bearer(shown[0]!) });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().items).toMatchObject([{ id: 'bootstrap-admin', role: 'admin', source: 'bootstrap' }]);
      await app.close();
      app = await open();
      expect(shown).toHaveLength(1);
      await app.close();
      for (const line of lines) expect(line).not.toContain(shown[0]!.slice(4));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ADMIN_API_KEY is an admin key; changing it revokes the old one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ef-env-'));
    const secretKey = randomBytes(32).toString('base64');
    const [first, second] = [
      `first-${randomBytes(24).toString('hex')}`,
      `second-${randomBytes(24).toString('hex')}`,
    ];
    const open = (key: string) =>
      buildApp({
        config: loadConfig({ DATA_DIR: dir, ADMIN_API_KEY: key }),
        logger: pino({ level: 'silent' }),
        secretKey,
        announceKey: () => {
          throw new Error('nothing to announce with ADMIN_API_KEY');
        },
      });
    const call = (app: Awaited<ReturnType<typeof open>>, key: string) =>
      app.server.inject({ method: 'GET', url: '/v1/keys', headers: bearer(key) }).then((r) => r.statusCode);
    try {
      let app = await open(first);
      expect(await call(app, first)).toBe(200);
      await app.close();
      app = await open(second);
      expect(await call(app, second)).toBe(200);
      expect(await call(app, first)).toBe(401);
      await app.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a too short ADMIN_API_KEY stops the service without echoing it', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'short-secret' })).toThrow(/ADMIN_API_KEY .*value not shown/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'short-secret' })).not.toThrow(/short-secret/);
  });

  it('healthz and metrics are public by default and protected when PUBLIC_ENDPOINTS=none', async () => {
    expect((await svc.request('GET', '/healthz', undefined, { authorization: '' })).status).toBe(200);
    expect((await svc.request('GET', '/metrics', undefined, { authorization: '' })).status).toBe(200);
    const closed = await startService({ start: false, env: { PUBLIC_ENDPOINTS: 'none' } });
    try {
      for (const path of ['/healthz', '/metrics', '/openapi.json', '/docs/']) {
        expect((await closed.request('GET', path, undefined, { authorization: '' })).status, path).toBe(401);
        expect((await closed.request('GET', path)).status, path).toBe(200);
      }
    } finally {
      await closed.close();
    }
  });
});

/** The status of a request; event streams are cut once their headers arrive. */
async function statusOf(svc: TestService, method: string, path: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const sent: Record<string, string> = { ...svc.headers, ...headers };
  if (sent.authorization === '') delete sent.authorization;
  const hasBody = !['GET', 'HEAD', 'DELETE'].includes(method);
  const res = await fetch(`${svc.url}${path}`, {
    method,
    headers: { ...sent, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
    ...(hasBody ? { body: '{}' } : {}),
    signal: controller.signal,
  });
  controller.abort();
  return res.status;
}

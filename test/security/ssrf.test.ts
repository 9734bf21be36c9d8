/**
 * The SSRF guard: refused addresses never get a device, and never get a connection — including a
 * host name that resolves to a refused address only later (DNS rebinding); webhook receivers are
 * refused the always-refused addresses and unlisted loopback, at subscription and at every
 * delivery. Names resolve from a hosts table; every address actually dialled is on loopback.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceUnreachableError } from '../../drivers/contract.js';
import { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { SimServer } from '../../drivers/sim/server.js';
import { teradekPrism } from '../../drivers/teradek/prism/driver.js';
import { PrismSim } from '../../drivers/teradek/prism/simulator.js';
import {
  AddressRefusedError,
  DEFAULT_DEVICE_NETWORKS,
  NetworkGuard,
} from '../../src/security/network-guard.js';
import { hostsTable } from '../helpers/hosts.js';
import { startService, type TestService } from '../helpers/service.js';

describe('NetworkGuard', () => {
  const guard = new NetworkGuard({ allow: DEFAULT_DEVICE_NETWORKS.join(',') });
  const everything = new NetworkGuard({ allow: '0.0.0.0/0,::/0' });

  it.each([
    ['169.254.169.254', /link-local/],
    ['169.254.0.1', /link-local/],
    ['fd00:ec2::254', /cloud metadata/],
    ['::ffff:169.254.169.254', /link-local/],
    ['64:ff9b::a9fe:a9fe', /link-local/],
    ['fe80::1', /link-local/],
    ['0.0.0.0', /unspecified/],
    ['::', /unspecified/],
    ['224.0.0.1', /multicast/],
  ])('always refuses %s, whatever is allowed', (address, reason) => {
    expect(() => everything.check(address)).toThrow(AddressRefusedError);
    expect(() => everything.check(address)).toThrow(reason);
    expect(() => guard.check(address)).toThrow(reason);
    expect(() => guard.checkWebhook(address)).toThrow(reason);
    expect(() => everything.checkWebhook(address)).toThrow(reason);
  });

  it('allows the private ranges by default, and nothing else', () => {
    for (const ok of ['10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.32.2', 'fd12:3456::1'])
      guard.check(ok);
    for (const refused of ['8.8.8.8', '172.32.0.1', '100.64.0.1', '2001:db8::1', '11.0.0.1'])
      expect(() => guard.check(refused), refused).toThrow(/not in ALLOW_DEVICE_NETWORKS/);
  });

  it('refuses loopback unless it is allowed', () => {
    expect(() => guard.check('127.0.0.1')).toThrow(/loopback; allow it in ALLOW_DEVICE_NETWORKS/);
    expect(() => guard.check('::1')).toThrow(/loopback/);
    expect(() => guard.check('::ffff:127.0.0.1')).toThrow(/loopback/);
    new NetworkGuard({ allow: '127.0.0.0/8' }).check('127.0.0.1');
  });

  it('.checkWebhook() allows receivers outside ALLOW_DEVICE_NETWORKS, but not unlisted loopback', () => {
    for (const ok of ['93.184.216.34', '10.1.2.3', '2001:db8::1', '100.64.0.1']) guard.checkWebhook(ok);
    for (const loopback of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', '64:ff9b::7f00:1'])
      expect(() => guard.checkWebhook(loopback), loopback).toThrow(/loopback; .* to deliver webhooks/);
    const allowed = new NetworkGuard({ allow: '127.0.0.0/8,::1/128' });
    for (const loopback of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1'])
      allowed.checkWebhook(loopback);
    expect(() => new NetworkGuard({ allow: '127.0.0.1/32' }).checkWebhook('127.0.0.2')).toThrow(/loopback/);
  });

  it('refuses a name that resolves to any refused address', async () => {
    const hosts = hostsTable({ 'good.test': ['10.0.0.5'], 'mixed.test': ['10.0.0.5', '169.254.169.254'] });
    const named = new NetworkGuard({ allow: '10.0.0.0/8', lookup: hosts.lookup });
    await named.checkHost('good.test');
    await expect(named.checkHost('mixed.test')).rejects.toThrow('address 169.254.169.254 is refused');
    await named.checkHost('not-yet-on-the-network.test'); // unknown names are checked at connect time
  });
});

describe('SSRF guard in the API', () => {
  let svc: TestService;
  let sims: SimServer;
  const hosts = hostsTable({
    'metadata.test': ['169.254.169.254'],
    'public.test': ['93.184.216.34'],
  });

  beforeAll(async () => {
    // Only 127.0.0.1 is allowed: 127.0.0.2 is a refused address that is still loopback, so even a
    // broken guard could only ever reach this machine.
    svc = await startService({
      start: false,
      hosts,
      env: { ALLOW_DEVICE_NETWORKS: '127.0.0.1/32,10.0.0.0/8' },
    });
    sims = new SimServer();
  });
  afterAll(async () => {
    await svc.close();
    await sims.close();
  });

  const create = (host: string, name = `cam-${host}`) =>
    svc.request('POST', '/v1/devices', { name, vendor: 'osprey-talon', host, port: 80 });

  it.each([
    ['169.254.169.254', 'link-local'],
    ['[fd00:ec2::254]', 'cloud metadata'],
    ['metadata.test', 'link-local'],
    ['8.8.8.8', 'not in ALLOW_DEVICE_NETWORKS'],
    ['public.test', 'not in ALLOW_DEVICE_NETWORKS'],
    ['127.0.0.2', 'loopback'],
  ])('refuses to add a device at %s with a 400 naming host', async (host, reason) => {
    const res = await create(host);
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'body/host', reason: expect.stringContaining(reason) }]);
  });

  it('refuses to move a device to a refused host, and refused hosts in an import', async () => {
    const ok = await create('10.9.9.9', 'movable');
    expect(ok.status).toBe(201);
    const moved = await svc.request('PATCH', `/v1/devices/${ok.body.id}`, { host: 'metadata.test' });
    expect(moved.status).toBe(400);
    expect(moved.body.details[0].field).toBe('body/host');
    expect((await svc.request('GET', `/v1/devices/${ok.body.id}`)).body.host).toBe('10.9.9.9');
    const csv = [
      'name,vendor,host',
      'a,videon,10.1.1.1',
      'b,videon,169.254.169.254',
      'c,videon,metadata.test',
    ].join('\n');
    const imported = await fetch(`${svc.url}/v1/devices/import`, {
      method: 'POST',
      headers: { ...svc.headers, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(imported.status).toBe(400);
    expect(((await imported.json()) as any).details).toEqual([
      { row: 3, field: 'host', reason: expect.stringContaining('169.254.169.254 is refused') },
      { row: 4, field: 'host', reason: expect.stringContaining('169.254.169.254 is refused') },
    ]);
  });

  it('refuses at connect time a name that resolves to a refused address after it was added (rebinding)', async () => {
    const sim = new TalonSim({ id: 'rebind' });
    const { port } = await sims.listen(sim, { host: '127.0.0.2' });
    hosts.set('cam.test', '127.0.0.1');
    const created = await svc.request('POST', '/v1/devices', {
      name: 'rebinding',
      vendor: 'osprey-talon',
      host: 'cam.test',
      port,
    });
    expect(created.status).toBe(201);
    hosts.set('cam.test', '127.0.0.2');
    const status = await svc.request('GET', `/v1/devices/${created.body.id}/status?fresh=true`);
    expect(status.body.connectivity).toBe('unreachable');
    expect(status.body.lastError).toContain('address 127.0.0.2 is refused');
    expect(sim.requestCount).toBe(0);
  });

  it('guards the Prism driver (MQTT over WebSocket) the same way', async () => {
    const sim = new PrismSim({ id: 'prism-guarded' });
    let upgrades = 0;
    const upgrade = sim.upgrade.bind(sim);
    sim.upgrade = (...args) => {
      upgrades++;
      upgrade(...args);
    };
    const { port } = await sims.listen(sim, { host: '127.0.0.2' });
    const lookup = hostsTable({ 'prism.test': ['127.0.0.2'] }).lookup;
    const guard = new NetworkGuard({ allow: '127.0.0.1/32' });
    for (const host of ['prism.test', '127.0.0.2']) {
      const driver = teradekPrism.create({
        endpoint: { id: 'p', vendor: 'teradek-prism', host, port },
        timeoutMs: 1000,
        checkAddress: guard.check,
        lookup,
      });
      await expect(driver.getStatus()).rejects.toThrow(DeviceUnreachableError);
      await expect(driver.getStatus()).rejects.toThrow(/127\.0\.0\.2 is refused/);
      await driver.close();
    }
    expect(upgrades).toBe(0);
  });
});

describe('SSRF guard for webhooks', () => {
  let svc: TestService;
  let receiver: Receiver;
  let otherLoopback: Receiver;
  const hosts = hostsTable();

  beforeAll(async () => {
    // As above, only 127.0.0.1 is allowed: 127.0.0.2 is refused loopback, so a broken guard could only
    // reach a receiver of this test. Names that would also resolve to a metadata address list a
    // loopback address first, where a broken guard would deliver instead of dialling off this host.
    svc = await startService({ hosts, env: { ALLOW_DEVICE_NETWORKS: '127.0.0.1/32,10.0.0.0/8' } });
    receiver = await startReceiver('127.0.0.1');
    otherLoopback = await startReceiver('127.0.0.2');
  });
  afterAll(async () => {
    await svc.close();
    await receiver.close();
    await otherLoopback.close();
  });

  const subscribe = (url: string) => svc.request('POST', '/v1/webhooks', { url, types: ['job.finished'] });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://0xa9fea9fe/', 'link-local'],
    ['http://[::ffff:169.254.169.254]/', 'link-local'],
    ['http://[fd00:ec2::254]/', 'cloud metadata'],
    ['http://[fe80::1]:8080/hook', 'link-local'],
    ['http://0.0.0.0:9/hook', 'unspecified'],
    ['http://224.0.0.1/hook', 'multicast'],
    ['http://127.0.0.2:9/hook', 'loopback'],
  ])('refuses to subscribe %s with a 400 naming body/url', async (url, reason) => {
    const res = await subscribe(url);
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'body/url', reason: expect.stringContaining(reason) }]);
    const hooks = (await svc.request('GET', '/v1/webhooks')).body.items;
    expect(hooks.map((h: { url: string }) => h.url)).not.toContain(url);
  });

  it('refuses to point a webhook at a refused address', async () => {
    const created = await subscribe('https://hooks.example.test/fleet');
    expect(created.status).toBe(201);
    const id = created.body.webhook.id;
    const moved = await svc.request('PATCH', `/v1/webhooks/${id}`, { url: 'http://169.254.169.254/' });
    expect(moved.status).toBe(400);
    expect(moved.body.details).toEqual([
      { field: 'body/url', reason: expect.stringContaining('169.254.169.254 is refused: link-local') },
    ]);
    const hooks = (await svc.request('GET', '/v1/webhooks')).body.items;
    expect(hooks.find((h: { id: string }) => h.id === id).url).toBe('https://hooks.example.test/fleet');
    expect((await svc.request('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
  });

  it('checks every address a receiver name resolves to at delivery, and delivers to allowed ones', async () => {
    hosts.set('ok-hook.test', '127.0.0.1');
    hosts.set('metadata-hook.test', '127.0.0.1', '169.254.169.254');
    hosts.set('rebound-hook.test', '127.0.0.1');
    const ok = await subscribe(`http://ok-hook.test:${receiver.port}/ok`);
    const metadata = await subscribe(`http://metadata-hook.test:${receiver.port}/metadata`);
    const rebound = await subscribe(`http://rebound-hook.test:${otherLoopback.port}/rebound`);
    for (const created of [ok, metadata, rebound]) expect(created.status).toBe(201);
    // The name moves to a refused address after the subscription was made.
    hosts.set('rebound-hook.test', '127.0.0.2');

    svc.app.hub.publish({ type: 'job.finished', jobId: 'ssrf-webhooks', data: {} });
    const [okLog, metadataLog, reboundLog] = await Promise.all(
      [ok, metadata, rebound].map((created) => firstAttempt(svc, created.body.webhook.id)),
    );

    expect(okLog).toMatchObject({ state: 'delivered', attempts: 1, lastStatus: 204 });
    expect(metadataLog.state).toBe('pending');
    expect(metadataLog.lastError).toContain('address 169.254.169.254 is refused: link-local');
    expect(metadataLog.lastStatus).toBeUndefined();
    expect(reboundLog.state).toBe('pending');
    expect(reboundLog.lastError).toContain('address 127.0.0.2 is refused: loopback');
    expect(receiver.paths).toEqual(['/ok']);
    expect(otherLoopback.paths).toEqual([]);
    expect(hosts.lookups.get('metadata-hook.test')).toBeGreaterThanOrEqual(1);
  }, 20_000);
});

interface Receiver {
  readonly port: number;
  /** Paths of the requests received, in order. */
  readonly paths: string[];
  close(): Promise<void>;
}

async function startReceiver(host: string): Promise<Receiver> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume().on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as { port: number }).port,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The delivery log entry of a webhook's only delivery, once it has been attempted. */
async function firstAttempt(svc: TestService, webhookId: string, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = (await svc.request('GET', `/v1/webhooks/${webhookId}/deliveries`)).body.items;
    if (items.length === 1 && items[0].attempts >= 1) return items[0];
    if (Date.now() > deadline)
      throw new Error(`webhook ${webhookId} was never attempted: ${JSON.stringify(items)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The SSRF guard: refused addresses never get a device, and never get a connection — including a
 * host name that resolves to a refused address only later (DNS rebinding). Names resolve from a
 * hosts table; every address actually dialled is on loopback.
 */
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

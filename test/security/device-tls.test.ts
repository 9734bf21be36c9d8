/**
 * Device TLS against loopback HTTPS simulators with certificates made in the test: trust on first
 * use records the fingerprint and refuses a different certificate afterwards; `verify` with a CA
 * bundle; `insecure` is flagged wherever the device is shown. Prism (MQTT over wss) pins too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAuthError } from '../../drivers/contract.js';
import { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { SimServer } from '../../drivers/sim/server.js';
import { teradekPrism } from '../../drivers/teradek/prism/driver.js';
import { PrismSim } from '../../drivers/teradek/prism/simulator.js';
import { startService, type TestService } from '../helpers/service.js';
import { selfSignedCertificate, type TestCertificate, type TlsFront, tlsFront } from '../helpers/tls.js';

describe('device TLS', () => {
  let svc: TestService;
  let sims: SimServer;
  let certA: TestCertificate;
  let certB: TestCertificate;
  let talon: TalonSim;
  let plain: { host: string; port: number };
  const fronts: TlsFront[] = [];
  /** A new TLS front to the Talon with this certificate (each device needs its own host:port). */
  const front = async (cert: TestCertificate) => {
    const made = await tlsFront(plain, cert);
    fronts.push(made);
    return made;
  };

  beforeAll(async () => {
    svc = await startService({ start: false });
    sims = new SimServer();
    talon = new TalonSim({ id: 'tls-talon' });
    plain = await sims.listen(talon);
    // Two certificates for one device: what a swapped (or impostor's) certificate looks like.
    [certA, certB] = await Promise.all([selfSignedCertificate(), selfSignedCertificate()]);
  });
  afterAll(async () => {
    await svc.close();
    for (const f of fronts) await f.close();
    await sims.close();
  });

  const add = async (name: string, cert: TestCertificate, tls: unknown) => {
    const res = await svc.request('POST', '/v1/devices', {
      name,
      vendor: 'osprey-talon',
      host: '127.0.0.1',
      port: (await front(cert)).port,
      tls,
      credentials: { username: 'admin', password: 'osprey' },
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  const fresh = async (id: string) => (await svc.request('GET', `/v1/devices/${id}/status?fresh=true`)).body;

  it('trust on first use: records the first certificate, then refuses another one', async () => {
    const device = await add('tofu', certA, { mode: 'pin' });
    expect(device.tlsWarning).toMatch(/first certificate .* will be trusted/);
    expect((await fresh(device.id)).connectivity).toBe('online');
    let stored: any;
    for (let i = 0; i < 50 && !stored?.tls.fingerprint256; i++) {
      stored = (await svc.request('GET', `/v1/devices/${device.id}`)).body;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(stored.tls).toEqual({ mode: 'pin', fingerprint256: certA.fingerprint256 });
    expect(stored.tlsWarning).toBeUndefined();
    expect((await fresh(device.id)).connectivity).toBe('online');

    const swapped = await front(certB);
    const moved = await svc.request('PATCH', `/v1/devices/${device.id}`, { port: swapped.port });
    expect(moved.body.tls.fingerprint256).toBe(certA.fingerprint256);
    const requests = talon.requestCount;
    const refused = await fresh(device.id);
    expect(refused.connectivity).toBe('auth_failed');
    expect(refused.lastError).toContain('is not the pinned one');
    expect(talon.requestCount).toBe(requests); // nothing was sent over the refused connection
  });

  it('a configured pin is never replaced by what the device presents', async () => {
    const device = await add('pinned', certB, { mode: 'pin', fingerprint256: certA.fingerprint256 });
    expect((await fresh(device.id)).lastError).toContain('is not the pinned one');
    expect((await svc.request('GET', `/v1/devices/${device.id}`)).body.tls.fingerprint256).toBe(
      certA.fingerprint256,
    );
  });

  it('verify: trusted with the CA bundle, refused without it', async () => {
    const withCa = await add('verify-ca', certA, { mode: 'verify', ca: certA.cert });
    expect(withCa.tls).toEqual({ mode: 'verify', ca: '(set)' });
    expect((await fresh(withCa.id)).connectivity).toBe('online');
    const without = await add('verify-system', certB, { mode: 'verify' });
    const refused = await fresh(without.id);
    expect(refused.connectivity).toBe('auth_failed');
    expect(refused.lastError).toMatch(/TLS certificate not trusted/);
  });

  it('insecure works, and is flagged in the device view and the list', async () => {
    const device = await add('insecure', certB, { mode: 'insecure' });
    expect(device.tlsWarning).toBe('TLS certificate checks are switched off for this device');
    expect((await fresh(device.id)).connectivity).toBe('online');
    const listed = (await svc.request('GET', '/v1/devices?q=insecure')).body.items[0];
    expect(listed.tlsWarning).toBe(device.tlsWarning);
  });

  it('Prism over wss: trust on first use, then a different certificate is refused', async () => {
    const prism = new PrismSim({ id: 'tls-prism', startDelayMs: 10 });
    const plain = await sims.listen(prism);
    const [one, two] = await Promise.all([tlsFront(plain, certA), tlsFront(plain, certB)]);
    const seen: string[] = [];
    const open = (port: number, fingerprint256?: string) =>
      teradekPrism.create({
        endpoint: {
          id: 'prism',
          vendor: 'teradek-prism',
          host: '127.0.0.1',
          port,
          tls: { mode: 'pin', ...(fingerprint256 ? { fingerprint256 } : {}) },
        },
        timeoutMs: 2000,
        onFirstCertificate: (fp) => seen.push(fp),
      });
    const first = open(one.port);
    const second = open(two.port, certA.fingerprint256);
    try {
      expect((await first.getStatus()).state).toBeTruthy();
      expect(seen).toEqual([certA.fingerprint256]);
      await expect(second.getStatus()).rejects.toThrow(DeviceAuthError);
      await expect(second.getStatus()).rejects.toThrow(/not the pinned one/);
    } finally {
      await first.close();
      await second.close();
      await one.close();
      await two.close();
    }
  });
});

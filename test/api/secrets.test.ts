/**
 * Device passwords, stream keys, SRT passphrases, WHIP tokens and webhook secrets never appear in
 * full in any API response or any log line, on the success paths and the failure paths, and never
 * in plaintext in the database (the SQLite files on disk; every row of every PostgreSQL table).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { SimServer } from '../../drivers/sim/server.js';
import { startService, type TestService } from '../helpers/service.js';
import { BACKENDS, TEST_DATABASE_URL } from '../helpers/store.js';

const SECRETS = {
  password: 'Dev1ce-Passw0rd-Zq9',
  streamKey: 'STREAMKEY-ABCDE-Zq9-77',
  passphrase: 'srt-passphrase-Zq9-12',
  bearerToken: 'whip-bearer-Zq9-0123456789',
  streamId: 'push:SECRET-STREAM-Zq9',
  webhookSecret: 'whsec-Zq9-webhook-secret-value',
  streamName: 'NANO-SECRET-Zq9-STREAM',
  renditionStreamName: 'NANO-LOW-Zq9-STREAM',
};

describe.each(BACKENDS)('secrets stay secret (%s store)', (backend) => {
  let svc: TestService;
  let sims: SimServer;
  const responses: string[] = [];
  let id: string;

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await svc.request(method, path, body);
    responses.push(JSON.stringify(res.body));
    return res;
  };

  beforeAll(async () => {
    svc = await startService({ backend });
    sims = new SimServer();
    const sim = new TalonSim({ id: 'sec', password: SECRETS.password, startDelayMs: 10 });
    const { host, port } = await sims.listen(sim);
    const created = await call('POST', '/v1/devices', {
      name: 'secret-talon',
      vendor: 'osprey-talon',
      host,
      port,
      credentials: { username: 'admin', password: SECRETS.password },
      overrides: { target: { streamKey: SECRETS.streamKey } },
    });
    expect(created.status).toBe(201);
    id = created.body.id;
    await call('PUT', `/v1/devices/${id}/config`, {
      target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: SECRETS.streamKey },
    });
    await call('PUT', `/v1/devices/${id}/config`, {
      target: {
        protocol: 'srt',
        host: '127.0.0.1',
        streamId: SECRETS.streamId,
        passphrase: SECRETS.passphrase,
      },
    });
    await call('PUT', `/v1/devices/${id}/config`, {
      target: { protocol: 'whip', url: 'https://127.0.0.1/whip', bearerToken: SECRETS.bearerToken },
    });
    const profile = await call('POST', '/v1/profiles', {
      name: 'secret-profile',
      config: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: SECRETS.streamKey } },
    });
    await call('PATCH', `/v1/devices/${id}`, {
      profile: 'secret-profile',
      overrides: { target: { streamKey: SECRETS.streamKey } },
    });
    const job = await call('POST', '/v1/jobs', {
      action: 'apply',
      deviceIds: [id],
      config: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: SECRETS.streamKey } },
      options: { dryRun: true },
    });
    await svc.app.engine.waitFor(job.body.id, 5000);
    await call('GET', `/v1/jobs/${job.body.id}?results=all`);
    await call('GET', `/v1/jobs/${job.body.id}/tasks`);
    await call('GET', '/v1/jobs');
    await call('GET', `/v1/devices/${id}`);
    await call('GET', '/v1/devices');
    await call('GET', '/v1/profiles');
    await call('GET', `/v1/profiles/${profile.body.id}/versions`);
    // nanoStream stream names: the shorthand in a profile, per-device names for main and rendition.
    await call('POST', '/v1/profiles', {
      name: 'nano-abr',
      config: {
        target: { protocol: 'nanostream', ingest: 'srt' },
        video: { codec: 'h264', bitrateKbps: 2000 },
        renditions: [{ video: { bitrateKbps: 500 } }],
      },
    });
    await call('PATCH', `/v1/devices/${id}`, {
      profile: 'nano-abr',
      overrides: {
        target: { streamName: SECRETS.streamName },
        renditions: [{ target: { streamName: SECRETS.renditionStreamName } }],
      },
    });
    const abr = await call('POST', '/v1/jobs', { action: 'apply', deviceIds: [id], profile: 'nano-abr' });
    await svc.app.engine.waitFor(abr.body.id, 5000);
    await call('GET', `/v1/jobs/${abr.body.id}/tasks`);
    await call('GET', `/v1/devices/${id}`);
    await svc.app.monitor.refresh();
    const publish = await fetch(`${svc.url}/v1/ingest/nanostream/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `call=publish&name=${SECRETS.streamName}`,
    });
    expect(publish.status).toBe(200);
    const hook = await call('POST', '/v1/webhooks', {
      url: 'http://127.0.0.1:9/hook',
      secret: SECRETS.webhookSecret,
      types: ['job.finished'],
    });
    expect(hook.status).toBe(201);
    await call('GET', '/v1/webhooks');
    // A failure path: wrong password, so the device's refusal is logged and returned.
    await call('PATCH', `/v1/devices/${id}`, {
      credentials: { username: 'admin', password: `${SECRETS.password}-wrong` },
    });
    await call('POST', `/v1/devices/${id}/start?wait=10`);
  });

  afterAll(async () => {
    await svc.close();
    await sims.close();
  });

  it('shows secrets only as { set, last4 }', async () => {
    const device = await svc.request('GET', `/v1/devices/${id}`);
    expect(device.body.credentials.password).toEqual({ set: true });
    expect(device.body.overrides.target.streamName).toEqual({ set: true, last4: 'REAM' });
    expect(device.body.overrides.renditions[0].target.streamName).toEqual({ set: true, last4: 'REAM' });
    expect(device.body.desired.config.target.streamId).toEqual({ set: true, last4: 'REAM' });
    const profile = await svc.request('GET', '/v1/profiles/secret-profile');
    expect(profile.body.config.target.streamKey).toEqual({ set: true, last4: '9-77' });
  });

  for (const [name, secret] of Object.entries(SECRETS)) {
    it(`never returns the ${name}`, () => {
      expect(responses.length).toBeGreaterThan(10);
      for (const text of responses) expect(text).not.toContain(secret);
    });
    it(`never logs the ${name}`, () => {
      expect(svc.logs.length).toBeGreaterThan(5);
      for (const line of svc.logs) expect(line).not.toContain(secret);
    });
  }

  it('stores no secret in plaintext', async () => {
    const stored =
      backend === 'sqlite' ? await sqliteFiles(svc.dataDir) : await pgRows(svc.restartOptions.pgSchema!);
    expect(stored.length).toBeGreaterThan(1000);
    // The test would be empty if the secrets never reached the store: they did, encrypted.
    expect(stored).toContain('secret-talon');
    for (const secret of Object.values(SECRETS)) expect(stored).not.toContain(secret);
  });

  it('logs redact secret fields even when code logs them by mistake', () => {
    svc.app.logger.info(
      { credentials: { password: SECRETS.password }, config: { target: { streamKey: SECRETS.streamKey } } },
      'oops',
    );
    const line = svc.logs.at(-1)!;
    expect(line).toContain('oops');
    expect(line).toContain('[redacted]');
    expect(line).not.toContain(SECRETS.password);
    expect(line).not.toContain(SECRETS.streamKey);
  });
});

/** Every byte of the SQLite database and its write-ahead log, as text (the key file excluded). */
async function sqliteFiles(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => !f.startsWith('secret.key'));
  expect(files.some((f) => f.endsWith('-wal') || f.endsWith('.db') || f.endsWith('.sqlite'))).toBe(true);
  const parts = await Promise.all(files.map((f) => readFile(join(dir, f))));
  return Buffer.concat(parts).toString('latin1');
}

/** Every row of every table in the service's PostgreSQL schema, as text. */
async function pgRows(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1',
      [schema],
    );
    expect(tables.rows.length).toBeGreaterThan(5);
    const out: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await client.query(`select t::text as row from "${schema}"."${table_name}" t`);
      for (const r of rows.rows) out.push(r.row);
    }
    return out.join('\n');
  } finally {
    await client.end();
  }
}

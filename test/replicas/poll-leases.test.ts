/**
 * Two replicas of the service — real processes — on one PostgreSQL (a private schema) share a
 * simulated fleet on loopback: each device is polled by exactly one of them (the simulators' request
 * logs show no device polled twice in one interval), the split is the rendezvous-hash split of the
 * lease shards, and when one replica is killed (SIGKILL, no goodbye) the other polls its devices
 * within two poll intervals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimFleet, startSimFleet } from '../../drivers/sim/fleet.js';
import { shardOf, shardsOf } from '../../src/fleet/poll-ownership.js';
import { TEST_ADMIN_KEY, TEST_DEVICE_NETWORKS } from '../helpers/service.js';
import { dropSchema, TEST_DATABASE_URL } from '../helpers/store.js';

const POLL_MS = 2000;
const DEVICES = 24;
const ROOT = join(import.meta.dirname, '../..');

interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
  readonly dataDir: string;
  stderr: string;
}

describe('two replicas on one PostgreSQL', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(32).toString('base64');
  const replicas: Replica[] = [];
  let fleet: SimFleet;
  /** Service device id → simulator device. */
  const simOf = new Map<string, ReturnType<SimFleet['byId']>>();

  beforeAll(async () => {
    fleet = await startSimFleet({ counts: { 'osprey-talon': DEVICES }, addressBlock: 40 });
    // One after the other: the first creates the schema and runs the migrations.
    replicas.push(await startReplica(schema, secretKey));
    replicas.push(await startReplica(schema, secretKey));
    const imported = await call(replicas[0]!.url, 'POST', '/v1/devices/import', fleet.inventoryCsv());
    expect(imported.created).toBe(DEVICES);
    const { items } = await call(replicas[1]!.url, 'GET', '/v1/devices?limit=1000');
    for (const d of items) simOf.set(d.id, fleet.byId(d.name));
  }, 60_000);

  afterAll(async () => {
    for (const r of replicas) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        const exited = new Promise((resolve) => r.child.once('exit', resolve));
        r.child.kill('SIGTERM');
        await exited;
      }
      await rm(r.dataDir, { recursive: true, force: true });
    }
    await fleet?.close();
    await dropSchema(schema);
  });

  it('splits the devices between the replicas, each polled by exactly one, and fails over within two intervals', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const health = async (r: Replica) => (await call(r.url, 'GET', '/healthz')).details;

    // Both hold shards and between them poll every device once.
    await waitFor(async () => {
      const [ha, hb] = [await health(a), await health(b)];
      return ha.pollShards > 0 && hb.pollShards > 0 && ha.pollShards + hb.pollShards === 64
        ? ha.polling + hb.polling === DEVICES
        : false;
    }, 20_000);
    const ids = [...simOf.keys()];
    const [ha, hb] = [await health(a), await health(b)];
    const aShards = shardsOf(ha.instance, [ha.instance, hb.instance]);
    const aDevices = ids.filter((id) => aShards.has(shardOf(id)));
    expect(ha.polling).toBe(aDevices.length);
    expect(aDevices.length).toBeGreaterThan(0);
    expect(aDevices.length).toBeLessThan(DEVICES);

    // Watch three intervals: every device polled about once per interval, never twice at once.
    const from = Date.now();
    await sleep(3 * POLL_MS);
    for (const id of ids) {
      const polls = statusPolls(simOf.get(id)!, from);
      expect(polls.length, `polls of ${id}`).toBeGreaterThanOrEqual(2);
      expect(polls.length, `polls of ${id}`).toBeLessThanOrEqual(4);
      for (let i = 1; i < polls.length; i++)
        expect(polls[i]! - polls[i - 1]!, `gap between polls of ${id}`).toBeGreaterThan(POLL_MS / 2);
    }

    // B knows the state and identity of A's devices from A's events.
    const seenByB = await call(b.url, 'GET', `/v1/devices/${aDevices[0]}/status`);
    const sim = simOf.get(aDevices[0]!)!;
    expect(seenByB).toMatchObject({ connectivity: 'online', stream: 'idle', model: expect.any(String) });
    expect(seenByB.firmware).toBe((sim as { firmware?: string }).firmware);

    // Kill A without a chance to hand over: B polls every one of A's devices within two intervals.
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await waitFor(async () => (await health(b)).polling === DEVICES, 2 * POLL_MS + 1000);
    await waitFor(
      async () => aDevices.every((id) => statusPolls(simOf.get(id)!, killedAt).length > 0),
      2 * POLL_MS + 1000,
    );
    const takeover = Math.max(...aDevices.map((id) => statusPolls(simOf.get(id)!, killedAt)[0]! - killedAt));
    expect(takeover).toBeLessThanOrEqual(2 * POLL_MS);
    expect((await health(b)).pollShards).toBe(64);
    // And B's view of them is fresh.
    const status = await call(b.url, 'GET', `/v1/devices/${aDevices[0]}/status`);
    expect(Date.parse(status.lastSeen)).toBeGreaterThan(killedAt);
  }, 60_000);
});

function statusPolls(sim: NonNullable<ReturnType<SimFleet['byId']>>, since: number): number[] {
  return sim.requestLog.filter((r) => r.at >= since && r.path.endsWith('/status')).map((r) => r.at);
}

async function startReplica(schema: string, secretKey: string): Promise<Replica> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ef-replica-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: dataDir,
      SECRET_KEY: secretKey,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ALLOW_DEVICE_NETWORKS: TEST_DEVICE_NETWORKS,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      POLL_INTERVAL_MS: String(POLL_MS),
      DEVICE_TIMEOUT_MS: '1000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const replica: Replica = { child, url: `http://127.0.0.1:${port}`, dataDir, stderr: '' };
  child.stderr!.on('data', (d) => {
    replica.stderr = (replica.stderr + String(d)).slice(-5000);
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`replica exited: ${replica.stderr}`);
      return fetch(`${replica.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
    100,
  );
  return replica;
}

async function call(url: string, method: string, path: string, body?: string): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_ADMIN_KEY}`,
      ...(body !== undefined ? { 'content-type': 'text/csv' } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Two service processes (real child processes, `node --import tsx src/main.ts`) on one PostgreSQL
 * database, both running the scheduler, one schedule for 200 simulated devices: each device is
 * configured once, started once and stopped once (counted by the simulators), and the run records
 * one firing per phase.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimFleet, startSimFleet } from '../../drivers/sim/fleet.js';
import { TEST_ADMIN_KEY, TEST_DEVICE_NETWORKS } from '../helpers/service.js';
import { dropSchema, TEST_DATABASE_URL } from '../helpers/store.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEVICES = 200;

interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: string[];
  readonly dataDir: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'ef-proc-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...String(chunk).split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited: ${output.slice(-20).join('\n')}`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`service not healthy: ${output.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, child, output, dataDir };
}

async function stopProcess(p: ServiceProcess | undefined): Promise<void> {
  if (!p) return;
  if (p.child.exitCode === null) {
    const exited = new Promise((resolve) => p.child.once('exit', resolve));
    p.child.kill('SIGTERM');
    const force = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(force);
  }
  await rm(p.dataDir, { recursive: true, force: true });
}

async function call(url: string, method: string, path: string, body?: unknown, type = 'application/json') {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_ADMIN_KEY}`,
      ...(body !== undefined ? { 'content-type': type } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Log lines (pino JSON) with this message. */
const linesWith = (p: ServiceProcess, msg: string) =>
  p.output.filter((l) => l.startsWith('{') && (JSON.parse(l) as { msg?: string }).msg === msg);

describe('two service processes on one PostgreSQL database', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let fleet: SimFleet;
  let a: ServiceProcess | undefined;
  let b: ServiceProcess | undefined;

  beforeAll(async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
    fleet = await startSimFleet({ counts: { 'osprey-talon': DEVICES }, addressBlock: 70, startDelayMs: 30 });
    const env = {
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      SECRET_KEY: randomBytes(32).toString('base64'),
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ALLOW_DEVICE_NETWORKS: TEST_DEVICE_NETWORKS,
      LOG_LEVEL: 'debug',
      POLL_INTERVAL_MS: '600000',
    };
    a = await startProcess(env); // the first applies the migrations
    b = await startProcess(env);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopProcess(a), stopProcess(b)]);
    await fleet?.close();
    await dropSchema(schema);
  });

  it('each device gets exactly one start and one stop', { timeout: 120_000 }, async () => {
    const imported = await call(a!.url, 'POST', '/v1/devices/import', fleet.inventoryCsv(), 'text/csv');
    expect(imported.status, JSON.stringify(imported.body)).toBeLessThan(300);

    const start = Math.ceil((Date.now() + 6000) / 1000) * 1000;
    const created = await call(a!.url, 'POST', '/v1/schedules', {
      name: 'two-processes',
      selector: 'sim=true',
      config: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'TWO-PROCS' } },
      start: new Date(start).toISOString(),
      end: new Date(start + 5000).toISOString(),
      options: { preRollMinutes: 0 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    // A change through the second process wakes its scheduler too, so both arm a timer for the start
    // (otherwise it would notice the schedule on its next poll of the store).
    expect((await call(b!.url, 'PATCH', `/v1/schedules/${id}`, { enabled: true })).status).toBe(200);

    let run: any;
    const deadline = Date.now() + 90_000;
    for (;;) {
      [run] = (await call(b!.url, 'GET', `/v1/schedules/${id}/runs`)).body.items;
      const stopJob = run?.phases.stop?.job;
      if (run?.state === 'ended' && stopJob && !['queued', 'running'].includes(stopJob.state)) break;
      if (Date.now() > deadline) throw new Error(`run did not end: ${JSON.stringify(run)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(run).toMatchObject({ state: 'ended', outcome: 'succeeded', devices: DEVICES });
    for (const phase of ['preroll', 'start', 'stop'])
      expect(run.phases[phase].job.counts).toMatchObject({ total: DEVICES, failed: 0 });

    const perDevice = fleet.devices.map(({ device }) => [
      device.count('config'),
      device.count('start'),
      device.count('stop'),
    ]);
    expect(perDevice.filter(([c, s, t]) => c !== 1 || s !== 1 || t !== 1)).toEqual([]);

    // One job per phase in the store, fired once between the two processes.
    const jobs = (await call(a!.url, 'GET', '/v1/jobs?limit=50')).body.items.filter(
      (j: { origin: string }) => j.origin === 'schedule',
    );
    expect(jobs.map((j: { action: string }) => j.action).sort()).toEqual(['apply', 'start', 'stop']);
    const started = [a!, b!].flatMap((p) => linesWith(p, 'scheduled start fired'));
    const stopped = [a!, b!].flatMap((p) => linesWith(p, 'scheduled stop fired'));
    expect([started.length, stopped.length]).toEqual([1, 1]);
  });
});

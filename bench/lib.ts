/**
 * Shared benchmark plumbing. The service and the simulated fleet run as separate processes (plain
 * `node --import tsx`, no wrapper process), so the service's RSS and CPU time are its own; both are
 * read from /proc while the benchmark runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The admin API key of every service a benchmark starts; `api` sends it. */
export const BENCH_ADMIN_KEY = `efk_bench_${randomBytes(24).toString('base64url')}`;

/** The repository root; benchmarks run from the compiled build (dist/bench), as production runs dist/src. */
const ROOT = join(import.meta.dirname, import.meta.dirname.includes('/dist/') ? '../..' : '..');
const DIST = join(ROOT, 'dist');

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  stop(): Promise<void>;
}

function node(args: string[], env: Record<string, string>): ChildProcess {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof") goes to the service and simulator processes, for profiling.
  const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const [script, ...rest] = args;
  return spawn(process.execPath, [...extra, join(DIST, script!.replace(/\.ts$/, '.js')), ...rest], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function stopper(child: ChildProcess) {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

export interface SimProcess extends Spawned {
  readonly controlUrl: string;
  readonly inventoryFile: string;
  readonly devices: number;
  readonly startMs: number;
  readonly rssMb: number;
}

/** Starts `npm run sim` as a process and waits for its ready line. */
export async function startSimProcess(opts: {
  counts: Record<string, number>;
  latencyMs?: number;
  dir: string;
  faults?: Record<string, number | boolean>;
}): Promise<SimProcess> {
  const inventoryFile = join(opts.dir, 'inventory.csv');
  const args = ['drivers/sim/cli.ts', '--inventory', inventoryFile];
  for (const [vendor, n] of Object.entries(opts.counts))
    args.push(`--${vendor === 'osprey-talon' ? 'talon' : vendor}`, String(n));
  if (opts.latencyMs) args.push('--latency', String(opts.latencyMs));
  for (const [k, v] of Object.entries(opts.faults ?? {})) args.push('--fault', `${k}=${v}`);
  const child = node(args, {});
  const line = await firstJsonLine(child, 'simulator');
  return {
    child,
    pid: child.pid!,
    stop: stopper(child),
    controlUrl: line.control as string,
    inventoryFile,
    devices: line.devices as number,
    startMs: line.startMs as number,
    rssMb: line.rssMb as number,
  };
}

export interface ServiceProcess extends Spawned {
  readonly url: string;
  readonly dataDir: string;
}

/** Starts the service on a fresh embedded store (or the given env) and waits until it is healthy. */
export async function startServiceProcess(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ef-bench-'));
  const port = await freePort();
  const child = node(['src/main.ts'], {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SECRET_KEY: randomBytes(32).toString('base64'),
    ADMIN_API_KEY: BENCH_ADMIN_KEY,
    // The simulated fleets live on loopback; benchmarks measure the service, not the rate limiter.
    ALLOW_DEVICE_NETWORKS: '127.0.0.0/8',
    RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-10_000);
  });
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited: ${stderr}`);
    const ok = await fetch(`${url}/healthz`, {
      headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` },
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`service did not become healthy: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = stopper(child);
  return {
    child,
    pid: child.pid!,
    url,
    dataDir,
    async stop() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A port nobody listens on right now (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
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

async function firstJsonLine(child: ChildProcess, what: string): Promise<Record<string, unknown>> {
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.startsWith('{')) {
      lines.removeAllListeners();
      child.stdout!.resume();
      return JSON.parse(line) as Record<string, unknown>;
    }
  }
  throw new Error(`${what} exited before it was ready: ${stderr}`);
}

/** RSS now and at peak (VmHWM), and CPU time used so far, of a process, from /proc. */
export async function processStats(
  pid: number,
): Promise<{ rssMb: number; peakRssMb: number; cpuMs: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of /proc/pid/stat (1-based), in clock ticks (100 Hz here).
  const ticks = Number(stat[11]) + Number(stat[12]);
  return {
    rssMb: Math.round(kb('VmRSS') / 1024),
    peakRssMb: Math.round(kb('VmHWM') / 1024),
    cpuMs: ticks * 10,
  };
}

export async function api(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${BENCH_ADMIN_KEY}`,
      ...(body !== undefined
        ? { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' }
        : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Imports the simulator's inventory file into the service. */
export async function importInventory(url: string, file: string): Promise<{ created: number }> {
  return api(url, 'POST', '/v1/devices/import', await readFile(file, 'utf8'));
}

/** Polls a job until it ends. */
export async function waitForJob(url: string, jobId: string, timeoutMs = 600_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { job } = await api(url, 'GET', `/v1/jobs/${jobId}?results=none`);
    if (['succeeded', 'partially_failed', 'failed', 'canceled', 'aborted'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function tempDir(): Promise<{ dir: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ef-bench-'));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export interface Target {
  readonly figure: string;
  readonly value: number;
  /** `max`: value must be ≤ limit; `min`: ≥ limit. */
  readonly kind: 'max' | 'min';
  readonly limit: number;
}

export interface BenchResult {
  readonly name: string;
  readonly figures: Record<string, number>;
  readonly targets: readonly Target[];
}

export async function saveResult(result: BenchResult): Promise<void> {
  const file = join(ROOT, 'bench', 'results.json');
  const all = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  all[result.name] = { ...result.figures, measuredAt: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(all, null, 2)}\n`);
}

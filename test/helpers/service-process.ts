/**
 * The service as a real child process (`node --import tsx src/main.ts`), for tests that kill it
 * (SIGKILL: no shutdown hooks run) and start it again on the same DATA_DIR.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TEST_ADMIN_KEY, TEST_DEVICE_NETWORKS } from './service.js';

const ROOT = join(import.meta.dirname, '../..');

export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** The last 20 KB the process wrote to stderr and stdout (its logs). */
  output(): string;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the service with `env` (DATA_DIR, SECRET_KEY, …) and waits until /healthz answers.
 * `onChild` is told the process as soon as it exists, for a test that may have to kill it before it
 * answers (it can act on devices before then).
 */
export async function spawnService(
  env: Record<string, string>,
  opts: { onChild?: (child: ChildProcess) => void } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ALLOW_DEVICE_NETWORKS: TEST_DEVICE_NETWORKS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  opts.onChild?.(child);
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + String(d)).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited at start: ${output}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service did not become healthy: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    child,
    output: () => output,
    async request(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TEST_ADMIN_KEY}`,
          ...(body === undefined
            ? {}
            : { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' }),
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

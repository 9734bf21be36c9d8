/**
 * Runs the whole service in-process on loopback, on a fresh store, for API and end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type App, buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { loggerOptions } from '../../src/logger.js';
import { type Backend, dropSchema, TEST_DATABASE_URL } from './store.js';

export interface TestService {
  readonly app: App;
  readonly url: string;
  /** Every log line the service wrote, as text. */
  readonly logs: string[];
  readonly dataDir: string;
  /** What a second service needs to open the same data (`startService({ reuse })`). */
  readonly restartOptions: { dataDir: string; pgSchema?: string; secretKey: string };
  /** Stops the service and keeps its data (for a restart). */
  stop(): Promise<void>;
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export interface ServiceOptions {
  backend?: Backend;
  env?: Record<string, string>;
  start?: boolean;
  /**
   * Restart a service on the same data: its DATA_DIR, PostgreSQL schema and secret key (see
   * `TestService.restartOptions`). The first service of the pair cleans up.
   */
  reuse?: { dataDir: string; pgSchema?: string; secretKey: string };
}

export async function startService(opts: ServiceOptions = {}): Promise<TestService> {
  const dataDir = opts.reuse?.dataDir ?? (await mkdtemp(join(tmpdir(), 'ef-svc-')));
  const pgSchema =
    opts.reuse?.pgSchema ?? (opts.backend === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined);
  const secretKey = opts.reuse?.secretKey ?? randomBytes(32).toString('base64');
  const config: Config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    DEVICE_TIMEOUT_MS: '2000',
    POLL_INTERVAL_MS: '1000',
    ...(pgSchema ? { DATABASE_URL: TEST_DATABASE_URL } : {}),
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = pino(loggerOptions('debug'), sink);
  const app = await buildApp({
    config,
    logger,
    secretKey,
    ...(pgSchema ? { pgSchema } : {}),
  });
  let closing: Promise<void> | undefined;
  const closeApp = () => (closing ??= app.close());
  if (opts.start !== false) await app.start();
  const address = await app.server.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    url: address,
    logs,
    dataDir,
    restartOptions: { dataDir, secretKey, ...(pgSchema ? { pgSchema } : {}) },
    stop: closeApp,
    async request(method, path, body, headers = {}) {
      const res = await fetch(`${address}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await closeApp();
      if (opts.reuse) return;
      if (pgSchema) await dropSchema(pgSchema);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

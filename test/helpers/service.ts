/**
 * Runs the whole service in-process on loopback, on a fresh store, for API and end-to-end tests.
 *
 * The service has an admin API key (TEST_ADMIN_KEY) and `request` sends it unless told otherwise,
 * so tests that are not about authentication need not think about it. Devices may live on loopback
 * and the private ranges; host names resolve from a hosts table (never real DNS).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type App, buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/fleet/schedules/clock.js';
import { loggerOptions } from '../../src/logger.js';
import { type HostsTable, hostsTable } from './hosts.js';
import { type Backend, dropSchema, TEST_DATABASE_URL } from './store.js';

/** The admin key of every test service (random per test process). */
export const TEST_ADMIN_KEY = `efk_test_${randomBytes(24).toString('base64url')}`;

/** The `Authorization` header of a key. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** Loopback (for the simulators) and the default private ranges. */
export const TEST_DEVICE_NETWORKS = '127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7';

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
  /** The `Authorization` header `request` sends by default (for direct fetch calls). */
  readonly headers: Record<string, string>;
  /** The API key `request` sends (undefined: none). */
  readonly apiKey?: string;
  /** What device host names resolve to. */
  readonly hosts: HostsTable;
  /**
   * Calls the API with the admin key; `headers.authorization` replaces it (`''`: send none).
   */
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
  clock?: Clock;
  /** The key `request` sends by default; null: none. Default TEST_ADMIN_KEY. */
  key?: string | null;
  hosts?: HostsTable;
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
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    ALLOW_DEVICE_NETWORKS: TEST_DEVICE_NETWORKS,
    RATE_LIMIT_PER_MINUTE: '0',
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
  const hosts = opts.hosts ?? hostsTable();
  const key = opts.key === undefined ? TEST_ADMIN_KEY : opts.key;
  const defaultHeaders = key ? bearer(key) : {};
  const app = await buildApp({
    config,
    logger,
    lookup: hosts.lookup,
    announceKey: () => {},
    secretKey,
    ...(pgSchema ? { pgSchema } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
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
    headers: defaultHeaders,
    ...(key ? { apiKey: key } : {}),
    hosts,
    async request(method, path, body, headers = {}) {
      const sent: Record<string, string> = {
        ...defaultHeaders,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      };
      if (sent.authorization === '') delete sent.authorization;
      const res = await fetch(`${address}${path}`, {
        method,
        headers: sent,
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

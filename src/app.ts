/**
 * The composition root: the one place where the service's parts are created and wired together.
 * Nothing else holds process-wide state.
 *
 * Data flows one way: API → store (desired state, jobs) → engine → lanes → driver → device; the
 * poller brings observed state back → tracker → store (history) and events.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { getDriverModule } from '../drivers/index.js';
import { deviceRoutes } from './api/routes/devices.js';
import { eventRoutes } from './api/routes/events.js';
import { fleetRoutes } from './api/routes/fleet.js';
import { healthRoutes } from './api/routes/health.js';
import { jobRoutes } from './api/routes/jobs.js';
import { profileRoutes } from './api/routes/profiles.js';
import { webhookRoutes } from './api/routes/webhooks.js';
import { type Api, createServer } from './api/server.js';
import type { Config } from './config.js';
import { DeviceLanes } from './fleet/device-lanes.js';
import { DeviceOperations } from './fleet/device-operations.js';
import { EventFeed } from './fleet/event-feed.js';
import { EventHub } from './fleet/event-hub.js';
import { Inventory } from './fleet/inventory.js';
import { storeJobDevices } from './fleet/job-devices.js';
import { JobEngine } from './fleet/jobs/engine.js';
import { FleetMonitor } from './fleet/monitor.js';
import { Poller } from './fleet/poller.js';
import { StatusTracker } from './fleet/status-tracker.js';
import { WebhookDispatcher } from './fleet/webhook-dispatcher.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { loadSecretKeys } from './security/secrets.js';
import { openStore, type Store } from './store/index.js';

export interface AppOptions {
  readonly config: Config;
  readonly logger?: Logger;
  /** Routes every device HTTP request through this dispatcher (tests: undici MockAgent). */
  readonly dispatcher?: Dispatcher;
  /** PostgreSQL schema (tests give each run its own). */
  readonly pgSchema?: string;
  /** Identity of this process in job leases; default host + random suffix. */
  readonly instanceId?: string;
  readonly secretKey?: string;
}

export interface App {
  readonly server: Api;
  readonly store: Store;
  readonly engine: JobEngine;
  readonly tracker: StatusTracker;
  readonly monitor: FleetMonitor;
  readonly poller: Poller;
  readonly hub: EventHub;
  readonly feed: EventFeed;
  readonly logger: Logger;
  /** Starts background work (jobs, polling). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const instanceId = opts.instanceId ?? `${hostname()}-${randomUUID().slice(0, 8)}`;

  const keys = await loadSecretKeys({
    ...((opts.secretKey ?? process.env.SECRET_KEY)
      ? { secretKey: opts.secretKey ?? process.env.SECRET_KEY }
      : {}),
    ...(process.env.SECRET_KEY_PREVIOUS ? { previousKeys: process.env.SECRET_KEY_PREVIOUS } : {}),
    dataDir: config.DATA_DIR,
  });
  if (keys.generated) {
    logger.warn(
      { keyFile: keys.keyFile },
      'GENERATED A NEW SECRET KEY for encrypting device passwords and stream keys. Back it up: without it the stored secrets cannot be read. Set SECRET_KEY to share it between replicas.',
    );
  }
  const store = await openStore({
    dataDir: config.DATA_DIR,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    ...(opts.pgSchema ? { pgSchema: opts.pgSchema } : {}),
    box: keys.box,
    logger,
  });

  const hub = new EventHub(logger);
  const feed = new EventFeed({
    log: store.events,
    origin: instanceId,
    logger: logger.child({ component: 'events' }),
  });
  hub.subscribe((event) => feed.add(event));
  const lanes = new DeviceLanes({
    concurrency: config.CONCURRENCY,
    createDriver: (endpoint) =>
      getDriverModule(endpoint.vendor).create({
        endpoint,
        timeoutMs: config.DEVICE_TIMEOUT_MS,
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      }),
  });
  // The monitor is created below; the tracker and engine reach it through this late binding.
  let monitor: FleetMonitor | undefined;
  const tracker = new StatusTracker({
    events: hub,
    onChange: (deviceId, _prev, next) =>
      monitor?.recordChange(
        deviceId,
        next.connectivity,
        next.stream,
        next.since ?? new Date().toISOString(),
        next.lastError,
      ),
  });
  const metrics = new Metrics({
    *devicesByState() {
      const counts = new Map<string, number>();
      for (const device of monitor?.allDevices() ?? []) {
        const s = tracker.get(device.id);
        const key = `${device.vendor}\u0000${s.connectivity}\u0000${s.stream}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, count] of counts) {
        const [vendor, connectivity, stream] = key.split('\u0000') as [string, string, string];
        yield { vendor, connectivity, stream, count };
      }
    },
    *alertsByKind() {
      const counts = new Map<string, number>();
      for (const [, { observed }] of tracker.entries()) {
        for (const a of observed.alerts)
          counts.set(`${a.kind}\u0000${a.severity}`, (counts.get(`${a.kind}\u0000${a.severity}`) ?? 0) + 1);
      }
      for (const [key, count] of counts) {
        const [kind, severity] = key.split('\u0000') as [string, string];
        yield { kind, severity, count };
      }
    },
  });
  const devices = storeJobDevices(store);
  const engine = new JobEngine({
    repo: store.jobs,
    devices,
    lanes,
    events: hub,
    logger: logger.child({ component: 'jobs' }),
    owner: instanceId,
    leaseMs: config.JOB_LEASE_MS,
    onQueued: (ids, desired) => monitor?.markQueued(ids, desired),
  });
  hub.subscribe((event) => {
    if (event.type === 'job.finished')
      metrics.jobs.inc({ action: String(event.data.action ?? 'unknown'), state: String(event.data.state) });
    if (event.type === 'job.task')
      metrics.deviceOperations.inc({ action: 'task', outcome: String(event.data.state) });
  });
  const poller = new Poller({
    lanes,
    intervalMs: config.POLL_INTERVAL_MS,
    configEveryPolls: 6,
    onResult: (deviceId, outcome, durationMs) => {
      tracker.observe(deviceId, outcome);
      const vendor = monitor?.device(deviceId)?.vendor ?? 'unknown';
      metrics.pollDuration.observe(
        { vendor, outcome: 'status' in outcome ? 'ok' : 'error' },
        durationMs / 1000,
      );
    },
  });
  monitor = new FleetMonitor({
    store,
    poller,
    tracker,
    hub,
    engine,
    logger: logger.child({ component: 'monitor' }),
  });
  const deviceOf = (id: string) => monitor?.device(id);
  const webhooks = new WebhookDispatcher({
    repo: store.webhooks,
    feed,
    origin: instanceId,
    logger: logger.child({ component: 'webhooks' }),
    deviceOf,
  });
  const inventory = new Inventory(store.devices, store.profiles, () => void monitor?.refresh());
  const operations = new DeviceOperations({
    engine,
    store,
    lanes,
    tracker,
    endpoints: (ids) => devices.endpoints(ids),
  });

  const server = await createServer(logger);
  healthRoutes(server, {
    metrics,
    check: async () => {
      await store.devices.count();
      return { store: store.backend, polling: poller.size, instance: instanceId };
    },
  });
  deviceRoutes(server, { inventory, operations, tracker });
  profileRoutes(server, store.profiles);
  jobRoutes(server, { engine, repo: store.jobs });
  eventRoutes(server, { feed, deviceOf });
  webhookRoutes(server, { repo: store.webhooks, dispatcher: webhooks });
  fleetRoutes(server, { monitor, tracker });

  const m = monitor;
  return {
    server,
    store,
    engine,
    tracker,
    monitor: m,
    poller,
    hub,
    feed,
    logger,
    async start() {
      await feed.start();
      await webhooks.start();
      await m.start();
      engine.start();
      poller.start();
    },
    async close() {
      poller.stop();
      await engine.stop();
      await m.stop();
      await webhooks.stop();
      await feed.stop();
      await server.close();
      await lanes.close();
      metrics.close();
      await store.close();
    },
  };
}

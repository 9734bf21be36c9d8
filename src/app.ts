/**
 * The composition root: the one place where the service's parts are created and wired together.
 * Nothing else holds process-wide state.
 *
 * Data flows one way: API → store (desired state, jobs) → engine → lanes → driver → device; the
 * poller brings observed state back → tracker → store (history) and events.
 */
import { randomUUID } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { getDriverModule } from '../drivers/index.js';
import { refuseProvisional } from '../drivers/provisional.js';
import { dashboardRoutes } from './api/dashboard.js';
import { auditRoutes } from './api/routes/audit.js';
import { configRoutes } from './api/routes/configs.js';
import { deviceRoutes } from './api/routes/devices.js';
import { eventRoutes } from './api/routes/events.js';
import { fleetRoutes } from './api/routes/fleet.js';
import { healthRoutes } from './api/routes/health.js';
import { ingestRoutes } from './api/routes/ingest.js';
import { jobRoutes } from './api/routes/jobs.js';
import { keyRoutes } from './api/routes/keys.js';
import { profileRoutes } from './api/routes/profiles.js';
import { scheduleRoutes } from './api/routes/schedules.js';
import { webhookRoutes } from './api/routes/webhooks.js';
import { type Api, createServer } from './api/server.js';
import { type Config, publicEndpoints } from './config.js';
import { ConfigCheck } from './fleet/config-check.js';
import { DesiredConfigs } from './fleet/desired-config.js';
import { DeviceLanes } from './fleet/device-lanes.js';
import { DeviceOperations } from './fleet/device-operations.js';
import { EventFeed } from './fleet/event-feed.js';
import { EventHub } from './fleet/event-hub.js';
import { Inventory } from './fleet/inventory.js';
import { storeJobDevices } from './fleet/job-devices.js';
import { JobEngine } from './fleet/jobs/engine.js';
import { FleetMonitor } from './fleet/monitor.js';
import { PollOwnership } from './fleet/poll-ownership.js';
import { Poller } from './fleet/poller.js';
import { Retention } from './fleet/retention.js';
import { type Clock, systemClock } from './fleet/schedules/clock.js';
import { FleetActions } from './fleet/schedules/fleet-actions.js';
import { Scheduler } from './fleet/schedules/scheduler.js';
import { Schedules } from './fleet/schedules/schedules.js';
import { StatusSamples } from './fleet/status-samples.js';
import { StatusTracker } from './fleet/status-tracker.js';
import { StreamProvisioning } from './fleet/stream-provisioning.js';
import { WebhookDispatcher } from './fleet/webhook-dispatcher.js';
import { SettingAdvisor } from './ingest/advisor.js';
import { BintuClient } from './ingest/bintu-client.js';
import type { DeviceFacts } from './ingest/guidance.js';
import { type BroadcastWindow, IngestWatch } from './ingest/ingest-watch.js';
import { nanoStreamHosts } from './ingest/nanostream-target.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { ensureAdminKey, printBootstrapKey } from './security/bootstrap.js';
import { NetworkGuard } from './security/network-guard.js';
import { loadSecretKeys } from './security/secrets.js';
import { openStore, type Store } from './store/index.js';
import type { DeviceIdentity } from './store/observed.js';

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
  /** The scheduler's clock (tests drive time with their own). */
  readonly clock?: Clock;
  /** Resolves device and webhook host names (default: the system resolver); tests give a hosts table. */
  readonly lookup?: LookupFunction;
  /** Shows the generated first admin key (default: standard error). */
  readonly announceKey?: (key: string) => void;
  /**
   * When set, the nanoStream webhook allows a device's stream only inside its broadcast window
   * (the scheduler provides it); by default every window is open.
   */
  readonly broadcastWindow?: BroadcastWindow;
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
  readonly scheduler: Scheduler;
  readonly ingest: IngestWatch;
  readonly logger: Logger;
  /** Starts background work (jobs, polling, schedules). */
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
  const pgSchema = opts.pgSchema ?? config.DATABASE_SCHEMA;
  const store = await openStore({
    dataDir: config.DATA_DIR,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    ...(pgSchema ? { pgSchema } : {}),
    box: keys.box,
    logger,
  });

  await ensureAdminKey({
    keys: store.apiKeys,
    ...(config.ADMIN_API_KEY ? { adminKey: config.ADMIN_API_KEY } : {}),
    announce: opts.announceKey ?? printBootstrapKey,
    logger,
  });
  const guard = new NetworkGuard({
    allow: config.ALLOW_DEVICE_NETWORKS,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
  });

  const hub = new EventHub(logger);
  const feed = new EventFeed({
    log: store.events,
    origin: instanceId,
    logger: logger.child({ component: 'events' }),
  });
  hub.subscribe((event) => feed.add(event));
  const retention = new Retention({
    store,
    retentionMs: config.RETENTION_DAYS * 86_400_000,
    logger: logger.child({ component: 'retention' }),
  });
  const lanes = new DeviceLanes({
    concurrency: config.CONCURRENCY,
    createDriver: (endpoint) => {
      const driver = getDriverModule(endpoint.vendor).create({
        endpoint,
        timeoutMs: config.DEVICE_TIMEOUT_MS,
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
        checkAddress: guard.check,
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
        onFirstCertificate: (fingerprint256) => {
          store.devices.recordFingerprint(endpoint.id, fingerprint256).then(
            (recorded) => {
              if (!recorded) return;
              logger.info(
                { deviceId: endpoint.id, fingerprint256 },
                'pinned the certificate the device presented first',
              );
              void monitor?.refresh();
            },
            (err: unknown) =>
              logger.error({ err, deviceId: endpoint.id }, 'could not record the certificate pin'),
          );
        },
      });
      return config.PROVISIONAL_OPERATIONS === 'refuse' ? refuseProvisional(driver, endpoint.id) : driver;
    },
  });
  // The monitor is created below; the tracker and engine reach it through this late binding.
  let monitor: FleetMonitor | undefined;
  const tracker = new StatusTracker({
    events: hub,
    onIdentity: (deviceId, identity) => monitor?.recordIdentity(deviceId, identity),
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
  const hosts = nanoStreamHosts(config);
  const configs = new DesiredConfigs(hosts);
  const advisor = new SettingAdvisor(hosts, (deviceId) => deviceFacts(tracker, deviceId));
  const engine = new JobEngine({
    configs,
    advise: (items, strict) => advisor.forDevices(items, { strict }),
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
  const samples = new StatusSamples();
  const poller = new Poller({
    lanes,
    intervalMs: config.POLL_INTERVAL_MS,
    configEveryPolls: 6,
    onResult: (deviceId, outcome, durationMs) => {
      const observed = tracker.observe(deviceId, outcome);
      samples.add(deviceId, observed.stream, observed.bitrateKbps);
      if ('identifiedAs' in outcome && outcome.identifiedAs)
        monitor?.recordIdentified(deviceId, outcome.identifiedAs);
      const vendor = monitor?.device(deviceId)?.vendor ?? 'unknown';
      metrics.pollDuration.observe(
        { vendor, outcome: 'status' in outcome ? 'ok' : 'error' },
        durationMs / 1000,
      );
    },
  });
  const watch = new IngestWatch({
    hosts,
    graceMs: config.NANOSTREAM_PUBLISH_GRACE_MS,
    deviceStream: (deviceId) => tracker.get(deviceId),
    onVerdict: (deviceId, verdict, at) => tracker.setIngest(deviceId, verdict, at),
    ...(opts.broadcastWindow ? { window: opts.broadcastWindow } : {}),
  });
  // Only PostgreSQL can be shared by several replicas; they split the polling by leases. The lease
  // outlives the longest poll twice over, and the whole takeover fits in two poll intervals.
  const ownership =
    store.backend === 'postgres'
      ? new PollOwnership({
          repo: store.pollLeases,
          instanceId,
          leaseMs: Math.max(config.POLL_INTERVAL_MS, 2 * config.DEVICE_TIMEOUT_MS),
          marginMs: config.DEVICE_TIMEOUT_MS,
          logger: logger.child({ component: 'poll-leases' }),
          onChange: async () => {
            const dropped = monitor?.applyOwnership() ?? [];
            await Promise.all(dropped.map((id) => lanes.forget(id)));
          },
        })
      : undefined;
  // Devices another replica polls: their state changes arrive here as that replica's events.
  feed.subscribe((event) => {
    if (event.origin === instanceId || event.type !== 'device.state' || !event.deviceId) return;
    if (ownership?.owns(event.deviceId) ?? true) return;
    const { connectivity, stream, lastError, identity } = event.data as Partial<Record<string, string>> & {
      identity?: DeviceIdentity;
    };
    tracker.restore(event.deviceId, {
      connectivity: connectivity as never,
      stream: stream as never,
      since: event.at,
      ...(lastError ? { lastError } : {}),
      ...identity,
    });
  });
  monitor = new FleetMonitor({
    configs,
    onDesired: (deviceId, desired) => watch.setDesired(deviceId, desired?.config),
    store,
    poller,
    tracker,
    hub,
    engine,
    logger: logger.child({ component: 'monitor' }),
    ...(ownership ? { owns: (id: string) => ownership.owns(id) } : {}),
  });
  const deviceOf = (id: string) => monitor?.device(id);
  const webhooks = new WebhookDispatcher({
    repo: store.webhooks,
    feed,
    origin: instanceId,
    logger: logger.child({ component: 'webhooks' }),
    deviceOf,
    checkAddress: guard.checkWebhook,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
  });
  const inventory = new Inventory(store.devices, store.profiles, configs, {
    onChange: () => void monitor?.refresh(),
    checkHost: (host) => guard.checkHost(host),
  });
  const operations = new DeviceOperations({
    engine,
    store,
    lanes,
    tracker,
    endpoints: (ids) => devices.endpoints(ids),
  });
  const clock = opts.clock ?? systemClock;
  const scheduleActions = new FleetActions({
    engine,
    store,
    lanes,
    tracker,
    endpoints: (ids) => devices.endpoints(ids),
  });
  const scheduler = new Scheduler({
    repo: store.schedules,
    actions: scheduleActions,
    events: hub,
    clock,
    logger: logger.child({ component: 'scheduler' }),
    owner: instanceId,
    leaseMs: config.JOB_LEASE_MS,
  });
  const schedules = new Schedules({
    repo: store.schedules,
    actions: scheduleActions,
    profileExists: async (idOrName) => !!(await store.profiles.get(idOrName)),
    job: (id) => store.jobs.get(id),
    clock,
    onChange: () => scheduler.wake(),
  });

  const open = publicEndpoints(config);
  const server = await createServer(logger, {
    keys: store.apiKeys,
    audit: store.audit,
    publicEndpoints: open,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
  });
  healthRoutes(server, {
    publicEndpoints: open,
    metrics,
    check: async () => {
      await store.devices.count();
      return {
        store: store.backend,
        polling: poller.size,
        ...(ownership ? { pollShards: ownership.size } : {}),
        instance: instanceId,
      };
    },
  });
  deviceRoutes(server, {
    inventory,
    operations,
    tracker,
    samples,
    stateChanges: (id, limit) => monitor.history(id, limit),
  });
  profileRoutes(server, store.profiles);
  jobRoutes(server, { engine, repo: store.jobs });
  eventRoutes(server, { feed, deviceOf, jobInScope: (jobId, scope) => store.jobs.inScope(jobId, scope) });
  webhookRoutes(server, { repo: store.webhooks, dispatcher: webhooks, checkAddress: guard.checkWebhook });
  fleetRoutes(server, { monitor, tracker });
  scheduleRoutes(server, schedules);
  keyRoutes(server, store.apiKeys);
  auditRoutes(server, store.audit);
  configRoutes(server, new ConfigCheck({ devices, configs, advisor }));
  const bintu = config.BINTU_API_KEY
    ? new StreamProvisioning(
        new BintuClient({ baseUrl: config.BINTU_API_URL, apiKey: config.BINTU_API_KEY }),
        {
          devices,
          inventory,
          streams: store.ingestStreams,
          engine,
        },
      )
    : undefined;
  ingestRoutes(server, {
    watch,
    ...(bintu ? { bintu } : {}),
    ...(config.NANOSTREAM_WEBHOOK_TOKEN ? { webhookToken: config.NANOSTREAM_WEBHOOK_TOKEN } : {}),
  });
  await dashboardRoutes(server);

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
    scheduler,
    ingest: watch,
    logger,
    async start() {
      await feed.start();
      await webhooks.start();
      await ownership?.start();
      await m.start();
      engine.start();
      poller.start();
      scheduler.start();
      watch.start();
      retention.start();
    },
    async close() {
      await retention.stop();
      await scheduler.stop();
      watch.stop();
      poller.stop();
      await ownership?.stop();
      await engine.stop();
      await m.stop();
      await webhooks.stop();
      await feed.stop();
      await server.close();
      await bintu?.client.close();
      await lanes.close();
      metrics.close();
      await store.close();
    },
  };
}

/** What the tracker knows about a device that the setting guidance uses. */
function deviceFacts(tracker: StatusTracker, deviceId: string): DeviceFacts {
  const observed = tracker.get(deviceId);
  const video = tracker.currentConfig(deviceId)?.video;
  return {
    ...(observed.input ? { input: observed.input } : {}),
    streaming: observed.stream === 'streaming',
    ...(video?.width !== undefined ? { current: { width: video.width, height: video.height } } : {}),
  };
}

/**
 * Prometheus metrics (GET /metrics), on a registry of our own rather than prom-client's global one.
 * Gauges that describe the fleet are computed when scraped, from the status tracker, so they cost
 * nothing between scrapes.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface FleetGauges {
  /** Devices counted by vendor × connectivity × stream. */
  devicesByState(): Iterable<{ vendor: string; connectivity: string; stream: string; count: number }>;
  /** Open alerts counted by kind × severity. */
  alertsByKind(): Iterable<{ kind: string; severity: string; count: number }>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly pollDuration: Histogram<'vendor' | 'outcome'>;
  readonly deviceOperations: Counter<'action' | 'outcome'>;
  readonly jobs: Counter<'action' | 'state'>;
  readonly httpRequests: Histogram<'route' | 'method' | 'status'>;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(fleet: FleetGauges) {
    collectDefaultMetrics({ register: this.registry, prefix: 'encoder_fleet_' });
    this.loopDelay.enable();
    const loopDelay = this.loopDelay;
    this.pollDuration = new Histogram({
      name: 'encoder_fleet_poll_duration_seconds',
      help: 'Time to poll one device for its status, by vendor and outcome.',
      labelNames: ['vendor', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.deviceOperations = new Counter({
      name: 'encoder_fleet_device_operations_total',
      help: 'Device operations run by jobs, by action and outcome.',
      labelNames: ['action', 'outcome'],
      registers: [this.registry],
    });
    this.jobs = new Counter({
      name: 'encoder_fleet_jobs_total',
      help: 'Jobs finished, by action and final state.',
      labelNames: ['action', 'state'],
      registers: [this.registry],
    });
    this.httpRequests = new Histogram({
      name: 'encoder_fleet_http_request_duration_seconds',
      help: 'API request latency by route, method and status.',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    new Gauge({
      name: 'encoder_fleet_devices',
      help: 'Devices by vendor, connectivity and stream state.',
      labelNames: ['vendor', 'connectivity', 'stream'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const row of fleet.devicesByState())
          this.set({ vendor: row.vendor, connectivity: row.connectivity, stream: row.stream }, row.count);
      },
    });
    new Gauge({
      name: 'encoder_fleet_alerts',
      help: 'Open device alerts by kind and severity.',
      labelNames: ['kind', 'severity'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const row of fleet.alertsByKind())
          this.set({ kind: row.kind, severity: row.severity }, row.count);
      },
    });
    new Gauge({
      name: 'encoder_fleet_event_loop_lag_p99_seconds',
      help: 'p99 event-loop delay since the previous scrape.',
      registers: [this.registry],
      collect() {
        this.set(loopDelay.percentile(99) / 1e9);
        loopDelay.reset();
      },
    });
  }

  close(): void {
    this.loopDelay.disable();
  }
}

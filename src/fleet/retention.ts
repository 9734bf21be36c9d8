/**
 * Keeps the store from growing without end. Once an hour (first a minute after start) it deletes
 * the operational history older than the retention window: the event log, device state history,
 * finished jobs with their per-device results, the webhook delivery log (delivered or given up)
 * and schedule runs that are over. Nothing still in use is touched — queued and running jobs,
 * deliveries still being retried and open schedule runs stay whatever their age.
 *
 * The audit log is not pruned: it is append-only by design (database triggers refuse deletes), and
 * archiving it is the database owner's call. Every replica sweeps; the deletes are idempotent.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';

export interface RetentionOptions {
  readonly store: Store;
  /** History older than this goes; 0 keeps everything. */
  readonly retentionMs: number;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly firstSweepMs?: number;
}

/** Rows deleted by one sweep, per kind of history. */
export interface Swept {
  readonly events: number;
  readonly stateHistory: number;
  readonly jobs: number;
  readonly webhookDeliveries: number;
  readonly scheduleRuns: number;
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RetentionOptions) {}

  start(): void {
    if (this.opts.retentionMs <= 0) return;
    const every = this.opts.intervalMs ?? 3600_000;
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => this.sweepInBackground(), every);
      this.timer.unref();
      this.sweepInBackground();
    }, this.opts.firstSweepMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Deletes what was older than the window at `now`. */
  async sweep(now = Date.now()): Promise<Swept> {
    const before = new Date(now - this.opts.retentionMs).toISOString();
    const { store } = this.opts;
    return {
      events: await store.events.prune(before),
      stateHistory: await store.observed.prune(before),
      jobs: await store.jobs.pruneFinished(before),
      webhookDeliveries: await store.webhooks.pruneDeliveries(before),
      scheduleRuns: await store.schedules.pruneRuns(before),
    };
  }

  private sweepInBackground(): void {
    this.sweeping = this.sweep().then(
      (swept) => {
        if (Object.values(swept).some((n) => n > 0))
          this.opts.logger.info({ swept }, 'deleted history older than the retention window');
      },
      (err: unknown) =>
        this.opts.logger.warn({ err }, 'deleting old history failed; the next sweep tries again'),
    );
  }
}

/**
 * The persisted event stream behind SSE and webhooks. Local events are written to the event log in
 * small batches and handed to subscribers with their ids; events written by other replicas are
 * picked up by tailing the log, so every replica's clients see the whole fleet.
 *
 * PostgreSQL may commit ids out of order across replicas (a lower id becoming visible after a
 * higher one), so tailing re-reads a window behind its cursor and skips ids already delivered.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { EventLog, StoredEvent } from '../store/events.js';
import type { FleetEvent, FleetEventType } from './events.js';

export type FeedListener = (event: StoredEvent) => void;

export interface EventFeedOptions {
  readonly log: EventLog;
  /** This process's identity, stored with its events. */
  readonly origin: string;
  readonly logger: Logger;
  readonly flushMs?: number;
  readonly tailMs?: number;
}

/** How far behind its cursor the tail re-reads, to catch ids committed late by another replica. */
const TAIL_LOOKBACK = 1000;
const SEEN_LIMIT = 20_000;
/** Events written per transaction. */
const FLUSH_BATCH = 500;

export class EventFeed {
  private buffer: (FleetEvent & { at: string })[] = [];
  private readonly listeners = new Set<FeedListener>();
  private readonly seen = new Set<number>();
  private cursor = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private tailTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: EventFeedOptions) {}

  async start(): Promise<void> {
    this.cursor = await this.opts.log.latestId();
    this.tailTimer = setInterval(() => void this.tail(), this.opts.tailMs ?? 500);
    this.tailTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.tailTimer);
    clearTimeout(this.flushTimer);
    await this.flush();
    this.stopped = true;
  }

  /**
   * Takes a local event (the hub calls this for every event published in this process). Events
   * published while the service shuts down, after the last write, are dropped: the store is closing.
   */
  add(event: FleetEvent): void {
    if (this.stopped) return;
    this.buffer.push({ ...event, at: new Date().toISOString() });
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.opts.flushMs ?? 50);
  }

  /** Every persisted event from now on, local or from another replica, in id order per source. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stored events after `afterId` (for Last-Event-ID resume). */
  replay(afterId: number, limit: number, types?: readonly FleetEventType[]): Promise<StoredEvent[]> {
    return this.opts.log.since(afterId, limit, types);
  }

  /** Writes buffered events now (and waits for a write already under way). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      // A fleet-wide change is thousands of events: write them a batch at a time and let other work
      // in between, rather than hold up the process while one transaction writes them all.
      while (this.buffer.length) {
        const batch = this.buffer.splice(0, FLUSH_BATCH);
        try {
          for (const event of await this.opts.log.append(batch, this.opts.origin)) this.deliver(event);
        } catch (err) {
          // Keep them for the next try: a database restart must not lose events.
          this.buffer = [...batch, ...this.buffer];
          this.opts.logger.warn({ err, events: batch.length }, 'writing events failed; will retry');
          if (this.stopped) return;
          this.flushTimer ??= setTimeout(() => {
            this.flushTimer = undefined;
            void this.flush();
          }, 1000);
          return;
        }
        if (this.buffer.length) await yieldToLoop();
      }
    });
    return this.flushing;
  }

  private async tail(): Promise<void> {
    try {
      let from = Math.max(0, this.cursor - TAIL_LOOKBACK);
      for (;;) {
        // Our own events were delivered when written; reading them back would only be thrown away
        // (on the embedded store, which has no other writer, that would be all of them).
        const events = await this.opts.log.since(from, 1000, undefined, this.opts.origin);
        for (const e of events) this.deliver(e);
        if (events.length < 1000) return;
        from = events.at(-1)!.id;
      }
    } catch (err) {
      this.opts.logger.debug({ err }, 'event tail failed');
    }
  }

  private deliver(event: StoredEvent): void {
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    if (this.seen.size > SEEN_LIMIT) {
      // Forget the oldest half; they are far behind the lookback window by now.
      const drop = [...this.seen].sort((a, b) => a - b).slice(0, SEEN_LIMIT / 2);
      for (const id of drop) this.seen.delete(id);
    }
    if (event.id > this.cursor) this.cursor = event.id;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.opts.logger.error({ err, type: event.type }, 'event subscriber failed');
      }
    }
  }
}

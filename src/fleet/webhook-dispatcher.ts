/**
 * Outgoing webhooks: each event matching a subscription becomes a delivery row (the delivery log),
 * then is POSTed with an HMAC-SHA256 signature over timestamp and body, and retried with backoff
 * until the receiver answers 2xx or the attempts run out.
 *
 * Signature header: `X-EncoderFleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
 * Receivers should recompute it, compare in constant time, and refuse timestamps older than 5 minutes.
 */
import { createHmac } from 'node:crypto';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { type Dispatcher, request } from 'undici';
import type { StoredEvent } from '../store/events.js';
import type { DeliveryRecord, WebhookRecord, WebhookRepo } from '../store/webhooks.js';
import type { EventFeed } from './event-feed.js';
import { type Labelled, matches, parseSelector } from './selector.js';

export const SIGNATURE_HEADER = 'x-encoderfleet-signature';
export const MAX_DELIVERY_ATTEMPTS = 8;

export function sign(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookDispatcherOptions {
  readonly repo: WebhookRepo;
  readonly feed: EventFeed;
  readonly origin: string;
  readonly logger: Logger;
  /** Device labels for selector filters. */
  readonly deviceOf: (id: string) => Labelled | undefined;
  /** Refuses URLs pointing at forbidden addresses (SSRF guard); throws with the reason. */
  readonly checkUrl?: (url: string) => void;
  readonly dispatcher?: Dispatcher;
  readonly timeoutMs?: number;
  /** Base of the retry backoff; doubles per attempt (1 s, 2 s, 4 s … up to an hour). */
  readonly retryBaseMs?: number;
}

export class WebhookDispatcher {
  private hooks: WebhookRecord[] = [];
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new PQueue({ concurrency: 8 });
  private pumping = false;

  constructor(private readonly opts: WebhookDispatcherOptions) {}

  async start(): Promise<void> {
    await this.reload();
    this.unsubscribe = this.opts.feed.subscribe((event) => {
      // Each replica enqueues only the events it published, so a delivery is never created twice.
      if (event.origin === this.opts.origin) void this.enqueue(event);
    });
    this.timer = setInterval(() => void this.pump(), 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.timer);
    await this.sending.onIdle();
  }

  /** Re-reads the subscriptions (after a change through the API). */
  async reload(): Promise<void> {
    this.hooks = (await this.opts.repo.list()).filter((h) => h.enabled);
  }

  private async enqueue(event: StoredEvent): Promise<void> {
    const targets = this.hooks.filter((h) => this.wants(h, event));
    if (!targets.length) return;
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      at: event.at,
      ...(event.deviceId ? { deviceId: event.deviceId } : {}),
      ...(event.jobId ? { jobId: event.jobId } : {}),
      ...(event.scheduleId ? { scheduleId: event.scheduleId } : {}),
      data: event.data,
    });
    try {
      await this.opts.repo.enqueue(
        targets.map((h) => ({ webhookId: h.id, eventId: event.id, eventType: event.type, body })),
      );
      void this.pump();
    } catch (err) {
      this.opts.logger.warn({ err, eventId: event.id }, 'could not record webhook deliveries');
    }
  }

  private wants(hook: WebhookRecord, event: StoredEvent): boolean {
    if (hook.types.length && !hook.types.includes(event.type)) return false;
    if (!hook.selector) return true;
    if (!event.deviceId) return false;
    const device = this.opts.deviceOf(event.deviceId);
    return !!device && matches(parseSelector(hook.selector), device);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const due = await this.opts.repo.claimDue(50, 60_000);
        if (!due.length) return;
        await Promise.all(due.map((d) => this.sending.add(() => this.send(d))));
      }
    } catch (err) {
      this.opts.logger.warn({ err }, 'webhook delivery loop failed');
    } finally {
      this.pumping = false;
    }
  }

  private async send(delivery: DeliveryRecord): Promise<void> {
    const hook =
      this.hooks.find((h) => h.id === delivery.webhookId) ?? (await this.opts.repo.get(delivery.webhookId));
    if (!hook) return;
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number | undefined;
    let error: string | undefined;
    try {
      this.opts.checkUrl?.(hook.url);
      const res = await request(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'encoder-fleet-webhooks',
          'x-encoderfleet-event': delivery.eventType,
          'x-encoderfleet-delivery': String(delivery.id),
          [SIGNATURE_HEADER]: sign(hook.secret, timestamp, delivery.body),
        },
        body: delivery.body,
        headersTimeout: this.opts.timeoutMs ?? 5000,
        bodyTimeout: this.opts.timeoutMs ?? 5000,
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      error = (err as Error).message;
    }
    const ok = status !== undefined && status >= 200 && status < 300;
    const attempts = delivery.attempts + 1;
    if (ok) {
      await this.opts.repo.recordAttempt(delivery.id, { state: 'delivered', status: status! });
      return;
    }
    const giveUp = attempts >= MAX_DELIVERY_ATTEMPTS;
    const delay = Math.min(3600_000, (this.opts.retryBaseMs ?? 1000) * 2 ** (attempts - 1));
    await this.opts.repo.recordAttempt(delivery.id, {
      state: giveUp ? 'failed' : 'pending',
      ...(status !== undefined ? { status } : {}),
      ...(error ? { error } : status !== undefined ? { error: `HTTP ${status}` } : {}),
      ...(giveUp ? {} : { nextAttemptAt: new Date(Date.now() + delay).toISOString() }),
    });
    if (giveUp)
      this.opts.logger.warn(
        { webhookId: hook.id, deliveryId: delivery.id, attempts },
        'webhook delivery failed for good',
      );
  }
}

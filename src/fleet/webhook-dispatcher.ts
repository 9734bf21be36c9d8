/**
 * Outgoing webhooks: each event matching a subscription becomes a delivery row (the delivery log),
 * then is POSTed with an HMAC-SHA256 signature over timestamp and body, and retried with backoff
 * until the receiver answers 2xx or the attempts run out.
 *
 * Signature header: `X-EncoderFleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
 * Receivers should recompute it, compare in constant time, and refuse timestamps older than 5 minutes.
 *
 * Every connection passes the SSRF guard (`checkAddress`) for each address the receiver's name
 * resolves to at that moment, so a name that turns to a metadata address after the subscription
 * was made (DNS rebinding) gets no request; the refusal is the attempt's error in the delivery log
 * and is retried like any other failure. Redirects are not followed (undici's `request` does not),
 * so a receiver cannot bounce a delivery to an address the guard would refuse.
 */
import { createHmac } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { guardedConnector } from '../../drivers/http.js';
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
  /** The SSRF guard's check of a receiver address (`NetworkGuard.checkWebhook`); throws with the reason. */
  readonly checkAddress?: (address: string) => void;
  /** Resolves receiver names (default: the system resolver); every answer passes `checkAddress`. */
  readonly lookup?: LookupFunction;
  /** Time limit for connecting, and for the reply's headers and body. */
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
  private stopped = false;
  private readonly agent: Agent;

  constructor(private readonly opts: WebhookDispatcherOptions) {
    this.agent = new Agent({
      connect: guardedConnector(opts.checkAddress, opts.lookup, { timeout: opts.timeoutMs ?? 5000 }),
    });
  }

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
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.timer);
    await this.sending.onIdle();
    await this.agent.close();
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
      while (!this.stopped) {
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
    // Claimed while stopping: its lease runs out and a running replica (or the next start) sends it.
    if (this.stopped) return;
    const hook =
      this.hooks.find((h) => h.id === delivery.webhookId) ?? (await this.opts.repo.get(delivery.webhookId));
    if (!hook) return;
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number | undefined;
    let error: string | undefined;
    try {
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
        dispatcher: this.agent,
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

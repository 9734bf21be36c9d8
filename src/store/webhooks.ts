/** Webhook subscriptions (secret encrypted) and their delivery log. */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { SecretBox } from '../security/secrets.js';
import type { Db } from './db.js';
import { deleteInBatches } from './prune.js';
import type { Database } from './schema.js';

export interface WebhookRecord {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  /** Event types delivered; empty = all. */
  readonly types: readonly string[];
  readonly selector?: string;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  readonly id: number;
  readonly webhookId: string;
  readonly eventId: number;
  readonly eventType: string;
  readonly body: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly lastStatus?: number;
  readonly lastError?: string;
  readonly nextAttemptAt: string;
  readonly createdAt: string;
  readonly deliveredAt?: string;
}

type HookRow = Database['webhooks'];
type DeliveryRow = Selectable<Database['webhook_deliveries']>;

export class WebhookRepo {
  private readonly db: Kysely<Database>;

  constructor(
    store: Db,
    private readonly box: SecretBox,
  ) {
    this.db = store.kysely;
  }

  async create(input: {
    url: string;
    secret: string;
    types: readonly string[];
    selector?: string;
    enabled?: boolean;
  }): Promise<WebhookRecord> {
    const now = new Date().toISOString();
    const row: HookRow = {
      id: randomUUID(),
      url: input.url,
      secret: this.box.encrypt(input.secret),
      types: JSON.stringify(input.types),
      selector: input.selector ?? null,
      enabled: input.enabled === false ? 0 : 1,
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('webhooks').values(row).execute();
    return this.toHook(row);
  }

  async list(): Promise<WebhookRecord[]> {
    return (await this.db.selectFrom('webhooks').selectAll().orderBy('created_at').execute()).map((r) =>
      this.toHook(r),
    );
  }

  async get(id: string): Promise<WebhookRecord | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.toHook(row) : undefined;
  }

  async update(
    id: string,
    patch: {
      url?: string;
      secret?: string;
      types?: readonly string[];
      selector?: string | null;
      enabled?: boolean;
    },
  ): Promise<WebhookRecord | undefined> {
    await this.db
      .updateTable('webhooks')
      .set({
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.secret !== undefined ? { secret: this.box.encrypt(patch.secret) } : {}),
        ...(patch.types !== undefined ? { types: JSON.stringify(patch.types) } : {}),
        ...(patch.selector !== undefined ? { selector: patch.selector } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled ? 1 : 0 } : {}),
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return (
      Number((await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst()).numDeletedRows) >
      0
    );
  }

  async enqueue(
    deliveries: readonly { webhookId: string; eventId: number; eventType: string; body: string }[],
  ): Promise<void> {
    if (!deliveries.length) return;
    const now = new Date().toISOString();
    await this.db
      .insertInto('webhook_deliveries')
      .values(
        deliveries.map((d) => ({
          webhook_id: d.webhookId,
          event_id: d.eventId,
          event_type: d.eventType,
          body: d.body,
          state: 'pending',
          attempts: 0,
          last_status: null,
          last_error: null,
          next_attempt_at: now,
          lease_until: null,
          created_at: now,
          delivered_at: null,
        })),
      )
      .execute();
  }

  /** Claims due deliveries for this process (a lease, so a replica that dies mid-send hands them on). */
  async claimDue(limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    const now = new Date().toISOString();
    const until = new Date(Date.now() + leaseMs).toISOString();
    const due = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('id')
      .limit(limit)
      .execute();
    const claimed: DeliveryRecord[] = [];
    for (const { id } of due) {
      const row = await this.db
        .updateTable('webhook_deliveries')
        .set({ lease_until: until })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .returningAll()
        .executeTakeFirst();
      if (row) claimed.push(toDelivery(row));
    }
    return claimed;
  }

  async recordAttempt(
    id: number,
    outcome: { state: DeliveryState; status?: number; error?: string; nextAttemptAt?: string },
  ): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        state: outcome.state,
        attempts: eb('attempts', '+', 1),
        last_status: outcome.status ?? null,
        last_error: outcome.error ?? null,
        lease_until: null,
        ...(outcome.nextAttemptAt ? { next_attempt_at: outcome.nextAttemptAt } : {}),
        ...(outcome.state === 'delivered' ? { delivered_at: now } : {}),
      }))
      .where('id', '=', id)
      .execute();
  }

  /** The delivery log of one webhook, newest first. */
  /** Deletes deliveries made (or given up) before `before` (ISO time); pending ones stay. */
  pruneDeliveries(before: string): Promise<number> {
    return deleteInBatches(
      5000,
      async (limit) =>
        (
          await this.db
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('state', 'in', ['delivered', 'failed'])
            .where('created_at', '<', before)
            .limit(limit)
            .execute()
        ).map((r) => Number(r.id)),
      (ids) => this.db.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute(),
    );
  }

  async deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  private toHook(r: HookRow): WebhookRecord {
    return {
      id: r.id,
      url: r.url,
      secret: this.box.decrypt(r.secret),
      types: JSON.parse(r.types) as string[],
      ...(r.selector ? { selector: r.selector } : {}),
      enabled: Number(r.enabled) === 1,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }
}

function toDelivery(r: DeliveryRow): DeliveryRecord {
  return {
    id: Number(r.id),
    webhookId: r.webhook_id,
    eventId: Number(r.event_id),
    eventType: r.event_type,
    body: r.body,
    state: r.state as DeliveryState,
    attempts: Number(r.attempts),
    ...(r.last_status !== null ? { lastStatus: Number(r.last_status) } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    ...(r.delivered_at ? { deliveredAt: r.delivered_at } : {}),
  };
}

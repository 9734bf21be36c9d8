/** The event log: every fleet event with a monotonically increasing id, pruned by age. */
import type { Kysely } from 'kysely';
import type { FleetEvent, FleetEventType } from '../fleet/events.js';
import type { Db } from './db.js';
import { chunks } from './devices.js';
import { deleteInBatches } from './prune.js';
import type { Database } from './schema.js';

export interface StoredEvent extends FleetEvent {
  readonly id: number;
  readonly at: string;
  readonly origin: string;
}

export class EventLog {
  private readonly db: Kysely<Database>;

  constructor(store: Db) {
    this.db = store.kysely;
  }

  /** Appends events in order and returns them with their ids. */
  async append(events: readonly (FleetEvent & { at: string })[], origin: string): Promise<StoredEvent[]> {
    const stored: StoredEvent[] = [];
    await this.db.transaction().execute(async (tx) => {
      for (const chunk of chunks(events, 200)) {
        const rows = await tx
          .insertInto('events')
          .values(
            chunk.map((e) => ({
              at: e.at,
              type: e.type,
              device_id: e.deviceId ?? null,
              job_id: e.jobId ?? null,
              schedule_id: e.scheduleId ?? null,
              origin,
              data: JSON.stringify(e.data),
            })),
          )
          .returning('id')
          .execute();
        // Both backends return inserted rows in insert order.
        for (const [i, row] of rows.entries()) stored.push({ ...chunk[i]!, id: Number(row.id), origin });
      }
    });
    return stored;
  }

  /** Events after `afterId`, oldest first; without those written by `exceptOrigin` when given. */
  async since(
    afterId: number,
    limit: number,
    types?: readonly FleetEventType[],
    exceptOrigin?: string,
  ): Promise<StoredEvent[]> {
    let q = this.db.selectFrom('events').selectAll().where('id', '>', afterId);
    if (types?.length) q = q.where('type', 'in', [...types]);
    if (exceptOrigin !== undefined) q = q.where('origin', '<>', exceptOrigin);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
      type: r.type as FleetEventType,
      origin: r.origin,
      ...(r.device_id ? { deviceId: r.device_id } : {}),
      ...(r.job_id ? { jobId: r.job_id } : {}),
      ...(r.schedule_id ? { scheduleId: r.schedule_id } : {}),
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }

  async latestId(): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  /** Deletes events older than `before` (ISO time); returns how many went. */
  prune(before: string): Promise<number> {
    return deleteInBatches(
      5000,
      async (limit) =>
        (await this.db.selectFrom('events').select('id').where('at', '<', before).limit(limit).execute()).map(
          (r) => Number(r.id),
        ),
      (ids) => this.db.deleteFrom('events').where('id', 'in', ids).execute(),
    );
  }
}

/**
 * The poller's memory across restarts: the last observed connectivity and stream state per device
 * (also what device listings filter by), and the history of changes, pruned by age.
 */
import type { Kysely } from 'kysely';
import type { Db } from './db.js';
import { chunks } from './devices.js';
import { deleteInBatches } from './prune.js';
import type { Database } from './schema.js';

export interface StateChange {
  readonly deviceId: string;
  readonly at: string;
  readonly connectivity: string;
  readonly stream: string;
  readonly detail?: string;
}

/** A device's identity as it last reported it. */
export interface DeviceIdentity {
  readonly model: string;
  readonly serial?: string;
  readonly firmware?: string;
}

/** The identity among `fields` (a driver's DeviceInfo, an observed state, a stored row), if it names a model. */
export function identityOf(fields: {
  readonly model?: string | null;
  readonly serial?: string | null;
  readonly firmware?: string | null;
}): DeviceIdentity | undefined {
  if (!fields.model) return undefined;
  return {
    model: fields.model,
    ...(fields.serial ? { serial: fields.serial } : {}),
    ...(fields.firmware ? { firmware: fields.firmware } : {}),
  };
}

/** A device's last recorded state, with its identity when it has been read. */
export interface LatestObserved extends StateChange {
  readonly identity?: DeviceIdentity;
}

export class ObservedRepo {
  private readonly db: Kysely<Database>;

  constructor(store: Db) {
    this.db = store.kysely;
  }

  /** Upserts the latest state and appends history, in one transaction. */
  async record(changes: readonly StateChange[]): Promise<void> {
    if (!changes.length) return;
    const latest = new Map(changes.map((c) => [c.deviceId, c]));
    await this.db.transaction().execute(async (tx) => {
      for (const chunk of chunks([...latest.values()], 200)) {
        await tx
          .insertInto('device_observed')
          .values(
            chunk.map((c) => ({
              device_id: c.deviceId,
              connectivity: c.connectivity,
              stream_state: c.stream,
              detail: c.detail ?? null,
              updated_at: c.at,
            })),
          )
          .onConflict((oc) =>
            oc.column('device_id').doUpdateSet((eb) => ({
              connectivity: eb.ref('excluded.connectivity'),
              stream_state: eb.ref('excluded.stream_state'),
              detail: eb.ref('excluded.detail'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      for (const chunk of chunks(changes, 200)) {
        await tx
          .insertInto('device_state_history')
          .values(
            chunk.map((c) => ({
              device_id: c.deviceId,
              at: c.at,
              connectivity: c.connectivity,
              stream_state: c.stream,
              detail: c.detail ?? null,
            })),
          )
          .execute();
      }
    });
  }

  async latest(): Promise<LatestObserved[]> {
    const rows = await this.db.selectFrom('device_observed').selectAll().execute();
    return rows.map((r) => {
      const identity = identityOf(r);
      return {
        deviceId: r.device_id,
        at: r.updated_at,
        connectivity: r.connectivity,
        stream: r.stream_state,
        ...(r.detail ? { detail: r.detail } : {}),
        ...(identity ? { identity } : {}),
      };
    });
  }

  /**
   * Stores devices' identities. A device without an observed row yet gets one saying it answered
   * (it just did); its state changes, recorded separately, overwrite that.
   */
  async recordIdentities(identities: ReadonlyMap<string, DeviceIdentity>, at: string): Promise<void> {
    for (const chunk of chunks([...identities], 200)) {
      await this.db
        .insertInto('device_observed')
        .values(
          chunk.map(([deviceId, id]) => ({
            device_id: deviceId,
            connectivity: 'online',
            stream_state: 'unknown',
            detail: null,
            updated_at: at,
            model: id.model,
            serial: id.serial ?? null,
            firmware: id.firmware ?? null,
          })),
        )
        .onConflict((oc) =>
          oc.column('device_id').doUpdateSet((eb) => ({
            model: eb.ref('excluded.model'),
            serial: eb.ref('excluded.serial'),
            firmware: eb.ref('excluded.firmware'),
          })),
        )
        .execute();
    }
  }

  /** Newest first. */
  async history(deviceId: string, limit: number): Promise<StateChange[]> {
    const rows = await this.db
      .selectFrom('device_state_history')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      deviceId: r.device_id,
      at: r.at,
      connectivity: r.connectivity,
      stream: r.stream_state,
      ...(r.detail ? { detail: r.detail } : {}),
    }));
  }

  /** Deletes history older than `before` (ISO time); returns how many rows went. */
  prune(before: string): Promise<number> {
    return deleteInBatches(
      5000,
      async (limit) =>
        (
          await this.db
            .selectFrom('device_state_history')
            .select('id')
            .where('at', '<', before)
            .limit(limit)
            .execute()
        ).map((r) => Number(r.id)),
      (ids) => this.db.deleteFrom('device_state_history').where('id', 'in', ids).execute(),
    );
  }
}

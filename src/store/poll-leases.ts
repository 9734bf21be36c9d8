/**
 * Poll leases: which replica polls which shard of the fleet. A replica heartbeats as a member and
 * holds a lease per shard it polls; a lease can be taken over only once it has expired or been
 * released. Times come from the calling process's clock, as for job leases (replicas need NTP).
 */
import type { Kysely } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export class PollLeaseRepo {
  private readonly db: Kysely<Database>;

  constructor(store: Db) {
    this.db = store.kysely;
  }

  /** Records `instanceId` as alive until `until` and returns every member alive now (itself included). */
  async heartbeat(instanceId: string, until: Date, now = new Date()): Promise<string[]> {
    await this.db
      .insertInto('poll_members')
      .values({ instance_id: instanceId, expires_at: until.toISOString() })
      .onConflict((oc) => oc.column('instance_id').doUpdateSet({ expires_at: until.toISOString() }))
      .execute();
    const rows = await this.db
      .selectFrom('poll_members')
      .select('instance_id')
      .where('expires_at', '>=', now.toISOString())
      .execute();
    return rows.map((r) => r.instance_id);
  }

  /**
   * Takes or renews the leases on `shards` for `owner` until `until`, where they are free, expired
   * or already its own, in one statement; returns the shards it holds afterwards.
   */
  async claim(owner: string, shards: readonly number[], until: Date, now = new Date()): Promise<number[]> {
    if (!shards.length) return [];
    const rows = await this.db
      .insertInto('poll_leases')
      .values(shards.map((shard) => ({ shard, owner, expires_at: until.toISOString() })))
      .onConflict((oc) =>
        oc
          .column('shard')
          .doUpdateSet((eb) => ({
            owner: eb.ref('excluded.owner'),
            expires_at: eb.ref('excluded.expires_at'),
          }))
          .where((eb) =>
            eb.or([
              eb('poll_leases.owner', '=', owner),
              eb('poll_leases.expires_at', '<', now.toISOString()),
            ]),
          ),
      )
      .returning('shard')
      .execute();
    return rows.map((r) => Number(r.shard)).sort((a, b) => a - b);
  }

  /** Gives up `owner`'s leases on `shards` (all of them when omitted) so another replica can take them. */
  async release(owner: string, shards?: readonly number[]): Promise<void> {
    if (shards && !shards.length) return;
    let q = this.db.deleteFrom('poll_leases').where('owner', '=', owner);
    if (shards) q = q.where('shard', 'in', [...shards]);
    await q.execute();
  }

  /** Leaves the membership (a clean shutdown) and forgets members long gone. */
  async leave(instanceId: string, now = new Date()): Promise<void> {
    await this.release(instanceId);
    await this.db.deleteFrom('poll_members').where('instance_id', '=', instanceId).execute();
    await this.db
      .deleteFrom('poll_members')
      .where('expires_at', '<', new Date(now.getTime() - 3_600_000).toISOString())
      .execute();
  }
}

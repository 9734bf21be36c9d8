import type { Kysely, Migration } from 'kysely';

/**
 * Replicas sharing one PostgreSQL split the polling between them: each live replica heartbeats in
 * `poll_members`, and each of a fixed number of device shards is polled by the replica holding its
 * row in `poll_leases` until the lease expires (times are ISO text, as for job leases).
 */
export function pollLeases(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('poll_members')
        .addColumn('instance_id', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('poll_leases')
        .addColumn('shard', 'integer', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

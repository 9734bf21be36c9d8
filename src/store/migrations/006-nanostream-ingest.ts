import type { Kysely, Migration } from 'kysely';

/**
 * nanoStream ingest: the setting guidance a job was created with (warnings and traffic estimate,
 * JSON), and the bintu stream created for a device by provisioning (to look its state up later).
 */
export function nanostreamIngest(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jobs').addColumn('guidance', 'text').execute();
      await db.schema
        .createTable('ingest_streams')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('stream_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/**
 * Each device's identity as it last reported it (model, serial, firmware), beside its observed
 * state: kept across restarts, and filterable ("every Talon still on 2.4.1").
 */
export function deviceIdentity(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const column of ['model', 'serial', 'firmware'])
        await db.schema.alterTable('device_observed').addColumn(column, 'text').execute();
      await db.schema
        .createIndex('device_observed_firmware')
        .on('device_observed')
        .columns(['model', 'firmware', 'device_id'])
        .execute();
    },
  };
}

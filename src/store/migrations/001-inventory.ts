import type { Kysely, Migration } from 'kysely';
import { type Dialect, serialKey } from './dialect.js';

/** Devices, their labels, profiles with version history, last observed state and state history. */
export function inventory(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('profiles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('drift_policy', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('profile_versions')
        .addColumn('profile_id', 'text', (c) => c.notNull().references('profiles.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('profile_versions_pk', ['profile_id', 'version'])
        .execute();
      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('vendor', 'text', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('tls', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('password', 'text')
        .addColumn('profile_id', 'text', (c) => c.references('profiles.id'))
        .addColumn('overrides', 'text')
        .addColumn('base_config', 'text')
        .addColumn('desired_state', 'text')
        .addColumn('drift_policy', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addUniqueConstraint('devices_host_port_unique', ['host', 'port'])
        .execute();
      await db.schema.createIndex('devices_vendor').on('devices').columns(['vendor', 'name']).execute();
      await db.schema.createIndex('devices_created').on('devices').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('devices_updated').on('devices').columns(['updated_at']).execute();
      await db.schema.createIndex('devices_profile').on('devices').column('profile_id').execute();
      await db.schema
        .createTable('device_labels')
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('device_labels_pk', ['device_id', 'key'])
        .execute();
      await db.schema
        .createIndex('device_labels_kv')
        .on('device_labels')
        .columns(['key', 'value', 'device_id'])
        .execute();
      await db.schema
        .createTable('device_observed')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
        .addColumn('connectivity', 'text', (c) => c.notNull())
        .addColumn('stream_state', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('device_observed_stream')
        .on('device_observed')
        .columns(['stream_state', 'device_id'])
        .execute();
      const key = serialKey(dialect);
      await db.schema
        .createTable('device_state_history')
        .addColumn('id', key.type, key.build)
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('connectivity', 'text', (c) => c.notNull())
        .addColumn('stream_state', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .execute();
      await db.schema
        .createIndex('device_state_history_device')
        .on('device_state_history')
        .columns(['device_id', 'at'])
        .execute();
      await db.schema
        .createIndex('device_state_history_at')
        .on('device_state_history')
        .column('at')
        .execute();
    },
  };
}

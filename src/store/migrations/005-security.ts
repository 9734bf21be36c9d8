import { type Kysely, type Migration, sql } from 'kysely';
import { type Dialect, serialKey } from './dialect.js';

/**
 * API keys (only a SHA-256 hash of each key is stored) and the audit log. The audit log is
 * append-only in the database itself: triggers refuse UPDATE and DELETE on it.
 */
export function security(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('scope', 'text')
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .execute();

      const key = serialKey(dialect);
      await db.schema
        .createTable('audit_log')
        .addColumn('id', key.type, key.build)
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('key_name', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('device_ids', 'text')
        .addColumn('job_id', 'text')
        .addColumn('detail', 'text')
        .addColumn('ip', 'text')
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
      await db.schema.createIndex('audit_log_key').on('audit_log').columns(['key_id', 'id']).execute();
      await db.schema.createIndex('audit_log_job').on('audit_log').column('job_id').execute();
      // One row per device a request named directly, for the device filter (jobs link by job_id).
      await db.schema
        .createTable('audit_devices')
        .addColumn('audit_id', 'integer', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_devices_device')
        .on('audit_devices')
        .columns(['device_id', 'audit_id'])
        .execute();

      if (dialect === 'sqlite') {
        for (const table of ['audit_log', 'audit_devices']) {
          for (const op of ['UPDATE', 'DELETE']) {
            await sql
              .raw(
                `CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
              )
              .execute(db);
          }
        }
      } else {
        await sql
          .raw(
            `CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$`,
          )
          .execute(db);
        for (const table of ['audit_log', 'audit_devices']) {
          await sql
            .raw(
              `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION audit_append_only()`,
            )
            .execute(db);
        }
      }
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/** Jobs and their per-device tasks, with leases so one process at a time runs a job. */
export function jobs(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('selector', 'text')
        .addColumn('profile', 'text')
        .addColumn('config', 'text')
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('counts', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_by', 'text')
        .addColumn('idempotency_scope', 'text', (c) => c.unique())
        .addColumn('request_hash', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('owner', 'text')
        .addColumn('lease_until', 'text')
        .execute();
      await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'created_at']).execute();
      await db.schema.createIndex('jobs_created').on('jobs').columns(['created_at', 'id']).execute();
      await db.schema
        .createTable('job_tasks')
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('device_name', 'text', (c) => c.notNull())
        .addColumn('vendor', 'text', (c) => c.notNull())
        .addColumn('canary', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('changes', 'text')
        .addColumn('config', 'text')
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addPrimaryKeyConstraint('job_tasks_pk', ['job_id', 'device_id'])
        .execute();
      await db.schema.createIndex('job_tasks_seq').on('job_tasks').columns(['job_id', 'seq']).execute();
      await db.schema
        .createIndex('job_tasks_state')
        .on('job_tasks')
        .columns(['job_id', 'state', 'seq'])
        .execute();
      await db.schema
        .createIndex('job_tasks_device')
        .on('job_tasks')
        .columns(['device_id', 'state'])
        .execute();
    },
  };
}

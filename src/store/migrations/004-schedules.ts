import type { Kysely, Migration } from 'kysely';

/**
 * Scheduled broadcasts: the schedules, one run per occurrence that came due, and one firing per
 * run and phase (pre-roll, start, stop). The unique keys are what makes firing exactly-once:
 * `(schedule_id, occurrence)` for runs and `(run_id, phase)` for firings.
 */
export function schedules(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('schedules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('selector', 'text')
        .addColumn('device_ids', 'text')
        .addColumn('profile', 'text')
        .addColumn('config', 'text')
        .addColumn('start_at', 'text')
        .addColumn('end_at', 'text')
        .addColumn('cron', 'text')
        .addColumn('timezone', 'text')
        .addColumn('duration_minutes', 'integer')
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('last_occurrence', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('schedule_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id').onDelete('cascade'))
        .addColumn('occurrence', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text', (c) => c.notNull())
        .addColumn('preroll_at', 'text', (c) => c.notNull())
        .addColumn('stop_at', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('device_ids', 'text')
        .addColumn('preroll_failures', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('schedule_runs_occurrence', ['schedule_id', 'occurrence'])
        .execute();
      await db.schema.createIndex('schedule_runs_state').on('schedule_runs').column('state').execute();
      await db.schema
        .createTable('schedule_firings')
        .addColumn('run_id', 'text', (c) => c.notNull().references('schedule_runs.id').onDelete('cascade'))
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('lease_until', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('late_ms', 'integer')
        .addColumn('claimed_at', 'text', (c) => c.notNull())
        .addColumn('fired_at', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('schedule_firings_pk', ['run_id', 'phase'])
        .execute();
    },
  };
}

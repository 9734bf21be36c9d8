/**
 * Schedules, their runs and firings on SQL, for both backends.
 *
 * Exactly-once firing rests on two unique keys. A run is inserted once per (schedule, occurrence)
 * with ON CONFLICT DO NOTHING, and a phase fires only for the process whose INSERT of the
 * (run, phase) firing row succeeded: on PostgreSQL a concurrent insert of the same key waits for the
 * first to commit and then does nothing; SQLite has a single writer. A claim holds a lease; a
 * process that dies mid-firing leaves a claim whose lease runs out, and a conditional UPDATE (the
 * WHERE clause is re-checked on the locked row) lets exactly one successor take it over. The job a
 * firing submits carries an idempotency key, so a taken-over firing finds the job its predecessor
 * created instead of creating a second.
 */
import type { Kysely, Selectable } from 'kysely';
import type { JobConfig } from '../fleet/jobs/model.js';
import type {
  FiringRecord,
  FiringState,
  Phase,
  ResolvedOptions,
  RunRecord,
  RunState,
  ScheduleRecord,
  ScheduleSpec,
} from '../fleet/schedules/model.js';
import { OPEN_RUN_STATES } from '../fleet/schedules/model.js';
import type { FiringClaim, FiringOutcome, NewRun, ScheduleRepo } from '../fleet/schedules/repo.js';
import type { SecretBox } from '../security/secrets.js';
import type { Db } from './db.js';
import { chunks } from './devices.js';
import { PreconditionFailedError, StoreNotFoundError, translateDbError } from './errors.js';
import { deleteInBatches } from './prune.js';
import type { Database } from './schema.js';
import { openJson, sealJson } from './secret-fields.js';

type ScheduleRow = Database['schedules'];
type RunRow = Database['schedule_runs'];
type FiringRow = Selectable<Database['schedule_firings']>;

export class SqlScheduleRepo implements ScheduleRepo {
  private readonly db: Kysely<Database>;

  constructor(
    store: Db,
    private readonly box: SecretBox,
  ) {
    this.db = store.kysely;
  }

  async create(spec: ScheduleSpec, at: { id: string; now: string }): Promise<ScheduleRecord> {
    const row: ScheduleRow = {
      id: at.id,
      ...this.specColumns(spec),
      last_occurrence: at.now,
      version: 1,
      created_at: at.now,
      updated_at: at.now,
    };
    try {
      await this.db.insertInto('schedules').values(row).execute();
    } catch (err) {
      throw translateDbError(err, 'schedule');
    }
    return this.toSchedule(row);
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const row = await this.db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.toSchedule(row) : undefined;
  }

  async list(): Promise<ScheduleRecord[]> {
    const rows = await this.db.selectFrom('schedules').selectAll().orderBy('name').execute();
    return rows.map((r) => this.toSchedule(r));
  }

  async update(
    id: string,
    spec: ScheduleSpec,
    now: string,
    expectedVersion?: number,
  ): Promise<ScheduleRecord> {
    try {
      await this.db.transaction().execute(async (tx) => {
        const current = await tx.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst();
        if (!current) throw new StoreNotFoundError('schedule', id);
        if (expectedVersion !== undefined && Number(current.version) !== expectedVersion)
          throw new PreconditionFailedError('schedule', Number(current.version));
        const result = await tx
          .updateTable('schedules')
          .set({
            ...this.specColumns(spec),
            last_occurrence: current.last_occurrence > now ? current.last_occurrence : now,
            version: Number(current.version) + 1,
            updated_at: now,
          })
          .where('id', '=', id)
          .where('version', '=', current.version)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0)
          throw new PreconditionFailedError('schedule', Number(current.version) + 1);
      });
    } catch (err) {
      throw translateDbError(err, 'schedule');
    }
    return (await this.get(id))!;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('schedules').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async advance(scheduleId: string, occurrence: string): Promise<void> {
    await this.db
      .updateTable('schedules')
      .set({ last_occurrence: occurrence })
      .where('id', '=', scheduleId)
      .where('last_occurrence', '<', occurrence)
      .execute();
  }

  async insertRun(run: NewRun): Promise<boolean> {
    const inserted = await this.db
      .insertInto('schedule_runs')
      .values({
        id: run.id,
        schedule_id: run.scheduleId,
        occurrence: run.occurrence,
        ends_at: run.endsAt,
        preroll_at: run.prerollAt,
        stop_at: run.stopAt,
        state: run.state,
        reason: run.reason ?? null,
        device_ids: null,
        preroll_failures: null,
        created_at: run.createdAt,
        updated_at: run.createdAt,
      })
      .onConflict((oc) => oc.columns(['schedule_id', 'occurrence']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return !!inserted;
  }

  /**
   * Deletes runs that ended (or were skipped or failed) with their stop before `before` (ISO time),
   * with their firings (the foreign key cascades); open runs stay. New runs are made from each schedule's own cursor, so a
   * deleted run is never made again.
   */
  pruneRuns(before: string): Promise<number> {
    return deleteInBatches(
      500,
      async (limit) =>
        (
          await this.db
            .selectFrom('schedule_runs')
            .select('id')
            .where('state', 'not in', OPEN_RUN_STATES)
            .where('stop_at', '<', before)
            .limit(limit)
            .execute()
        ).map((r) => r.id),
      (ids) => this.db.deleteFrom('schedule_runs').where('id', 'in', ids).execute(),
    );
  }

  async openRuns(): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('schedule_runs')
      .selectAll()
      .where('state', 'in', [...OPEN_RUN_STATES])
      .orderBy('occurrence')
      .execute();
    return rows.map(toRun);
  }

  async runs(scheduleId: string, limit: number, before?: string): Promise<RunRecord[]> {
    let q = this.db.selectFrom('schedule_runs').selectAll().where('schedule_id', '=', scheduleId);
    if (before) q = q.where('occurrence', '<', before);
    const rows = await q.orderBy('occurrence', 'desc').limit(limit).execute();
    return rows.map(toRun);
  }

  async runsBetween(from: string, to: string): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('schedule_runs')
      .selectAll()
      .where('occurrence', '>=', from)
      .where('occurrence', '<', to)
      .execute();
    return rows.map(toRun);
  }

  async fixDevices(runId: string, deviceIds: readonly string[]): Promise<readonly string[]> {
    await this.db
      .updateTable('schedule_runs')
      .set({ device_ids: JSON.stringify(deviceIds) })
      .where('id', '=', runId)
      .where('device_ids', 'is', null)
      .execute();
    const row = await this.db
      .selectFrom('schedule_runs')
      .select('device_ids')
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    return JSON.parse(row.device_ids ?? '[]') as string[];
  }

  async claim(c: FiringClaim): Promise<{ won: boolean; firing: FiringRecord }> {
    const inserted = await this.db
      .insertInto('schedule_firings')
      .values({
        run_id: c.runId,
        phase: c.phase,
        state: 'claimed',
        owner: c.owner,
        lease_until: c.leaseUntil,
        job_id: null,
        late_ms: null,
        claimed_at: c.now,
        fired_at: null,
        error: null,
      })
      .onConflict((oc) => oc.columns(['run_id', 'phase']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { won: true, firing: toFiring(inserted) };
    const takenOver = await this.db
      .updateTable('schedule_firings')
      .set({ owner: c.owner, lease_until: c.leaseUntil, claimed_at: c.now })
      .where('run_id', '=', c.runId)
      .where('phase', '=', c.phase)
      .where('state', '=', 'claimed')
      .where('lease_until', '<', c.now)
      .returningAll()
      .executeTakeFirst();
    if (takenOver) return { won: true, firing: toFiring(takenOver) };
    const current = await this.db
      .selectFrom('schedule_firings')
      .selectAll()
      .where('run_id', '=', c.runId)
      .where('phase', '=', c.phase)
      .executeTakeFirstOrThrow();
    return { won: false, firing: toFiring(current) };
  }

  async renew(runId: string, phase: Phase, owner: string, leaseUntil: string): Promise<boolean> {
    const result = await this.db
      .updateTable('schedule_firings')
      .set({ lease_until: leaseUntil })
      .where('run_id', '=', runId)
      .where('phase', '=', phase)
      .where('owner', '=', owner)
      .where('state', '=', 'claimed')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async finish(o: FiringOutcome): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx
        .updateTable('schedule_firings')
        .set({
          state: o.state,
          job_id: o.jobId ?? null,
          late_ms: o.lateMs ?? null,
          fired_at: o.firedAt,
          error: o.error ?? null,
        })
        .where('run_id', '=', o.runId)
        .where('phase', '=', o.phase)
        .where('owner', '=', o.owner)
        .where('state', '=', 'claimed')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await tx
        .updateTable('schedule_runs')
        .set({
          state: o.run.state,
          ...(o.run.reason !== undefined ? { reason: o.run.reason } : {}),
          ...(o.run.prerollFailures ? { preroll_failures: JSON.stringify(o.run.prerollFailures) } : {}),
          updated_at: o.firedAt,
        })
        .where('id', '=', o.runId)
        .execute();
      return true;
    });
  }

  async firings(runIds: readonly string[]): Promise<FiringRecord[]> {
    const out: FiringRecord[] = [];
    for (const ids of chunks(runIds, 500)) {
      if (!ids.length) continue;
      const rows = await this.db
        .selectFrom('schedule_firings')
        .selectAll()
        .where('run_id', 'in', ids)
        .execute();
      out.push(...rows.map(toFiring));
    }
    return out;
  }

  private specColumns(spec: ScheduleSpec) {
    return {
      name: spec.name,
      selector: spec.selector ?? null,
      device_ids: spec.deviceIds ? JSON.stringify(spec.deviceIds) : null,
      profile: spec.profile ?? null,
      config: sealJson(spec.config, this.box),
      start_at: spec.start ?? null,
      end_at: spec.end ?? null,
      cron: spec.recurrence?.cron ?? null,
      timezone: spec.recurrence?.timezone ?? null,
      duration_minutes: spec.recurrence?.durationMinutes ?? null,
      options: JSON.stringify(spec.options),
      enabled: spec.enabled ? 1 : 0,
    };
  }

  private toSchedule(r: ScheduleRow): ScheduleRecord {
    const config = openJson<JobConfig>(r.config, this.box);
    return {
      id: r.id,
      name: r.name,
      ...(r.selector !== null ? { selector: r.selector } : {}),
      ...(r.device_ids !== null ? { deviceIds: JSON.parse(r.device_ids) as string[] } : {}),
      ...(r.profile !== null ? { profile: r.profile } : {}),
      ...(config ? { config } : {}),
      ...(r.start_at !== null && r.end_at !== null ? { start: r.start_at, end: r.end_at } : {}),
      ...(r.cron !== null && r.timezone !== null && r.duration_minutes !== null
        ? {
            recurrence: {
              cron: r.cron,
              timezone: r.timezone,
              durationMinutes: Number(r.duration_minutes),
            },
          }
        : {}),
      enabled: Number(r.enabled) === 1,
      options: JSON.parse(r.options) as ResolvedOptions,
      lastOccurrence: r.last_occurrence,
      version: Number(r.version),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }
}

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    scheduleId: r.schedule_id,
    occurrence: r.occurrence,
    endsAt: r.ends_at,
    prerollAt: r.preroll_at,
    stopAt: r.stop_at,
    state: r.state as RunState,
    ...(r.reason !== null ? { reason: r.reason } : {}),
    ...(r.device_ids !== null ? { deviceIds: JSON.parse(r.device_ids) as string[] } : {}),
    ...(r.preroll_failures !== null ? { prerollFailures: JSON.parse(r.preroll_failures) } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toFiring(r: FiringRow): FiringRecord {
  return {
    runId: r.run_id,
    phase: r.phase as Phase,
    state: r.state as FiringState,
    owner: r.owner,
    leaseUntil: r.lease_until,
    ...(r.job_id !== null ? { jobId: r.job_id } : {}),
    ...(r.late_ms !== null ? { lateMs: Number(r.late_ms) } : {}),
    claimedAt: r.claimed_at,
    ...(r.fired_at !== null ? { firedAt: r.fired_at } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
  };
}

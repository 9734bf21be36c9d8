/**
 * Jobs and tasks on SQL, for both backends. A job is claimed by one process under a lease; the
 * claim is a single conditional UPDATE, so two replicas racing for the same job cannot both win
 * (PostgreSQL re-checks the WHERE clause on the locked row; SQLite has one writer).
 */
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { EncoderConfig } from '../../drivers/contract.js';
import {
  type JobConfig,
  type JobCounts,
  type JobOptions,
  type JobRecord,
  type JobState,
  type TASK_STATES,
  type TaskRecord,
  type TaskState,
  TERMINAL_JOB_STATES,
} from '../fleet/jobs/model.js';
import type {
  DesiredWrite,
  JobProgress,
  JobRepo,
  NewJob,
  NewTask,
  Page,
  RunnableTask,
  TaskUpdate,
} from '../fleet/jobs/repo.js';
import type { Selector } from '../fleet/selector.js';
import type { Guidance } from '../ingest/guidance.js';
import type { SecretBox } from '../security/secrets.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Db } from './db.js';
import { chunks, type DeviceRepo, deviceSelectorCondition } from './devices.js';
import { deleteInBatches } from './prune.js';
import type { Database } from './schema.js';
import { openJson, sealJson } from './secret-fields.js';

type JobRow = Database['jobs'];
type TaskRow = Database['job_tasks'];

export class SqlJobRepo implements JobRepo {
  private readonly db: Kysely<Database>;

  constructor(
    store: Db,
    private readonly box: SecretBox,
    private readonly devices: DeviceRepo,
  ) {
    this.db = store.kysely;
  }

  async create(
    job: NewJob,
    tasks: readonly NewTask[],
    desired?: DesiredWrite,
  ): Promise<ReadonlyMap<string, number>> {
    const row: JobRow = {
      id: job.id,
      action: job.action,
      state: 'queued',
      origin: job.origin,
      selector: job.selector ?? null,
      profile: job.profile ?? null,
      config: sealJson(job.config, this.box),
      options: JSON.stringify(job.options),
      counts: JSON.stringify(job.counts),
      reason: null,
      created_by: job.createdBy ?? null,
      idempotency_scope: job.idempotencyKey ? `${job.createdBy ?? ''}:${job.idempotencyKey}` : null,
      request_hash: job.requestHash ?? null,
      created_at: job.createdAt,
      started_at: null,
      finished_at: null,
      cancel_requested: 0,
      owner: null,
      lease_until: null,
      guidance: job.guidance ? JSON.stringify(job.guidance) : null,
    };
    const now = new Date().toISOString();
    // Devices without overrides of their own share one config: seal it once, not once per task.
    // (Equal configs then get equal ciphertext, which tells only that they are equal.)
    const sealed = new Map<string, string | null>();
    const seal = (config: EncoderConfig | undefined) => {
      if (!config) return null;
      const text = JSON.stringify(config);
      if (!sealed.has(text)) sealed.set(text, sealJson(config, this.box));
      return sealed.get(text)!;
    };
    const taskRows: TaskRow[] = tasks.map((t) => ({
      job_id: job.id,
      device_id: t.deviceId,
      seq: t.seq,
      device_name: t.deviceName,
      vendor: t.vendor,
      canary: t.canary ? 1 : 0,
      state: t.state,
      attempt_count: 0,
      attempts: '[]',
      error: t.error ? JSON.stringify(t.error) : null,
      changes: null,
      config: seal(t.config),
      started_at: null,
      finished_at: t.state === 'failed' ? now : null,
    }));
    return this.db.transaction().execute(async (tx) => {
      await tx.insertInto('jobs').values(row).execute();
      for (const chunk of chunks(taskRows, 200)) await tx.insertInto('job_tasks').values(chunk).execute();
      return desired ? this.devices.setDesired(tx, desired.deviceIds, desired) : new Map<string, number>();
    });
  }

  async byIdempotencyKey(key: string, createdBy?: string) {
    const row = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('idempotency_scope', '=', `${createdBy ?? ''}:${key}`)
      .executeTakeFirst();
    return row
      ? { job: toJob(row), ...(row.request_hash ? { requestHash: row.request_hash } : {}) }
      : undefined;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  /** Newest first. */
  async list(filter: {
    state?: JobState;
    cursor?: string;
    limit: number;
    scope?: Selector;
  }): Promise<Page<JobRecord>> {
    let q = this.db.selectFrom('jobs').selectAll();
    if (filter.state) q = q.where('state', '=', filter.state);
    const { scope } = filter;
    if (scope) q = q.where((eb) => eb.not(eb.exists(tasksOutside(eb, scope))));
    if (filter.cursor) {
      const [createdAt, id] = decodeCursor(filter.cursor) as [string, string];
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '<', createdAt),
          eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)]),
        ]),
      );
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute();
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map(toJob),
      ...(rows.length > filter.limit && last ? { nextCursor: encodeCursor([last.created_at, last.id]) } : {}),
    };
  }

  async inScope(jobId: string, scope: Selector): Promise<boolean> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('id', '=', jobId)
      .where((eb) => eb.not(eb.exists(tasksOutside(eb, scope))))
      .executeTakeFirst();
    return !!row;
  }

  async tasks(
    jobId: string,
    filter: { state?: TaskState; cursor?: string; limit: number },
  ): Promise<Page<TaskRecord>> {
    let q = this.db.selectFrom('job_tasks').selectAll().where('job_id', '=', jobId);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.cursor) q = q.where('seq', '>', Number(decodeCursor(filter.cursor)[0]));
    const rows = await q
      .orderBy('seq')
      .limit(filter.limit + 1)
      .execute();
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => this.toTask(r)),
      ...(rows.length > filter.limit && last ? { nextCursor: encodeCursor([last.seq, last.device_id]) } : {}),
    };
  }

  async claim(owner: string, leaseMs: number): Promise<{ job: JobRecord; resumed: boolean } | undefined> {
    const now = new Date().toISOString();
    const until = new Date(Date.now() + leaseMs).toISOString();
    const candidates = await this.db
      .selectFrom('jobs')
      .select(['id', 'state'])
      .where((eb) =>
        eb.or([
          eb('state', '=', 'queued'),
          eb.and([
            eb('state', '=', 'running'),
            eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]),
          ]),
        ]),
      )
      .orderBy('created_at')
      .limit(5)
      .execute();
    // The update below matches a row only in the state it was read in (a queued job leaves that state
    // only by a claim, whose fresh lease the update would not match), so that state tells a first
    // claim from a resumption.
    for (const { id, state } of candidates) {
      const row = await this.db
        .updateTable('jobs')
        .set({ owner, lease_until: until, state: 'running' })
        .where('id', '=', id)
        .where((eb) =>
          eb.or([
            eb('state', '=', 'queued'),
            eb.and([
              eb('state', '=', 'running'),
              eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]),
            ]),
          ]),
        )
        .returningAll()
        .executeTakeFirst();
      if (row) return { job: toJob(row), resumed: state !== 'queued' };
    }
    return undefined;
  }

  async renew(jobId: string, owner: string, leaseMs: number) {
    const row = await this.db
      .updateTable('jobs')
      .set({ lease_until: new Date(Date.now() + leaseMs).toISOString() })
      .where('id', '=', jobId)
      .where('owner', '=', owner)
      .returning('cancel_requested')
      .executeTakeFirst();
    return { held: !!row, cancelRequested: Number(row?.cancel_requested ?? 0) === 1 };
  }

  async unfinishedTasks(
    jobId: string,
    page: { afterSeq: number; limit: number; canary: boolean },
  ): Promise<RunnableTask[]> {
    const rows = await this.db
      .selectFrom('job_tasks')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('state', 'in', ['pending', 'running'])
      .where('canary', '=', page.canary ? 1 : 0)
      .where('seq', '>', page.afterSeq)
      .orderBy('seq')
      .limit(page.limit)
      .execute();
    // Tasks sharing one sealed config (see create) are opened once; plans never change a config.
    const opened = new Map<string, EncoderConfig | undefined>();
    return rows.map((r) => {
      let config: EncoderConfig | undefined;
      if (r.config !== null) {
        if (!opened.has(r.config)) opened.set(r.config, openJson<EncoderConfig>(r.config, this.box));
        config = opened.get(r.config);
      }
      return { ...this.toTask(r), ...(config ? { config } : {}) };
    });
  }

  async countTasks(jobId: string): Promise<JobCounts> {
    const rows = await this.db
      .selectFrom('job_tasks')
      .select((eb) => [
        'state',
        eb.fn.countAll<string | number>().as('n'),
        eb.fn
          .sum<string | number>(eb.case().when('attempt_count', '>', 1).then(1).else(0).end())
          .as('retried'),
      ])
      .where('job_id', '=', jobId)
      .groupBy('state')
      .execute();
    const counts: JobCounts = {
      total: 0,
      pending: 0,
      running: 0,
      succeeded: 0,
      unchanged: 0,
      failed: 0,
      skipped: 0,
      canceled: 0,
      retried: 0,
    };
    for (const r of rows) {
      const state = r.state as (typeof TASK_STATES)[number];
      counts[state] = Number(r.n);
      counts.total += Number(r.n);
      counts.retried += Number(r.retried ?? 0);
    }
    return counts;
  }

  async save(tasks: readonly TaskUpdate[], progress: readonly JobProgress[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      // One UPDATE … FROM (VALUES …) per 100 tasks instead of one statement per task: a
      // 10,000-device job otherwise spends more time in the database than on its devices.
      for (const chunk of chunks(tasks, 100)) {
        const rows = chunk.map(
          (t) =>
            sql`(${t.jobId}, ${t.deviceId}, ${t.state}, cast(${t.attempts.length} as integer), ${JSON.stringify(t.attempts)}, ${
              t.error ? JSON.stringify(t.error) : null
            }, ${t.changes ? JSON.stringify(t.changes) : null}, ${t.startedAt ?? null}, ${t.finishedAt ?? null})`,
        );
        await sql`with v(job_id, device_id, state, attempt_count, attempts, error, changes, started_at, finished_at) as (values ${sql.join(rows)})
          update job_tasks set state = v.state, attempt_count = v.attempt_count, attempts = v.attempts, error = v.error,
            changes = v.changes, started_at = v.started_at, finished_at = v.finished_at
          from v where job_tasks.job_id = v.job_id and job_tasks.device_id = v.device_id`.execute(tx);
      }
      for (const p of progress) {
        await tx
          .updateTable('jobs')
          .set({
            counts: JSON.stringify(p.counts),
            ...(p.state ? { state: p.state } : {}),
            ...(p.startedAt ? { started_at: p.startedAt } : {}),
            ...(p.finishedAt ? { finished_at: p.finishedAt, owner: null, lease_until: null } : {}),
            ...(p.reason ? { reason: p.reason } : {}),
          })
          .where('id', '=', p.jobId)
          .execute();
      }
    });
  }

  /**
   * Deletes jobs that finished before `before` (ISO time), with their per-device results (the tasks'
   * foreign key cascades); queued and running jobs stay whatever their age. Returns how many jobs went.
   */
  pruneFinished(before: string): Promise<number> {
    // A few jobs per batch: each can carry tens of thousands of task rows.
    return deleteInBatches(
      10,
      async (limit) =>
        (
          await this.db
            .selectFrom('jobs')
            .select('id')
            .where('state', 'in', TERMINAL_JOB_STATES)
            .where('finished_at', '<', before)
            .limit(limit)
            .execute()
        ).map((r) => r.id),
      (ids) => this.db.deleteFrom('jobs').where('id', 'in', ids).execute(),
    );
  }

  async requestCancel(jobId: string): Promise<JobRecord | undefined> {
    await this.db
      .updateTable('jobs')
      .set({ cancel_requested: 1 })
      .where('id', '=', jobId)
      .where('state', 'in', ['queued', 'running'])
      .execute();
    return this.get(jobId);
  }

  async release(jobId: string, owner: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ owner: null, lease_until: null })
      .where('id', '=', jobId)
      .where('owner', '=', owner)
      .execute();
  }

  /** Devices with a task pending or running in any job (the sync status "applying"). */
  async devicesInFlight(): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('job_tasks')
      .innerJoin('jobs', 'jobs.id', 'job_tasks.job_id')
      .select('job_tasks.device_id')
      .where('job_tasks.state', 'in', ['pending', 'running'])
      .where('jobs.state', 'in', ['queued', 'running'])
      .execute();
    return new Set(rows.map((r) => r.device_id));
  }

  private toTask(r: TaskRow): TaskRecord {
    return {
      deviceId: r.device_id,
      deviceName: r.device_name,
      vendor: r.vendor,
      seq: Number(r.seq),
      canary: Number(r.canary) === 1,
      state: r.state as TaskState,
      attempts: JSON.parse(r.attempts),
      ...(r.error ? { error: JSON.parse(r.error) } : {}),
      ...(r.changes ? { changes: JSON.parse(r.changes) } : {}),
      ...(r.started_at ? { startedAt: r.started_at } : {}),
      ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
    };
  }
}

function toJob(r: JobRow): JobRecord {
  return {
    id: r.id,
    action: r.action as JobRecord['action'],
    state: r.state as JobState,
    origin: r.origin as JobRecord['origin'],
    ...(r.selector ? { selector: r.selector } : {}),
    ...(r.profile ? { profile: r.profile } : {}),
    options: JSON.parse(r.options) as JobOptions,
    counts: JSON.parse(r.counts) as JobCounts,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.created_by ? { createdBy: r.created_by } : {}),
    ...(r.idempotency_scope
      ? { idempotencyKey: r.idempotency_scope.slice(r.idempotency_scope.indexOf(':') + 1) }
      : {}),
    createdAt: r.created_at,
    ...(r.started_at ? { startedAt: r.started_at } : {}),
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
    cancelRequested: Number(r.cancel_requested) === 1,
    ...(r.guidance ? { guidance: JSON.parse(r.guidance) as Guidance } : {}),
  };
}

/** The job's own config (decrypted), for views that show what a job applied. */
export async function jobConfig(store: Db, box: SecretBox, jobId: string): Promise<JobConfig | undefined> {
  const row = await store.kysely
    .selectFrom('jobs')
    .select('config')
    .where('id', '=', jobId)
    .executeTakeFirst();
  return row ? openJson<JobConfig>(row.config, box) : undefined;
}

/** The job's tasks on devices that are gone or do not match `scope` (correlated with `jobs`). */
function tasksOutside(eb: ExpressionBuilder<Database, 'jobs'>, scope: Selector) {
  return eb
    .selectFrom('job_tasks')
    .select('job_tasks.device_id')
    .whereRef('job_tasks.job_id', '=', 'jobs.id')
    .where(
      'job_tasks.device_id',
      'not in',
      eb
        .selectFrom('devices')
        .select('devices.id')
        .where((d) => deviceSelectorCondition(d as unknown as ExpressionBuilder<Database, 'devices'>, scope)),
    );
}

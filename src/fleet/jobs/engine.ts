/**
 * The job engine: turns a job request into per-device tasks in the store, then runs them through
 * the device lanes with retries, canary, failure budget and cancel, and survives restarts: a job is
 * leased by one process at a time; when its owner dies the lease runs out and any replica (or the
 * restarted process) resumes it. Completed devices are not redone; a device whose task was in flight
 * is run again, which is safe because every plan reads first and only writes what still differs.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  type ConfigChange,
  checkCapabilities,
  type DeviceEndpoint,
  type EncoderConfig,
} from '../../../drivers/contract.js';
import { getDriverModule } from '../../../drivers/index.js';
import { ApiError, BadRequestError } from '../../api/errors.js';
import { shorthandFieldErrors } from '../../ingest/expand.js';
import type { Guidance } from '../../ingest/guidance.js';
import type { DesiredConfigs } from '../desired-config.js';
import type { DeviceLanes } from '../device-lanes.js';
import { runPlan } from '../device-plan.js';
import type { EventSink } from '../events.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetries } from '../retry.js';
import type { Selector } from '../selector.js';
import { type Attempt, type TaskError, toTaskError } from '../task-error.js';
import {
  emptyCounts,
  failureBudget,
  finalState,
  type JobConfig,
  type JobCounts,
  type JobOrigin,
  type JobRecord,
  type JobRequest,
  type TaskState,
  TERMINAL_JOB_STATES,
} from './model.js';
import type { DesiredWrite, JobDevices, JobRepo, NewTask, RunnableTask, TaskUpdate } from './repo.js';
import { TaskSource } from './task-source.js';
import { TaskWriter } from './task-writer.js';

export interface JobEngineOptions {
  readonly repo: JobRepo;
  readonly devices: JobDevices;
  readonly lanes: DeviceLanes;
  readonly events: EventSink;
  readonly logger: Logger;
  /** This process's identity in job leases. */
  readonly owner: string;
  /** A job whose owner stops renewing for this long is taken over. */
  readonly leaseMs?: number;
  readonly retry?: RetryPolicy;
  /** How often to look for jobs queued by other replicas or orphaned by a crash. */
  readonly pollMs?: number;
  /** Jobs run at once by this process (their devices share the lanes' bound anyway). */
  readonly maxParallelJobs?: number;
  /**
   * Told which devices a new job will work on (they count as "applying" from now on), and the
   * desired state the job recorded for them with each device's version after that write.
   */
  readonly onQueued?: (
    deviceIds: readonly string[],
    desired?: { readonly write: DesiredWrite; readonly versions: ReadonlyMap<string, number> },
  ) => void;
  /** Computes each device's complete config (overrides, nanoStream shorthand) for `apply`. */
  readonly configs: DesiredConfigs;
  /** Setting guidance for an `apply` job's devices, attached to the job (and blocking it when strict). */
  readonly advise?: (
    items: readonly { deviceId: string; config: EncoderConfig }[],
    strict: boolean,
  ) => Guidance;
}

export interface SubmitContext {
  readonly origin?: JobOrigin;
  readonly createdBy?: string;
  readonly idempotencyKey?: string;
  /** The caller's device scope: devices outside it are neither selected nor accepted by id. */
  readonly scope?: Selector;
}

export class JobEngine {
  private readonly repo: JobRepo;
  private readonly leaseMs: number;
  private readonly retry: RetryPolicy;
  private readonly running = new Map<string, AbortController>();
  /** Each running job's run, to wait for on stop. */
  private readonly runs = new Set<Promise<void>>();
  private readonly finished = new EventEmitter();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  /** A wake-up arrived during a claim pass; that pass may have looked before the new job existed. */
  private wakeAgain = false;
  private stopped = false;

  constructor(private readonly opts: JobEngineOptions) {
    this.repo = opts.repo;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.finished.setMaxListeners(0);
  }

  /** Starts picking up jobs: queued ones, and ones left running by a process that died. */
  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.wake();
  }

  /** Stops taking jobs and lets running device operations finish; leases lapse for a successor. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const controller of this.running.values()) controller.abort(new Error('service stopping'));
    await this.ticking;
    // Device operations under way end (no new attempt starts) and their results are saved before
    // the store closes; otherwise a restart runs them again and reports them unchanged.
    await Promise.all(this.runs);
  }

  /**
   * Validates a request and stores the job with one task per device. Devices whose config is
   * invalid or unsupported get a failed task at once and are never contacted.
   */
  async submit(request: JobRequest, ctx: SubmitContext = {}): Promise<JobRecord> {
    checkShape(request);
    const requestHash = hashRequest(request);
    if (ctx.idempotencyKey) {
      const earlier = await this.repo.byIdempotencyKey(ctx.idempotencyKey, ctx.createdBy);
      if (earlier) {
        if (earlier.requestHash && earlier.requestHash !== requestHash) {
          throw new ApiError(
            422,
            'idempotency_key_reused',
            'Idempotency-Key was already used for a different request',
          );
        }
        return earlier.job;
      }
    }
    const devices = await this.opts.devices.resolve({
      selector: request.selector,
      deviceIds: request.deviceIds,
      ...(ctx.scope ? { scope: ctx.scope } : {}),
    });
    if (!devices.length)
      throw new BadRequestError('the selector matches no device', [
        { field: 'body/selector', reason: 'matches no device' },
      ]);

    const options = { dryRun: false, ...request.options };
    const profile = request.profile ? await this.opts.devices.profile(request.profile) : undefined;
    const base: JobConfig | undefined = profile?.config ?? request.config;
    const canary = options.canary ?? 0;
    let pendingSeen = 0;
    const tasks: NewTask[] = devices.map((device, seq) => {
      const task = { deviceId: device.id, deviceName: device.name, vendor: device.vendor, seq };
      const prepared =
        request.action === 'apply'
          ? prepareConfig(this.opts.configs, device.vendor, base, device.overrides)
          : {};
      if (prepared.error) return { ...task, canary: false, state: 'failed' as const, error: prepared.error };
      return {
        ...task,
        canary: pendingSeen++ < canary,
        state: 'pending' as const,
        ...(prepared.config ? { config: prepared.config } : {}),
      };
    });

    const guidance =
      request.action === 'apply' ? this.guidanceFor(tasks, options.strict ?? false) : undefined;
    const refused = tasks.filter((t) => t.state === 'failed').length;
    const counts = { ...emptyCounts(tasks.length), pending: tasks.length - refused, failed: refused };
    const job = {
      id: randomUUID(),
      action: request.action,
      origin: ctx.origin ?? 'api',
      ...(request.selector ? { selector: request.selector } : {}),
      ...(profile ? { profile: profile.name } : {}),
      ...(request.config ? { config: request.config } : {}),
      options,
      ...(ctx.createdBy ? { createdBy: ctx.createdBy } : {}),
      ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey, requestHash } : {}),
      createdAt: new Date().toISOString(),
      counts,
      ...(guidance ? { guidance } : {}),
    };
    const desired = options.dryRun ? undefined : desiredWrite(request, tasks, profile?.id);
    const versions = await this.repo.create(job, tasks, desired);
    if (!options.dryRun)
      this.opts.onQueued?.(
        tasks.filter((t) => t.state === 'pending').map((t) => t.deviceId),
        desired && { write: desired, versions },
      );
    const record = (await this.repo.get(job.id))!;
    this.opts.events.publish({
      type: 'job.created',
      jobId: job.id,
      data: { action: job.action, counts, origin: job.origin },
    });
    this.wake();
    return record;
  }

  /**
   * The guidance for the devices about to be configured.
   * @throws ApiError 422 `setting_warnings` when strict and there is any warning: nothing is created
   */
  private guidanceFor(tasks: readonly NewTask[], strict: boolean): Guidance | undefined {
    if (!this.opts.advise) return undefined;
    const items = tasks.flatMap((t) => (t.config ? [{ deviceId: t.deviceId, config: t.config }] : []));
    const guidance = this.opts.advise(items, strict);
    if (strict && guidance.warnings.length) {
      throw new ApiError(
        422,
        'setting_warnings',
        `strict: ${guidance.warnings.length} setting warning(s), nothing was changed: ${guidance.warnings.map((w) => `${w.field}: ${w.message}`).join('; ')}`,
        guidance,
      );
    }
    return guidance;
  }

  /** Asks a job to stop scheduling devices; in-flight device operations finish cleanly. */
  async cancel(jobId: string): Promise<JobRecord | undefined> {
    const job = await this.repo.requestCancel(jobId);
    this.running.get(jobId)?.abort(new CancelRequested());
    this.wake();
    return job;
  }

  /** Resolves with the job once it has ended, or with its current record after `timeoutMs`. */
  async waitFor(jobId: string, timeoutMs: number): Promise<JobRecord | undefined> {
    const current = await this.repo.get(jobId);
    if (!current || TERMINAL_JOB_STATES.includes(current.state)) return current;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.finished.off(jobId, done);
        resolve();
      }, timeoutMs);
      this.finished.once(jobId, done);
    });
    return this.repo.get(jobId);
  }

  /** Looks for claimable jobs now (after a submit, a cancel, or on the timer). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.wakeAgain = true;
      return;
    }
    this.wakeAgain = false;
    this.ticking = this.claimJobs()
      .catch((err: unknown) => this.opts.logger.error({ err }, 'job claim failed'))
      .finally(() => {
        this.ticking = undefined;
        if (this.wakeAgain) this.wake();
      });
  }

  private async claimJobs(): Promise<void> {
    const max = this.opts.maxParallelJobs ?? 8;
    while (!this.stopped && this.running.size < max) {
      const claimed = await this.repo.claim(this.opts.owner, this.leaseMs);
      if (!claimed) return;
      const { job, resumed } = claimed;
      const controller = new AbortController();
      this.running.set(job.id, controller);
      const run = this.runJob(job, resumed, controller)
        .catch((err: unknown) => this.opts.logger.error({ err, jobId: job.id }, 'job run failed'))
        .finally(() => {
          this.running.delete(job.id);
          this.runs.delete(run);
          this.finished.emit(job.id);
          this.wake();
        });
      this.runs.add(run);
    }
  }

  private async runJob(job: JobRecord, resumed: boolean, controller: AbortController): Promise<void> {
    const log = this.opts.logger.child({ jobId: job.id, action: job.action });
    const renewal = setInterval(
      () => {
        this.repo.renew(job.id, this.opts.owner, this.leaseMs).then(
          ({ held, cancelRequested }) => {
            if (!held) controller.abort(new Error('lease lost to another process'));
            else if (cancelRequested) controller.abort(new CancelRequested());
          },
          (err: unknown) => log.warn({ err }, 'lease renewal failed'),
        );
      },
      Math.max(1000, Math.floor(this.leaseMs / 3)),
    );
    const counts = await this.repo.countTasks(job.id);
    const startedAt = job.startedAt ?? new Date().toISOString();
    const writer = new TaskWriter(this.repo, log);
    writer.progress({ jobId: job.id, counts: { ...counts }, state: 'running', startedAt });
    if (job.cancelRequested) controller.abort(new CancelRequested());

    try {
      const run = new JobRun(job, resumed, counts, controller, writer, this.opts, this.retry);
      const remaining = counts.pending + counts.running;
      if (resumed) log.info({ remaining }, 'resuming job');
      const source = (canary: boolean) => new TaskSource(this.repo, this.opts.devices, job.id, canary);
      const canaries = await run.dispatch(source(true), remaining);
      if (canaries && run.canaryFailed())
        run.stop('aborted', `canary failed: ${run.failedCanaries} of ${canaries} canary devices failed`);
      await run.dispatch(source(false), remaining);

      if (controller.signal.aborted && !run.stopKind) {
        const reason = controller.signal.reason;
        // Lease lost or shutting down: leave the rest to whoever resumes the job.
        if (!(reason instanceof CancelRequested)) {
          log.warn({ reason: String(reason?.message ?? reason) }, 'job paused');
          writer.progress({ jobId: job.id, counts: { ...counts } });
          return;
        }
        run.stop('canceled', 'canceled on request');
      }
      const state = finalState(counts, run.stopKind);
      writer.progress({
        jobId: job.id,
        counts: { ...counts },
        state,
        finishedAt: new Date().toISOString(),
        ...(run.reason ? { reason: run.reason } : {}),
      });
      await writer.flush();
      log.info({ state, counts }, 'job finished');
      this.opts.events.publish({
        type: 'job.finished',
        jobId: job.id,
        data: { action: job.action, state, counts, ...(run.reason ? { reason: run.reason } : {}) },
      });
    } finally {
      clearInterval(renewal);
      await writer.close();
      await this.repo.release(job.id, this.opts.owner).catch(() => undefined);
    }
  }
}

/** Tasks of one job in flight at once (waiting for a lane slot or on a device). */
const DISPATCH_WINDOW = 2048;

/** A cancel asked for by a person, as opposed to a lost lease or a shutdown. */
class CancelRequested extends Error {
  constructor() {
    super('canceled on request');
  }
}

/** One execution of one job by this process. */
class JobRun {
  stopKind: 'canceled' | 'aborted' | undefined;
  reason: string | undefined;
  failedCanaries = 0;
  private readonly budget: number;
  private lastProgress = 0;
  private lastSaved = 0;

  constructor(
    private readonly job: JobRecord,
    private readonly resumed: boolean,
    private readonly counts: JobCounts,
    private readonly controller: AbortController,
    private readonly writer: TaskWriter,
    private readonly opts: JobEngineOptions,
    private readonly retry: RetryPolicy,
  ) {
    this.budget = failureBudget(job.options.maxFailures, counts.total);
  }

  canaryFailed(): boolean {
    return this.failedCanaries > 0;
  }

  stop(kind: 'canceled' | 'aborted', reason: string): void {
    if (this.stopKind) return;
    this.stopKind = kind;
    this.reason = reason;
    this.controller.abort(new Error(reason));
  }

  /**
   * Runs the source's tasks through DISPATCH_WINDOW workers (the lanes bound how many touch devices
   * at once): enough to keep every lane slot busy, without holding a promise, closures and a queue
   * entry for each of 10,000 devices from the first second (and no more workers than the job has
   * tasks left: `remaining`). Returns how many tasks it ran.
   *
   * Each worker waits on a signal of its own, aborted with the job's: a task waiting for a lane slot
   * or a backoff listens on the signal it is given, and an EventTarget walks all its listeners on
   * every add and remove, so thousands of tasks on the one job signal cost quadratic time.
   */
  async dispatch(source: TaskSource, remaining: number): Promise<number> {
    const job = this.controller.signal;
    const size = Math.min(DISPATCH_WINDOW, await source.expected(remaining));
    const workers = Array.from({ length: size }, () => new AbortController());
    const abortAll = () => {
      for (const w of workers) w.abort(job.reason);
    };
    if (job.aborted) abortAll();
    else job.addEventListener('abort', abortAll, { once: true });
    let ran = 0;
    try {
      await Promise.all(
        workers.map(async ({ signal }) => {
          for (let item = await source.take(); item; item = await source.take()) {
            ran++;
            await this.runTask(item.task, item.endpoint, signal);
          }
        }),
      );
    } finally {
      job.removeEventListener('abort', abortAll);
    }
    return ran;
  }

  /** Runs one device's task; `signal` is aborted (with the job's reason) when the job stops. */
  private async runTask(
    task: RunnableTask,
    endpoint: DeviceEndpoint | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const attempts: Attempt[] = [...task.attempts];
    const startedAt = new Date().toISOString();
    if (signal.aborted) {
      if (this.pausing()) return;
      return this.finish(task, this.stoppedState(), attempts, startedAt);
    }
    if (!endpoint) {
      return this.finish(task, 'failed', attempts, startedAt, {
        error: {
          type: 'validation',
          message: 'device was deleted after the job was created',
          retryable: false,
        },
      });
    }
    let state: TaskState = task.state === 'running' ? 'running' : 'pending';
    // What the first attempt that sent anything set out to change (a later attempt may find it done).
    let sent: readonly ConfigChange[] | undefined;
    const retries = this.job.options.retries;
    const policy = retries === undefined ? this.retry : { ...this.retry, maxAttempts: retries + 1 };
    try {
      const result = await withRetries(
        () =>
          this.opts.lanes.run(
            endpoint,
            (driver) => {
              // "running" means a device operation is in flight, not that the task is queued.
              // Only the job's counts record that a device is in flight; its task row is written once,
              // when it ends (a crash in between re-runs it, which every plan makes harmless).
              if (state === 'pending') {
                state = 'running';
                this.move('pending', 'running');
                this.reportProgress();
              }
              return runPlan(driver, {
                device: { deviceId: endpoint.id, vendor: endpoint.vendor },
                action: this.job.action,
                ...(task.config ? { config: task.config } : {}),
                dryRun: this.job.options.dryRun ?? false,
                readFirst: !this.startsBlind(attempts.length),
                onSend: (changes) => {
                  sent ??= changes;
                },
              });
            },
            { signal, priority: this.job.options.priority ?? 0 },
          ),
        policy,
        { signal, onAttempt: (a) => attempts.push(a) },
      );
      // "unchanged" only when no attempt of this task sent anything: a retry that finds the device
      // as asked after an earlier attempt wrote and then lost its connection did change the device.
      const outcome = sent && result.outcome === 'unchanged' ? 'succeeded' : result.outcome;
      const changes = sent?.length ? sent : result.changes;
      this.finish(task, outcome, attempts, startedAt, changes ? { changes } : {}, state);
    } catch (err) {
      if (signal.aborted) {
        if (this.pausing()) return this.leavePending(task, attempts, state);
        // Stopped while waiting for a slot or between retries: the device was left as it was.
        const last = attempts.at(-1)?.error;
        this.finish(task, this.stoppedState(), attempts, startedAt, last ? { error: last } : {}, state);
        return;
      }
      // What was sent stays in the result: the device may hold part of it (visible, not silent).
      const changes = sent?.length ? { changes: sent } : {};
      this.finish(task, 'failed', attempts, startedAt, { error: toTaskError(err), ...changes }, state);
    }
  }

  /**
   * A scheduled start is sent without reading each device's status first: the pre-roll has just
   * checked the devices, and that round trip would delay every start. Only on a device's first try in
   * the job's first run, though: a retry, or a job resumed after a crash, may find the device started
   * already, and must not start it twice.
   */
  private startsBlind(attemptsSoFar: number): boolean {
    return (
      this.job.action === 'start' &&
      this.job.origin === 'schedule' &&
      !this.resumed &&
      attemptsSoFar === 0 &&
      !this.job.options.dryRun
    );
  }

  /**
   * The job stops in this process without ending (shutdown, lease lost): tasks not done stay
   * pending for whoever resumes the job, rather than ending as skipped.
   */
  private pausing(): boolean {
    return !this.stopKind && !(this.controller.signal.reason instanceof CancelRequested);
  }

  /** A paused task keeps its attempts so far; the resumed job goes on from there. */
  private leavePending(task: RunnableTask, attempts: readonly Attempt[], from: TaskState): void {
    this.move(from, 'pending');
    if (attempts.length > task.attempts.length)
      this.writer.task({ jobId: this.job.id, deviceId: task.deviceId, state: 'pending', attempts });
  }

  private stoppedState(): TaskState {
    return this.stopKind === 'canceled' || this.controller.signal.reason instanceof CancelRequested
      ? 'canceled'
      : 'skipped';
  }

  private finish(
    task: RunnableTask,
    state: TaskState,
    attempts: readonly Attempt[],
    startedAt: string,
    extra: { error?: TaskError; changes?: TaskUpdate['changes'] } = {},
    from: TaskState = task.state === 'running' ? 'running' : 'pending',
  ): void {
    this.move(from, state);
    if (attempts.length > 1) this.counts.retried++;
    if (state === 'failed' && task.canary) this.failedCanaries++;
    const finishedAt = new Date().toISOString();
    this.writer.task({
      jobId: this.job.id,
      deviceId: task.deviceId,
      state,
      attempts,
      startedAt,
      finishedAt,
      ...extra,
    });
    this.opts.events.publish({
      type: 'job.task',
      jobId: this.job.id,
      deviceId: task.deviceId,
      data: {
        action: this.job.action,
        state,
        attempts: attempts.length,
        ...(this.job.options.dryRun ? { dryRun: true } : {}),
        ...(extra.error ? { error: extra.error } : {}),
      },
    });
    if (state === 'failed' && this.counts.failed > this.budget) {
      this.stop(
        'aborted',
        `failure budget spent: ${this.counts.failed} devices failed (limit ${this.budget})`,
      );
    }
    this.reportProgress();
  }

  private move(from: TaskState, to: TaskState): void {
    if (from === to) return;
    this.counts[from]--;
    this.counts[to]++;
  }

  /**
   * Counts to the store at most every 100 ms (the writer saves that often anyway; the end of the job
   * writes its final counts) and progress events every 250 ms: enough for a live bar, cheap for a
   * 10,000-device job.
   */
  private reportProgress(): void {
    const now = Date.now();
    if (now - this.lastSaved >= 100) {
      this.lastSaved = now;
      this.writer.progress({ jobId: this.job.id, counts: { ...this.counts } });
    }
    if (now - this.lastProgress < 250) return;
    this.lastProgress = now;
    this.opts.events.publish({
      type: 'job.progress',
      jobId: this.job.id,
      data: { counts: { ...this.counts } },
    });
  }
}

function checkShape(request: JobRequest): void {
  const problems = shorthandFieldErrors(request.config, 'body/config');
  if (!!request.selector === !!request.deviceIds)
    problems.push({ field: 'body/selector', reason: 'give exactly one of selector and deviceIds' });
  if (request.action === 'apply') {
    if (!request.config === !request.profile)
      problems.push({ field: 'body/config', reason: 'apply needs exactly one of config and profile' });
  } else {
    if (request.config)
      problems.push({ field: 'body/config', reason: `is only for apply, not ${request.action}` });
    if (request.profile)
      problems.push({ field: 'body/profile', reason: `is only for apply, not ${request.action}` });
  }
  if (problems.length)
    throw new BadRequestError(problems.map((p) => `${p.field} ${p.reason}`).join('; '), problems);
}

/** The device's complete config (job or profile config ⊕ its overrides), checked before any contact. */
function prepareConfig(
  configs: DesiredConfigs,
  vendor: string,
  base: JobConfig | undefined,
  overrides: unknown,
): { config?: EncoderConfig; error?: TaskError } {
  const checked = configs.resolve(base, overrides);
  if (!checked.ok) {
    return {
      error: {
        type: 'validation',
        message: `effective config is incomplete or invalid: ${checked.errors.map((e) => `${e.field} ${e.reason}`).join('; ')}`,
        retryable: false,
        details: checked.errors,
      },
    };
  }
  const problems = checkCapabilities(getDriverModule(vendor).capabilities, checked.config);
  if (problems.length) {
    return {
      error: {
        type: 'unsupported',
        message: problems.map((p) => `${p.field}: ${p.reason}`).join('; '),
        retryable: false,
        details: problems,
      },
    };
  }
  return { config: checked.config };
}

function desiredWrite(
  request: JobRequest,
  tasks: readonly NewTask[],
  profileId: string | undefined,
): DesiredWrite | undefined {
  const deviceIds = tasks.filter((t) => t.state === 'pending').map((t) => t.deviceId);
  switch (request.action) {
    case 'apply':
      return { deviceIds, base: profileId ? { profileId } : { config: request.config! } };
    case 'start':
      return { deviceIds, state: 'streaming' };
    case 'stop':
      return { deviceIds, state: 'stopped' };
    case 'reboot':
      return undefined;
  }
}

/** Canonical JSON (sorted keys) hashed, so key order in a retried request does not matter. */
function hashRequest(request: JobRequest): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(request)))
    .digest('hex');
}

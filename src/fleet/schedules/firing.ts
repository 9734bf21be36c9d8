/**
 * One phase of one run, fired by the process that holds its claim:
 *  - pre-roll: resolve the devices (fixed on the run from then on), apply the config as a job and
 *    wait for it until shortly before the start, or (without a config) read every device's status;
 *    devices that are not ready are recorded on the run and reported before the start;
 *  - start / stop: one job for the run's devices.
 * A start that comes too late is skipped or run per the missed-run policy, unless its job is already in
 * the store (its firing's process died before recording it): then it was fired. The outcome and the run's
 * new state are written together, only while the claim is still held.
 */
import type { Logger } from 'pino';
import { ApiError } from '../../api/errors.js';
import type { EventSink, FleetEventType } from '../events.js';
import type { JobRecord, JobRequest } from '../jobs/model.js';
import type { Clock } from './clock.js';
import { SCHEDULE_PRIORITY, type ScheduleActions, type ScheduleDevice } from './fleet-actions.js';
import { startDecision } from './missed-runs.js';
import type { Phase, PrerollFailure, RunRecord, ScheduleRecord } from './model.js';
import type { FiringOutcome, ScheduleRepo } from './repo.js';
import { iso, type Occurrence } from './timing.js';

export interface FiringContext {
  readonly repo: ScheduleRepo;
  readonly actions: ScheduleActions;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly owner: string;
  /** Aborted when the service stops: the firing is abandoned with its claim for a successor. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

export type ScheduleEventType = Extract<FleetEventType, `schedule.${string}`>;

/** The pre-roll's config must be on the devices this long before the start, to report problems first. */
const START_MARGIN_MS = 1000;
/** A pre-roll that runs late (at or after the start) waits at most this long for the config. */
const LATE_APPLY_WAIT_MS = 60_000;
const FAILURES_KEPT = 100;
const FAILURES_IN_EVENT = 20;

export function publishRunEvent(
  events: EventSink,
  type: ScheduleEventType,
  schedule: ScheduleRecord,
  run: { readonly id: string; readonly occurrence: string },
  data: Record<string, unknown>,
): void {
  events.publish({
    type,
    scheduleId: schedule.id,
    data: { schedule: schedule.name, runId: run.id, occurrence: run.occurrence, ...data },
  });
}

/**
 * Fires `phase` of `run` (the caller holds the claim). Returns the run as it now stands, or
 * undefined when the claim was lost before the outcome could be recorded.
 */
export function firePhase(
  ctx: FiringContext,
  schedule: ScheduleRecord,
  run: RunRecord,
  phase: Phase,
): Promise<RunRecord | undefined> {
  return new Firing(ctx, schedule, run, phase).fire();
}

class Firing {
  private readonly now: number;
  private readonly occurrence: Occurrence;
  private readonly key: { createdBy: string; idempotencyKey: string };
  private readonly log: Logger;

  constructor(
    private readonly ctx: FiringContext,
    private readonly schedule: ScheduleRecord,
    private readonly run: RunRecord,
    private readonly phase: Phase,
  ) {
    this.now = ctx.clock.now();
    this.occurrence = {
      prerollAt: Date.parse(run.prerollAt),
      start: Date.parse(run.occurrence),
      end: Date.parse(run.endsAt),
      stopAt: Date.parse(run.stopAt),
    };
    this.key = { createdBy: `schedule:${schedule.id}`, idempotencyKey: `run:${run.id}:${phase}` };
    this.log = ctx.logger.child({ scheduleId: schedule.id, runId: run.id, phase });
  }

  fire(): Promise<RunRecord | undefined> {
    if (!this.schedule.enabled && this.phase === 'preroll')
      return this.end('skipped', 'the schedule was disabled');
    switch (this.phase) {
      case 'preroll':
        return this.preroll();
      case 'start':
        return this.start();
      case 'stop':
        return this.act('stop', Math.max(0, this.now - this.occurrence.stopAt));
    }
  }

  private async preroll(): Promise<RunRecord | undefined> {
    // Down between the run coming due and its start: the missed-run policy decides here already,
    // before any config is sent.
    if (this.now > this.occurrence.start) {
      const decision = startDecision(this.schedule.options, this.occurrence, this.now);
      if (!decision.run) return this.end('skipped', decision.reason);
    }
    const { devices, missing } = await this.ctx.actions.resolve(
      this.run.deviceIds ? { deviceIds: this.run.deviceIds } : this.schedule,
    );
    const ids = new Set(
      await this.ctx.repo.fixDevices(
        this.run.id,
        devices.map((d) => d.id),
      ),
    );
    if (!ids.size) {
      return this.end(
        'failed',
        this.schedule.selector !== undefined
          ? `the selector ${JSON.stringify(this.schedule.selector)} matches no device`
          : 'none of the devices exist any more',
      );
    }
    const acting = devices.filter((d) => ids.has(d.id));
    const failures: PrerollFailure[] = missing.map((id) => ({
      deviceId: id,
      step: 'reach',
      type: 'validation',
      message: 'device was deleted',
    }));
    let failed = failures.length;
    let jobId: string | undefined;
    if (this.schedule.profile || this.schedule.config) {
      const applied = await this.apply(acting);
      jobId = applied.jobId;
      failures.push(...applied.failures);
      failed += applied.failed;
    } else {
      const unreachable = await this.ctx.actions.probe(acting, this.ctx.signal);
      this.ctx.signal.throwIfAborted();
      failures.push(...unreachable);
      failed += unreachable.length;
    }
    const prerollFailures = failed ? { count: failed, devices: failures.slice(0, FAILURES_KEPT) } : undefined;
    const next = await this.record(
      {
        state: 'done',
        ...(jobId ? { jobId } : {}),
        lateMs: Math.max(0, this.now - this.occurrence.prerollAt),
        run: { state: 'ready', ...(prerollFailures ? { prerollFailures } : {}) },
      },
      [...ids],
    );
    if (!next) return undefined;
    this.log.info({ jobId, devices: ids.size, failed }, 'pre-roll done');
    this.publish('schedule.fired', {
      phase: 'preroll',
      ...(jobId ? { jobId } : {}),
      devices: ids.size,
      failed,
    });
    if (prerollFailures) {
      this.log.warn({ failed, first: failures.slice(0, 5) }, 'pre-roll found devices that are not ready');
      this.publish('schedule.preroll_failed', {
        failed,
        devices: failures.slice(0, FAILURES_IN_EVENT),
        start: this.run.occurrence,
      });
    }
    return next;
  }

  /** Applies the config as a job and waits for it, until shortly before the start. */
  private async apply(
    devices: readonly ScheduleDevice[],
  ): Promise<{ jobId?: string; failures: PrerollFailure[]; failed: number }> {
    const request: JobRequest = {
      action: 'apply',
      deviceIds: devices.map((d) => d.id),
      ...(this.schedule.profile ? { profile: this.schedule.profile } : { config: this.schedule.config! }),
      options: { priority: SCHEDULE_PRIORITY },
    };
    let job: JobRecord;
    try {
      job = await this.ctx.actions.submitOnce(request, this.key);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // Refused as a whole (the profile was deleted, say): no device is ready.
      return {
        failed: devices.length,
        failures: devices.slice(0, FAILURES_KEPT).map((d) => ({
          deviceId: d.id,
          deviceName: d.name,
          step: 'apply' as const,
          type: 'validation',
          message: err.message,
        })),
      };
    }
    const startBy = this.occurrence.start - START_MARGIN_MS;
    const deadline = startBy > this.now ? startBy : this.now + LATE_APPLY_WAIT_MS;
    const ended = await this.ctx.actions.awaitJob(
      job.id,
      Math.max(0, deadline - this.ctx.clock.now()),
      this.ctx.signal,
    );
    this.ctx.signal.throwIfAborted();
    const failed = ended.counts.failed + ended.counts.pending + ended.counts.running;
    const failures = failed ? await this.ctx.actions.jobFailures(job.id, FAILURES_KEPT) : [];
    return { jobId: job.id, failures, failed };
  }

  private async start(): Promise<RunRecord | undefined> {
    const lateMs = Math.max(0, this.now - this.occurrence.start);
    // A predecessor died between submitting the start job and recording the firing: the job engine
    // resumes that job and the devices start whatever is recorded here, so the phase was fired, late
    // or not, disabled since or not. Skipping it would leave the run without its stop and the
    // devices streaming.
    const stored = await this.ctx.actions.submitted(this.key);
    if (stored) return this.fired('start', stored, lateMs);
    if (!this.schedule.enabled) return this.end('skipped', 'the schedule was disabled');
    // A pre-roll that itself ran late (and decided to run) is followed by the start at once; only
    // time lost after it counts against the missed-run policy.
    const readyAt = Date.parse(this.run.updatedAt);
    const decision = startDecision(
      this.schedule.options,
      { ...this.occurrence, start: Math.max(this.occurrence.start, readyAt) },
      this.now,
    );
    if (!decision.run) return this.end('skipped', decision.reason);
    return this.act('start', lateMs);
  }

  private async act(action: 'start' | 'stop', lateMs: number): Promise<RunRecord | undefined> {
    const { devices } = await this.ctx.actions.resolve({ deviceIds: this.run.deviceIds ?? [] });
    if (!devices.length) return this.end('failed', 'none of the run’s devices exist any more');
    const job = await this.ctx.actions.submitOnce(
      { action, deviceIds: devices.map((d) => d.id), options: { priority: SCHEDULE_PRIORITY } },
      this.key,
    );
    return this.fired(action, job, lateMs);
  }

  /** Records the phase as fired with its job (submitted now, or found submitted by a predecessor). */
  private async fired(
    action: 'start' | 'stop',
    job: JobRecord,
    lateMs: number,
  ): Promise<RunRecord | undefined> {
    const next = await this.record({
      state: 'done',
      jobId: job.id,
      lateMs,
      run: { state: action === 'start' ? 'live' : 'ended' },
    });
    if (!next) return undefined;
    this.log.info({ jobId: job.id, devices: job.counts.total, lateMs }, `scheduled ${action} fired`);
    this.publish('schedule.fired', { phase: action, jobId: job.id, devices: job.counts.total, lateMs });
    return next;
  }

  /** Ends the run without acting: skipped (start missed, schedule disabled) or failed (no devices). */
  private async end(state: 'skipped' | 'failed', reason: string): Promise<RunRecord | undefined> {
    const next = await this.record({ state, error: reason, run: { state, reason } });
    if (!next) return undefined;
    this.log.warn({ reason }, `scheduled run ${state}`);
    this.publish(state === 'skipped' ? 'schedule.run_skipped' : 'schedule.run_failed', {
      phase: this.phase,
      reason,
    });
    return next;
  }

  private async record(
    outcome: Omit<FiringOutcome, 'runId' | 'phase' | 'owner' | 'firedAt'>,
    deviceIds = this.run.deviceIds,
  ): Promise<RunRecord | undefined> {
    const firedAt = iso(this.ctx.clock.now());
    const held = await this.ctx.repo.finish({
      ...outcome,
      runId: this.run.id,
      phase: this.phase,
      owner: this.ctx.owner,
      firedAt,
    });
    if (!held) return undefined;
    return {
      ...this.run,
      state: outcome.run.state,
      ...(outcome.run.reason !== undefined ? { reason: outcome.run.reason } : {}),
      ...(outcome.run.prerollFailures ? { prerollFailures: outcome.run.prerollFailures } : {}),
      ...(deviceIds ? { deviceIds } : {}),
      updatedAt: firedAt,
    };
  }

  private publish(type: ScheduleEventType, data: Record<string, unknown>): void {
    publishRunEvent(this.ctx.events, type, this.schedule, this.run, data);
  }
}

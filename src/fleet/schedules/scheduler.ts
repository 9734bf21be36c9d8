/**
 * The scheduler: fires every schedule's phases on time, exactly once across restarts and replicas.
 *
 * Level-based, like the job engine: a pass reads the store and acts on what is due now.
 *  1. Every enabled schedule's occurrences whose pre-roll instant has come get a run (a unique row per
 *     schedule and occurrence). A run that comes due after its start was missed (the service was
 *     down) is recorded as skipped, or run late, per the missed-run policy.
 *  2. Every open run whose next phase is due is driven through its phases in order:
 *     pre-roll (apply config, check every device answers) → start → stop. Each phase is claimed in
 *     the store first; only the claim's winner fires it, and its job carries an idempotency key, so a
 *     firing taken over from a process that died mid-way finds the job instead of making a second.
 *  3. A timer on the injected clock wakes the next pass at the next due instant; a poll on real time
 *     notices schedules created by other replicas and claims whose owner died.
 * The scheduler keeps no record of its own of what fired: the store is the whole truth.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventSink } from '../events.js';
import type { Clock } from './clock.js';
import { type FiringContext, firePhase, publishRunEvent } from './firing.js';
import type { ScheduleActions } from './fleet-actions.js';
import { startDecision } from './missed-runs.js';
import type { Phase, RunRecord, RunState, ScheduleRecord } from './model.js';
import type { ScheduleRepo } from './repo.js';
import { iso, occurrencesAfter } from './timing.js';

export interface SchedulerOptions {
  readonly repo: ScheduleRepo;
  readonly actions: ScheduleActions;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This process's identity in firing claims. */
  readonly owner: string;
  /** A firing whose owner stops renewing its claim for this long is taken over. */
  readonly leaseMs?: number;
  /** Real-time interval for looking at the store for other replicas' changes. */
  readonly pollMs?: number;
}

/** How often a run that another process is firing is looked at again. */
const CLAIM_RECHECK_MS = 1000;
/** Runs recorded per schedule in one pass when catching up after a long outage. */
const MAX_RUNS_PER_PASS = 200;

const NEXT_PHASE: Partial<Record<RunState, Phase>> = { scheduled: 'preroll', ready: 'start', live: 'stop' };

type FireResult = { readonly run: RunRecord } | { readonly retryAt: number };

export class Scheduler {
  private readonly leaseMs: number;
  private readonly chains = new Map<string, Promise<void>>();
  /** Runs not to look at before this instant: another process is firing them, or a firing failed. */
  private readonly notBefore = new Map<string, number>();
  private ticking: Promise<void> | undefined;
  private wakeAgain = false;
  private stopped = true;
  private cancelTimer: (() => void) | undefined;
  private poll: NodeJS.Timeout | undefined;
  private abort = new AbortController();

  constructor(private readonly opts: SchedulerOptions) {
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.poll = setInterval(() => this.wake(), this.opts.pollMs ?? 10_000);
    this.poll.unref();
    this.wake();
  }

  /** Stops firing; a firing under way is abandoned with its claim, which a successor takes over. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    this.cancelTimer?.();
    this.abort.abort(new Error('service stopping'));
    await this.settle();
  }

  /** Looks at the store now (after a schedule changed, on a timer, on the poll). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.wakeAgain = true;
      return;
    }
    this.wakeAgain = false;
    this.ticking = this.pass()
      .catch((err: unknown) => {
        this.opts.logger.error({ err }, 'schedule pass failed');
        this.arm(this.opts.clock.now() + 5000);
      })
      .finally(() => {
        this.ticking = undefined;
        if (this.wakeAgain) this.wake();
      });
  }

  /** Resolves once no pass and no firing is under way (tests drive the clock, then settle). */
  async settle(): Promise<void> {
    for (;;) {
      const busy = [this.ticking, ...this.chains.values()].filter(Boolean);
      if (!busy.length) return;
      await Promise.allSettled(busy);
    }
  }

  private async pass(): Promise<void> {
    const now = this.opts.clock.now();
    const schedules = await this.opts.repo.list();
    let next = Number.POSITIVE_INFINITY;
    for (const schedule of schedules) {
      if (schedule.enabled) next = Math.min(next, await this.materialize(schedule, now));
    }
    const byId = new Map(schedules.map((s) => [s.id, s]));
    const open = await this.opts.repo.openRuns();
    const openIds = new Set(open.map((r) => r.id));
    for (const id of this.notBefore.keys()) if (!openIds.has(id)) this.notBefore.delete(id);
    for (const run of open) {
      const schedule = byId.get(run.scheduleId);
      if (!schedule || this.chains.has(run.id)) continue;
      const due = Math.max(phaseInstant(run), this.notBefore.get(run.id) ?? 0);
      if (due > now) next = Math.min(next, due);
      else this.drive(schedule, run);
    }
    this.arm(next);
  }

  /**
   * Gives each occurrence whose pre-roll has come a run, oldest first; returns the pre-roll instant
   * of the next occurrence (when this schedule next needs a pass).
   */
  private async materialize(schedule: ScheduleRecord, now: number): Promise<number> {
    let after = Date.parse(schedule.lastOccurrence);
    for (let recorded = 0; recorded < MAX_RUNS_PER_PASS; recorded++) {
      const [occurrence] = occurrencesAfter(schedule, after, { limit: 1 });
      if (!occurrence) return Number.POSITIVE_INFINITY;
      if (occurrence.prerollAt > now) return occurrence.prerollAt;
      const decision = startDecision(schedule.options, occurrence, now);
      const run = {
        id: randomUUID(),
        scheduleId: schedule.id,
        occurrence: iso(occurrence.start),
        endsAt: iso(occurrence.end),
        prerollAt: iso(occurrence.prerollAt),
        stopAt: iso(occurrence.stopAt),
        state: decision.run ? ('scheduled' as const) : ('skipped' as const),
        ...(decision.run ? {} : { reason: decision.reason }),
        createdAt: iso(now),
      };
      if ((await this.opts.repo.insertRun(run)) && !decision.run) {
        this.opts.logger.warn(
          { scheduleId: schedule.id, occurrence: run.occurrence, reason: decision.reason },
          'scheduled run skipped',
        );
        publishRunEvent(this.opts.events, 'schedule.run_skipped', schedule, run, {
          phase: 'preroll',
          reason: decision.reason,
        });
      }
      await this.opts.repo.advance(schedule.id, run.occurrence);
      after = occurrence.start;
    }
    return now; // more to catch up on: the next pass continues at once
  }

  /** Fires the run's due phases one after another (pre-roll before start before stop). */
  private drive(schedule: ScheduleRecord, first: RunRecord): void {
    const chain = (async () => {
      let run = first;
      for (;;) {
        const phase = NEXT_PHASE[run.state];
        if (!phase || this.stopped || phaseInstant(run) > this.opts.clock.now()) return;
        const result = await this.fire(schedule, run, phase);
        if ('retryAt' in result) {
          this.notBefore.set(run.id, result.retryAt);
          return;
        }
        this.notBefore.delete(run.id);
        run = result.run;
      }
    })()
      .catch((err: unknown) => {
        this.opts.logger.error({ err, runId: first.id }, 'scheduled run failed to fire');
        this.notBefore.set(first.id, this.opts.clock.now() + 5000);
      })
      .finally(() => {
        this.chains.delete(first.id);
        this.wake();
      });
    this.chains.set(first.id, chain);
  }

  private async fire(schedule: ScheduleRecord, run: RunRecord, phase: Phase): Promise<FireResult> {
    const now = this.opts.clock.now();
    const log = this.opts.logger.child({ scheduleId: schedule.id, runId: run.id, phase });
    const { won, firing } = await this.opts.repo.claim({
      runId: run.id,
      phase,
      owner: this.opts.owner,
      now: iso(now),
      leaseUntil: iso(now + this.leaseMs),
    });
    if (!won) {
      log.debug({ owner: firing.owner, state: firing.state }, 'firing claimed by another process');
      // Finished: the run has moved on; re-read it. Claimed: look again soon, so this process is
      // ready for the next phase (or takes over once the lease runs out, if its owner died).
      return {
        retryAt:
          firing.state === 'claimed' ? Math.min(Date.parse(firing.leaseUntil), now + CLAIM_RECHECK_MS) : now,
      };
    }
    const renewal = setInterval(
      () => {
        const until = iso(this.opts.clock.now() + this.leaseMs);
        this.opts.repo.renew(run.id, phase, this.opts.owner, until).then(
          (held) => held || log.warn('lost the claim on a firing to another process'),
          (err: unknown) => log.warn({ err }, 'could not renew a firing claim'),
        );
      },
      Math.max(1000, Math.floor(this.leaseMs / 3)),
    );
    try {
      const next = await firePhase(this.context(), schedule, run, phase);
      return next ? { run: next } : { retryAt: now + this.leaseMs };
    } catch (err) {
      if (this.abort.signal.aborted) return { retryAt: now + this.leaseMs };
      // The claim stays; when its lease runs out, this or another process fires it again with the
      // same job key.
      log.error({ err }, 'firing failed; it will be retried when its claim lapses');
      return { retryAt: now + this.leaseMs };
    } finally {
      clearInterval(renewal);
    }
  }

  private context(): FiringContext {
    const { repo, actions, events, clock, owner, logger } = this.opts;
    return { repo, actions, events, clock, owner, logger, signal: this.abort.signal };
  }

  /** One timer on the clock, for the earliest instant something is due. */
  private arm(at: number): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.stopped || !Number.isFinite(at)) return;
    this.cancelTimer = this.opts.clock.setTimer(() => this.wake(), Math.max(0, at - this.opts.clock.now()));
  }
}

function phaseInstant(run: RunRecord): number {
  switch (NEXT_PHASE[run.state]) {
    case 'preroll':
      return Date.parse(run.prerollAt);
    case 'start':
      return Date.parse(run.occurrence);
    case 'stop':
      return Date.parse(run.stopAt);
    default:
      return Number.POSITIVE_INFINITY;
  }
}

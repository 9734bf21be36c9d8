/**
 * What the scheduler needs from the store. Implemented once on SQL (src/store/schedules.ts) for
 * both backends; the scheduler never sees SQL.
 */
import type {
  FiringRecord,
  FiringState,
  Phase,
  PrerollFailures,
  RunRecord,
  RunState,
  ScheduleRecord,
  ScheduleSpec,
} from './model.js';

export interface NewRun {
  readonly id: string;
  readonly scheduleId: string;
  readonly occurrence: string;
  readonly endsAt: string;
  readonly prerollAt: string;
  readonly stopAt: string;
  /** `scheduled`, or `skipped` when the start was already missed when the run came due. */
  readonly state: 'scheduled' | 'skipped';
  readonly reason?: string;
  readonly createdAt: string;
}

export interface FiringClaim {
  readonly runId: string;
  readonly phase: Phase;
  readonly owner: string;
  /** Now, by the scheduler's clock (ISO). A claim whose lease ended before this can be taken over. */
  readonly now: string;
  readonly leaseUntil: string;
}

/** The firing's outcome, and what it does to its run; written together or not at all. */
export interface FiringOutcome {
  readonly runId: string;
  readonly phase: Phase;
  readonly owner: string;
  readonly state: Exclude<FiringState, 'claimed'>;
  readonly jobId?: string;
  readonly lateMs?: number;
  readonly firedAt: string;
  readonly error?: string;
  readonly run: {
    readonly state: RunState;
    readonly reason?: string;
    readonly prerollFailures?: PrerollFailures;
  };
}

export interface ScheduleRepo {
  /** @throws ConflictError when the name is taken */
  create(spec: ScheduleSpec, at: { id: string; now: string }): Promise<ScheduleRecord>;
  get(id: string): Promise<ScheduleRecord | undefined>;
  list(): Promise<ScheduleRecord[]>;
  /**
   * Replaces the schedule's definition. Occurrences before `now` that have no run yet are not
   * looked for any more (so re-enabling does not report the runs of the disabled time as missed).
   * @throws StoreNotFoundError, PreconditionFailedError (version), ConflictError (name)
   */
  update(id: string, spec: ScheduleSpec, now: string, expectedVersion?: number): Promise<ScheduleRecord>;
  delete(id: string): Promise<boolean>;
  /** Moves the schedule's watermark forward to `occurrence` (never back). */
  advance(scheduleId: string, occurrence: string): Promise<void>;

  /** Inserts the run unless one exists for the same schedule and occurrence; true when inserted. */
  insertRun(run: NewRun): Promise<boolean>;
  /** Runs not finished yet (scheduled, ready, live), of every schedule. */
  openRuns(): Promise<RunRecord[]>;
  /** The schedule's runs, newest occurrence first. */
  runs(scheduleId: string, limit: number, before?: string): Promise<RunRecord[]>;
  /** Runs of any schedule with an occurrence in [from, to). */
  runsBetween(from: string, to: string): Promise<RunRecord[]>;
  /** Records the devices the run acts on (resolved at pre-roll), unless already recorded; returns them. */
  fixDevices(runId: string, deviceIds: readonly string[]): Promise<readonly string[]>;

  /**
   * Claims a firing for `owner`: first come, or taking over a claim whose lease ran out (its owner
   * died mid-firing). Returns the firing as it now stands; the claim was won when its owner is `owner`
   * and it was claimed by this call.
   */
  claim(claim: FiringClaim): Promise<{ won: boolean; firing: FiringRecord }>;
  /** Extends the lease; false when the firing is no longer this owner's claim. */
  renew(runId: string, phase: Phase, owner: string, leaseUntil: string): Promise<boolean>;
  /** Records the outcome (only while `owner` still holds the claim); false when it does not. */
  finish(outcome: FiringOutcome): Promise<boolean>;
  firings(runIds: readonly string[]): Promise<FiringRecord[]>;
}

/**
 * Scheduled broadcasts: what a schedule says (TypeBox schemas for the API), and the records the
 * scheduler keeps: one run per occurrence that came due, one firing per run and phase.
 */
import { type Static, Type } from '@sinclair/typebox';
import { JobConfig } from '../jobs/model.js';

export const MissedRunPolicy = Type.Union([Type.Literal('skip'), Type.Literal('run-if-within')], {
  description:
    'A run whose start was missed (the service was not running) is `skip`ped, or run late if the start is at most `graceMinutes` ago (`run-if-within`).',
});
export type MissedRunPolicy = Static<typeof MissedRunPolicy>;

export const ScheduleOptions = Type.Object(
  {
    /** Config is applied and devices checked this long before the start. */
    preRollMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1440, default: 2 })),
    /** Streams keep running this long after the end before they are stopped. */
    postRollMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1440, default: 0 })),
    missedRunPolicy: Type.Optional(MissedRunPolicy),
    /** For `run-if-within`: how late a start may still be. */
    graceMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })),
    /** Accept devices that are also in another broadcast at the same time (no 409). */
    allowOverlap: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

/** Options with every default filled in, as stored. */
export interface ResolvedOptions {
  readonly preRollMinutes: number;
  readonly postRollMinutes: number;
  readonly missedRunPolicy: MissedRunPolicy;
  readonly graceMinutes?: number;
  readonly allowOverlap: boolean;
}

export const Recurrence = Type.Object(
  {
    cron: Type.String({
      minLength: 9,
      maxLength: 256,
      description: 'Five fields: minute hour day-of-month month day-of-week, e.g. `30 2 * * *`.',
    }),
    timezone: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'IANA time zone the cron fields are read in, e.g. `Europe/Berlin`.',
    }),
    durationMinutes: Type.Integer({ minimum: 1, maximum: 10_080 }),
  },
  { additionalProperties: false },
);
export type Recurrence = Static<typeof Recurrence>;

const Instant = Type.String({
  format: 'date-time',
  maxLength: 64,
  description: 'ISO 8601 with a zone, e.g. `2026-03-29T20:00:00+02:00`.',
});

const targetFields = {
  /** Label selector. Exactly one of selector / deviceIds. Resolved again at every pre-roll. */
  selector: Type.String({ minLength: 1, maxLength: 2048 }),
  deviceIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    minItems: 1,
    maxItems: 20_000,
    uniqueItems: true,
  }),
  /** Profile (id or name) applied at pre-roll. At most one of profile / config. */
  profile: Type.String({ minLength: 1, maxLength: 128 }),
  /** Config applied at pre-roll (completed per device by its overrides). */
  config: JobConfig,
};

export const ScheduleCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    selector: Type.Optional(targetFields.selector),
    deviceIds: Type.Optional(targetFields.deviceIds),
    profile: Type.Optional(targetFields.profile),
    config: Type.Optional(targetFields.config),
    /** One-shot broadcast: start and end. Or give `recurrence`. */
    start: Type.Optional(Instant),
    end: Type.Optional(Instant),
    recurrence: Type.Optional(Recurrence),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    options: Type.Optional(ScheduleOptions),
  },
  { additionalProperties: false },
);
export type ScheduleCreate = Static<typeof ScheduleCreate>;

/**
 * A partial change. Giving `selector` drops `deviceIds` and the reverse; `profile` drops `config`
 * and the reverse (null removes either); `recurrence` drops `start`/`end` and the reverse.
 * `options` are merged field by field.
 */
export const SchedulePatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    selector: Type.Optional(targetFields.selector),
    deviceIds: Type.Optional(targetFields.deviceIds),
    profile: Type.Optional(Type.Union([targetFields.profile, Type.Null()])),
    config: Type.Optional(Type.Union([targetFields.config, Type.Null()])),
    start: Type.Optional(Instant),
    end: Type.Optional(Instant),
    recurrence: Type.Optional(Recurrence),
    enabled: Type.Optional(Type.Boolean()),
    options: Type.Optional(ScheduleOptions),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SchedulePatch = Static<typeof SchedulePatch>;

/** A schedule as validated and stored (instants normalised to UTC, options complete). */
export interface ScheduleSpec {
  readonly name: string;
  readonly selector?: string;
  readonly deviceIds?: readonly string[];
  readonly profile?: string;
  readonly config?: JobConfig;
  readonly start?: string;
  readonly end?: string;
  readonly recurrence?: Recurrence;
  readonly enabled: boolean;
  readonly options: ResolvedOptions;
}

export interface ScheduleRecord extends ScheduleSpec {
  readonly id: string;
  /** Start of the latest occurrence that has a run (or the instant before which none count). */
  readonly lastOccurrence: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const PHASES = ['preroll', 'start', 'stop'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * scheduled → (pre-roll) → ready → (start) → live → (stop) → ended; or skipped (start missed, per
 * the missed-run policy) or failed (nothing to act on).
 */
export const RUN_STATES = ['scheduled', 'ready', 'live', 'ended', 'skipped', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];
export const OPEN_RUN_STATES: readonly RunState[] = ['scheduled', 'ready', 'live'];

export const PrerollFailure = Type.Object({
  deviceId: Type.String(),
  deviceName: Type.Optional(Type.String()),
  /** `apply`: the config could not be applied; `reach`: the device did not answer a status read. */
  step: Type.Union([Type.Literal('apply'), Type.Literal('reach')]),
  type: Type.String(),
  message: Type.String(),
});
export type PrerollFailure = Static<typeof PrerollFailure>;

export interface PrerollFailures {
  readonly count: number;
  /** The first ones (at most 100). */
  readonly devices: readonly PrerollFailure[];
}

export interface RunRecord {
  readonly id: string;
  readonly scheduleId: string;
  /** Scheduled start instant (ISO UTC). */
  readonly occurrence: string;
  readonly endsAt: string;
  readonly prerollAt: string;
  readonly stopAt: string;
  readonly state: RunState;
  readonly reason?: string;
  readonly deviceIds?: readonly string[];
  readonly prerollFailures?: PrerollFailures;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type FiringState = 'claimed' | 'done' | 'skipped' | 'failed';

export interface FiringRecord {
  readonly runId: string;
  readonly phase: Phase;
  readonly state: FiringState;
  /** The process that fired (or is firing) it. */
  readonly owner: string;
  readonly leaseUntil: string;
  readonly jobId?: string;
  /** How long after its planned instant the phase fired. */
  readonly lateMs?: number;
  readonly claimedAt: string;
  readonly firedAt?: string;
  readonly error?: string;
}

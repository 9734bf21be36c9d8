/**
 * Jobs: one action on many devices. The request, the job record and the per-device task record,
 * as TypeBox schemas (they type the engine and document the API).
 */
import { type Static, Type } from '@sinclair/typebox';
import { AudioSettings, VideoSettings } from '../../../drivers/contract.js';
import { Guidance } from '../../ingest/guidance.js';
import { ConfigTarget } from '../../ingest/nanostream-target.js';
import { TargetOverrides } from '../effective-config.js';
import { Attempt, TaskError } from '../task-error.js';

export const JobAction = Type.Union([
  Type.Literal('apply'),
  Type.Literal('start'),
  Type.Literal('stop'),
  Type.Literal('reboot'),
]);
export type JobAction = Static<typeof JobAction>;

/**
 * A further output for multi-bitrate, as configs give it: the fields that differ from the main
 * stream. Its target is merged over the main target (typically just its own `streamName` or
 * `streamKey`), its video and audio over the main ones.
 * @example { target: { streamName: 'ABCDE-LOW12' }, video: { bitrateKbps: 500, width: 640, height: 360 } }
 */
export const RenditionInput = Type.Object(
  {
    target: Type.Optional(TargetOverrides),
    video: Type.Partial(VideoSettings),
    audio: Type.Optional(Type.Partial(AudioSettings)),
  },
  { additionalProperties: false, title: 'RenditionInput' },
);
export type RenditionInput = Static<typeof RenditionInput>;

/**
 * A config given with a job or a profile: every part optional, completed per device by its
 * overrides (stream keys, stream names). The target may be the `nanostream` shorthand.
 */
export const JobConfig = Type.Object(
  {
    target: Type.Optional(ConfigTarget),
    video: Type.Optional(VideoSettings),
    audio: Type.Optional(AudioSettings),
    /** Multi-bitrate: further outputs, each its own stream (devices with several outputs only). */
    renditions: Type.Optional(Type.Array(RenditionInput, { maxItems: 15 })),
  },
  { additionalProperties: false },
);
export type JobConfig = Static<typeof JobConfig>;

/** A config given for one device as a whole (PUT /v1/devices/{id}/config): the target is required. */
export const DeviceConfigRequest = Type.Object(
  { ...JobConfig.properties, target: ConfigTarget },
  { additionalProperties: false, title: 'DeviceConfigRequest' },
);
export type DeviceConfigRequest = Static<typeof DeviceConfigRequest>;

export const JobOptions = Type.Object(
  {
    /** Report per device what would change and any problem; write nothing, record nothing. */
    dryRun: Type.Optional(Type.Boolean({ default: false })),
    /** Run this many devices first; if any fails, the rest are skipped. */
    canary: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    /** Abort the rest once more than this many devices failed: a count, or a percentage such as "10%". */
    maxFailures: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^(100|[0-9]{1,2})(\\.[0-9]+)?%$' })]),
    ),
    /** Retries after the first attempt, for transient failures only. */
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
    /** Higher runs first when the fleet-wide bound is reached. */
    priority: Type.Optional(Type.Integer({ minimum: -10, maximum: 10 })),
    /** For `apply`: setting warnings (nanoStream recommendations) refuse the job instead of being attached to it. */
    strict: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type JobOptions = Static<typeof JobOptions>;

export const JobRequest = Type.Object(
  {
    action: JobAction,
    /** Label selector, e.g. `vendor=teradek,site=berlin`. Exactly one of selector / deviceIds. */
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    deviceIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 20_000,
        uniqueItems: true,
      }),
    ),
    /** For `apply`: the config to converge to (completed per device by its overrides). */
    config: Type.Optional(JobConfig),
    /** For `apply`: a profile id or name to follow instead of `config`. */
    profile: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    options: Type.Optional(JobOptions),
  },
  { additionalProperties: false },
);
export type JobRequest = Static<typeof JobRequest>;

export const JobState = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('partially_failed'),
  Type.Literal('failed'),
  Type.Literal('canceled'),
  Type.Literal('aborted'),
]);
export type JobState = Static<typeof JobState>;
export const TERMINAL_JOB_STATES: readonly JobState[] = [
  'succeeded',
  'partially_failed',
  'failed',
  'canceled',
  'aborted',
];

export const TaskState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('unchanged'),
  Type.Literal('failed'),
  Type.Literal('skipped'),
  Type.Literal('canceled'),
]);
export type TaskState = Static<typeof TaskState>;
export const TASK_STATES = [
  'pending',
  'running',
  'succeeded',
  'unchanged',
  'failed',
  'skipped',
  'canceled',
] as const;
export const FINISHED_TASK_STATES: readonly TaskState[] = [
  'succeeded',
  'unchanged',
  'failed',
  'skipped',
  'canceled',
];

export const JobCounts = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  running: Type.Integer(),
  succeeded: Type.Integer(),
  unchanged: Type.Integer(),
  failed: Type.Integer(),
  skipped: Type.Integer(),
  canceled: Type.Integer(),
  /** Devices that needed more than one attempt. */
  retried: Type.Integer(),
});
export type JobCounts = Static<typeof JobCounts>;

export const JobOrigin = Type.Union([Type.Literal('api'), Type.Literal('schedule'), Type.Literal('heal')]);
export type JobOrigin = Static<typeof JobOrigin>;

export const ConfigChangeView = Type.Object({
  path: Type.String(),
  from: Type.Unknown(),
  to: Type.Unknown(),
});

/** One device's part of a job. */
export const TaskRecord = Type.Object(
  {
    deviceId: Type.String(),
    deviceName: Type.String(),
    vendor: Type.String(),
    seq: Type.Integer(),
    canary: Type.Boolean(),
    state: TaskState,
    attempts: Type.Array(Attempt),
    error: Type.Optional(TaskError),
    /**
     * What was (or, in a dry run, would be) written; secrets masked. On a failed device: what was
     * sent before it failed, which the device may hold in part.
     */
    changes: Type.Optional(Type.Array(ConfigChangeView)),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
  },
  { $id: 'JobTask', title: 'JobTask' },
);
export type TaskRecord = Static<typeof TaskRecord>;

export const JobRecord = Type.Object(
  {
    id: Type.String(),
    action: JobAction,
    state: JobState,
    origin: JobOrigin,
    selector: Type.Optional(Type.String()),
    profile: Type.Optional(Type.String()),
    options: JobOptions,
    counts: JobCounts,
    /** Why the job stopped early (canary failed, failure budget spent, canceled). */
    reason: Type.Optional(Type.String()),
    createdBy: Type.Optional(Type.String()),
    idempotencyKey: Type.Optional(Type.String()),
    createdAt: Type.String(),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
    cancelRequested: Type.Boolean(),
    /** For `apply` (and its dry run): setting warnings and the traffic estimate across the job's devices. */
    guidance: Type.Optional(Type.Ref(Guidance)),
  },
  { $id: 'Job', title: 'Job' },
);
export type JobRecord = Static<typeof JobRecord>;

export function emptyCounts(total: number): JobCounts {
  return {
    total,
    pending: total,
    running: 0,
    succeeded: 0,
    unchanged: 0,
    failed: 0,
    skipped: 0,
    canceled: 0,
    retried: 0,
  };
}

/** The terminal state a job ends in, from how its devices ended and why it stopped. */
export function finalState(counts: JobCounts, stop?: 'canceled' | 'aborted'): JobState {
  if (stop) return stop;
  const ok = counts.succeeded + counts.unchanged;
  if (counts.failed === 0) return 'succeeded';
  return ok > 0 ? 'partially_failed' : 'failed';
}

/** "10%" of 300 → 30; 5 → 5; undefined → no limit. */
export function failureBudget(maxFailures: JobOptions['maxFailures'], total: number): number {
  if (maxFailures === undefined) return Number.POSITIVE_INFINITY;
  if (typeof maxFailures === 'number') return maxFailures;
  return Math.floor((Number.parseFloat(maxFailures) / 100) * total);
}

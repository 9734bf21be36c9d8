/**
 * What the job engine needs from the store. Implemented once on SQL (src/store/jobs.ts) for both
 * backends; the engine never sees SQL.
 */

import type { Static } from '@sinclair/typebox';
import type { DeviceEndpoint, EncoderConfig } from '../../../drivers/contract.js';
import type { Guidance } from '../../ingest/guidance.js';
import type { Selector } from '../selector.js';
import type { Attempt, TaskError } from '../task-error.js';
import type {
  ConfigChangeView,
  JobConfig,
  JobCounts,
  JobOptions,
  JobRecord,
  JobState,
  TaskRecord,
  TaskState,
} from './model.js';

export interface NewJob {
  readonly id: string;
  readonly action: JobRecord['action'];
  readonly origin: JobRecord['origin'];
  readonly selector?: string;
  readonly profile?: string;
  readonly config?: JobConfig;
  readonly options: JobOptions;
  readonly createdBy?: string;
  readonly idempotencyKey?: string;
  /** Fingerprint of the request, to tell a retried request from a different one reusing the key. */
  readonly requestHash?: string;
  readonly createdAt: string;
  readonly counts: JobCounts;
  readonly guidance?: Guidance;
}

export interface NewTask {
  readonly deviceId: string;
  readonly deviceName: string;
  readonly vendor: string;
  readonly seq: number;
  readonly canary: boolean;
  /** `failed` when the task was refused before any device contact (invalid or unsupported config). */
  readonly state: 'pending' | 'failed';
  readonly error?: TaskError;
  /** For `apply`: the device's complete config, fixed when the job was created. */
  readonly config?: EncoderConfig;
}

/** What a job records as the devices' desired state when it is created (never for dry runs). */
export interface DesiredWrite {
  readonly deviceIds: readonly string[];
  /** For `apply`: follow this profile, or this inline base config (overrides stay per device). */
  readonly base?: { readonly profileId: string } | { readonly config: JobConfig };
  readonly state?: 'streaming' | 'stopped';
}

export interface TaskUpdate {
  readonly jobId: string;
  readonly deviceId: string;
  readonly state: TaskState;
  readonly attempts: readonly Attempt[];
  readonly error?: TaskError;
  readonly changes?: readonly Static<typeof ConfigChangeView>[];
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

export interface JobProgress {
  readonly jobId: string;
  readonly counts: JobCounts;
  readonly state?: JobState;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly reason?: string;
}

/** A task as the engine runs it: the record plus its config. */
export interface RunnableTask extends TaskRecord {
  readonly config?: EncoderConfig;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

export interface JobRepo {
  /**
   * Job, tasks and desired-state writes in one transaction. Returns the version each device has
   * after its desired-state write (empty without one), so caches can take the write as is.
   */
  create(
    job: NewJob,
    tasks: readonly NewTask[],
    desired?: DesiredWrite,
  ): Promise<ReadonlyMap<string, number>>;
  byIdempotencyKey(
    key: string,
    createdBy?: string,
  ): Promise<{ job: JobRecord; requestHash?: string } | undefined>;
  get(id: string): Promise<JobRecord | undefined>;
  /** With `scope`: only jobs whose every device matches it (see `inScope`). */
  list(filter: {
    state?: JobState;
    cursor?: string;
    limit: number;
    scope?: Selector;
  }): Promise<Page<JobRecord>>;
  /**
   * Whether a caller limited to `scope` may see this job: every device it worked on still exists
   * and matches the scope (a job that also touched other devices would show them).
   */
  inScope(jobId: string, scope: Selector): Promise<boolean>;
  tasks(
    jobId: string,
    filter: { state?: TaskState; cursor?: string; limit: number },
  ): Promise<Page<TaskRecord>>;
  /**
   * Claims one runnable job for `owner`: queued, or running under an expired lease (its owner died).
   * `resumed` when it had been claimed before: some of its devices may have been acted on already.
   */
  claim(owner: string, leaseMs: number): Promise<{ job: JobRecord; resumed: boolean } | undefined>;
  /** Extends the lease; false when another owner has it now. Returns whether cancel was requested too. */
  renew(jobId: string, owner: string, leaseMs: number): Promise<{ held: boolean; cancelRequested: boolean }>;
  /**
   * Tasks not finished yet (pending, or running when the previous owner stopped), in seq order:
   * up to `limit` of them after `afterSeq`, the canary ones or the others.
   */
  unfinishedTasks(
    jobId: string,
    page: { afterSeq: number; limit: number; canary: boolean },
  ): Promise<RunnableTask[]>;
  /** Recounts tasks by state (after a crash the job row may lag its tasks by one flush). */
  countTasks(jobId: string): Promise<JobCounts>;
  /** Task updates and job progress in one transaction. */
  save(tasks: readonly TaskUpdate[], progress: readonly JobProgress[]): Promise<void>;
  requestCancel(jobId: string): Promise<JobRecord | undefined>;
  release(jobId: string, owner: string): Promise<void>;
}

/** The devices a job acts on, as the engine needs them. */
export interface JobDevice {
  readonly id: string;
  readonly name: string;
  readonly vendor: string;
  /** Per-device parts of the config (stream key, stream id) that complete a job's or profile's config. */
  readonly overrides?: unknown;
}

export interface JobDevices {
  /** The devices a job names. Throws a 400-class error for a bad selector or unknown ids. */
  resolve(target: {
    selector?: string;
    deviceIds?: readonly string[];
    scope?: Selector;
  }): Promise<JobDevice[]>;
  /** A profile by id or name. Throws a 404-class error when missing. */
  profile(idOrName: string): Promise<{ id: string; name: string; config: JobConfig }>;
  /** Connection details (with credentials) for the given devices; missing ids are absent. */
  endpoints(ids: readonly string[]): Promise<Map<string, DeviceEndpoint>>;
}

/**
 * What the scheduler does to the fleet, on top of the job engine and the device lanes: resolve a
 * schedule's devices, submit a job exactly once per firing, wait for it, and check that devices
 * answer. The scheduler sees only this interface.
 */
import type { DeviceEndpoint } from '../../../drivers/contract.js';
import { ApiError } from '../../api/errors.js';
import type { Store } from '../../store/index.js';
import type { DeviceLanes } from '../device-lanes.js';
import { selectorOf } from '../inventory.js';
import type { JobEngine } from '../jobs/engine.js';
import { type JobRecord, type JobRequest, type TaskState, TERMINAL_JOB_STATES } from '../jobs/model.js';
import type { StatusTracker } from '../status-tracker.js';
import { toTaskError } from '../task-error.js';
import type { PrerollFailure } from './model.js';

export interface ScheduleDevice {
  readonly id: string;
  readonly name: string;
}

export interface JobKey {
  readonly createdBy: string;
  readonly idempotencyKey: string;
}

export interface ScheduleActions {
  /** The devices a selector or id list names now; ids that no longer exist come back as `missing`. */
  resolve(target: {
    selector?: string;
    deviceIds?: readonly string[];
  }): Promise<{ devices: ScheduleDevice[]; missing: string[] }>;
  /** Submits the job, or returns the one already submitted under the same key (a taken-over firing). */
  submitOnce(request: JobRequest, key: JobKey): Promise<JobRecord>;
  /** The job already submitted under `key`, if any: a firing whose process died before recording it. */
  submitted(key: JobKey): Promise<JobRecord | undefined>;
  /** The job once it has ended, or as it stands after `timeoutMs` or when `signal` aborts. */
  awaitJob(jobId: string, timeoutMs: number, signal: AbortSignal): Promise<JobRecord>;
  /** Devices whose task in the job failed or had not finished, at most `limit` of them. */
  jobFailures(jobId: string, limit: number): Promise<PrerollFailure[]>;
  /** Reads every device's status once; the devices that did not answer (or answered with an error). */
  probe(devices: readonly ScheduleDevice[], signal: AbortSignal): Promise<PrerollFailure[]>;
}

/** Scheduled work outranks polls and API jobs of default priority when the fleet bound is reached. */
export const SCHEDULE_PRIORITY = 10;

export class FleetActions implements ScheduleActions {
  constructor(
    private readonly deps: {
      readonly engine: JobEngine;
      readonly store: Store;
      readonly lanes: DeviceLanes;
      readonly tracker: StatusTracker;
      readonly endpoints: (ids: readonly string[]) => Promise<Map<string, DeviceEndpoint>>;
    },
  ) {}

  async resolve(target: { selector?: string; deviceIds?: readonly string[] }) {
    const { devices } = this.deps.store;
    if (target.deviceIds) {
      const found = await devices.getMany(target.deviceIds);
      const known = new Set(found.map((d) => d.id));
      const order = new Map(target.deviceIds.map((id, i) => [id, i]));
      return {
        devices: found
          .sort((a, b) => order.get(a.id)! - order.get(b.id)!)
          .map((d) => ({ id: d.id, name: d.name })),
        missing: target.deviceIds.filter((id) => !known.has(id)),
      };
    }
    const selector = selectorOf(target.selector ?? '', 'selector');
    return {
      devices: (await devices.resolve({ selector })).map((d) => ({ id: d.id, name: d.name })),
      missing: [],
    };
  }

  async submitOnce(request: JobRequest, key: JobKey): Promise<JobRecord> {
    const earlier = await this.submitted(key);
    if (earlier) return earlier;
    try {
      return await this.deps.engine.submit(request, { origin: 'schedule', ...key });
    } catch (err) {
      // Another process got there between the look-up and the insert.
      const raced = await this.submitted(key);
      if (raced) return raced;
      throw err;
    }
  }

  async submitted(key: JobKey): Promise<JobRecord | undefined> {
    return (await this.deps.store.jobs.byIdempotencyKey(key.idempotencyKey, key.createdBy))?.job;
  }

  async awaitJob(jobId: string, timeoutMs: number, signal: AbortSignal): Promise<JobRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // waitFor returns at once when this process runs the job; a job run by another replica is
      // seen by reading it again every second.
      const job = await this.deps.engine.waitFor(jobId, Math.max(0, Math.min(1000, deadline - Date.now())));
      if (!job) throw new ApiError(404, 'not_found', `job ${jobId} disappeared`);
      if (TERMINAL_JOB_STATES.includes(job.state) || Date.now() >= deadline || signal.aborted) return job;
    }
  }

  async jobFailures(jobId: string, limit: number): Promise<PrerollFailure[]> {
    const out: PrerollFailure[] = [];
    for (const state of ['failed', 'pending', 'running'] as TaskState[]) {
      if (out.length >= limit) break;
      const page = await this.deps.store.jobs.tasks(jobId, { state, limit: limit - out.length });
      for (const t of page.items) {
        out.push({
          deviceId: t.deviceId,
          deviceName: t.deviceName,
          step: 'apply',
          type: t.error?.type ?? 'timeout',
          message: t.error?.message ?? 'the config was still being applied when the broadcast started',
        });
      }
    }
    return out;
  }

  async probe(devices: readonly ScheduleDevice[], signal: AbortSignal): Promise<PrerollFailure[]> {
    const endpoints = await this.deps.endpoints(devices.map((d) => d.id));
    const failures: PrerollFailure[] = [];
    await Promise.all(
      devices.map(async (device) => {
        const endpoint = endpoints.get(device.id);
        if (!endpoint) {
          failures.push({
            deviceId: device.id,
            deviceName: device.name,
            step: 'reach',
            type: 'validation',
            message: 'device was deleted',
          });
          return;
        }
        const outcome = await this.deps.lanes
          .run(endpoint, (driver) => driver.getStatus({ signal }), { signal, priority: SCHEDULE_PRIORITY })
          .then(
            (status) => ({ status }),
            (error: unknown) => ({ error }),
          );
        if (signal.aborted) return;
        this.deps.tracker.observe(device.id, outcome);
        if ('error' in outcome) {
          const error = toTaskError(outcome.error);
          failures.push({
            deviceId: device.id,
            deviceName: device.name,
            step: 'reach',
            type: error.type,
            message: error.message,
          });
        }
      }),
    );
    return failures;
  }
}

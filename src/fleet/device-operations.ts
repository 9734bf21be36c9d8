/**
 * Single-device operations for the convenience routes: each is a one-device job (so it is recorded,
 * retried, serialised with polls and visible like any other job) that the caller waits for.
 */
import type { DeviceEndpoint } from '../../drivers/contract.js';
import { NotFoundError } from '../api/errors.js';
import { assertShorthands } from '../ingest/expand.js';
import type { Store } from '../store/index.js';
import type { DeviceLanes } from './device-lanes.js';
import type { JobEngine } from './jobs/engine.js';
import type { JobAction, JobConfig, JobRecord, TaskRecord } from './jobs/model.js';
import { TERMINAL_JOB_STATES } from './jobs/model.js';
import type { ObservedState } from './observed.js';
import type { StatusTracker } from './status-tracker.js';

export interface OperationOutcome {
  readonly job: JobRecord;
  /** The device's result, once the job has ended. */
  readonly result?: TaskRecord;
  /** True when the wait ran out before the job ended. */
  readonly pending: boolean;
}

export class DeviceOperations {
  constructor(
    private readonly deps: {
      readonly engine: JobEngine;
      readonly store: Store;
      readonly lanes: DeviceLanes;
      readonly tracker: StatusTracker;
      readonly endpoints: (ids: readonly string[]) => Promise<Map<string, DeviceEndpoint>>;
    },
  ) {}

  /** Start, stop or reboot one device and wait up to `waitMs` for the outcome. */
  async act(
    deviceId: string,
    action: Exclude<JobAction, 'apply'>,
    waitMs: number,
    createdBy?: string,
  ): Promise<OperationOutcome> {
    const job = await this.deps.engine.submit(
      { action, deviceIds: [deviceId] },
      { ...(createdBy ? { createdBy } : {}) },
    );
    return this.outcome(job.id, waitMs);
  }

  /**
   * Makes `config` the device's exact desired config (no profile, no overrides) and applies it.
   * PUT semantics: what is sent is what the device should have.
   */
  async setConfig(
    deviceId: string,
    config: JobConfig,
    waitMs: number,
    createdBy?: string,
  ): Promise<OperationOutcome> {
    assertShorthands(config, 'body');
    const device = await this.deps.store.devices.get(deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    if (device.overrides || device.profileId)
      await this.deps.store.devices.update(deviceId, { overrides: null, profileId: null });
    const job = await this.deps.engine.submit(
      { action: 'apply', deviceIds: [deviceId], config },
      { ...(createdBy ? { createdBy } : {}) },
    );
    return this.outcome(job.id, waitMs);
  }

  /** Reads the device's config now (through its lane). */
  async readConfig(deviceId: string) {
    const endpoint = await this.endpoint(deviceId);
    return this.deps.lanes.run(endpoint, (driver) => driver.getConfig());
  }

  /** Polls the device now instead of returning the last polled state. */
  async freshStatus(deviceId: string): Promise<ObservedState> {
    const endpoint = await this.endpoint(deviceId);
    const outcome = await this.deps.lanes
      .run(endpoint, (driver) => driver.getStatus())
      .then(
        (status) => ({ status }),
        (error: unknown) => ({ error }),
      );
    return this.deps.tracker.observe(deviceId, outcome);
  }

  private async endpoint(deviceId: string): Promise<DeviceEndpoint> {
    const endpoint = (await this.deps.endpoints([deviceId])).get(deviceId);
    if (!endpoint) throw new NotFoundError('device', deviceId);
    return endpoint;
  }

  private async outcome(jobId: string, waitMs: number): Promise<OperationOutcome> {
    const job = (await this.deps.engine.waitFor(jobId, waitMs))!;
    if (!TERMINAL_JOB_STATES.includes(job.state)) return { job, pending: true };
    const [result] = (await this.deps.store.jobs.tasks(jobId, { limit: 1 })).items;
    return { job, ...(result ? { result } : {}), pending: false };
  }
}

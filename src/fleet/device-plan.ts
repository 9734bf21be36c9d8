/**
 * What one job step does to one device, per action. Each plan reads first and acts only on a
 * difference, so running it twice (a retry, a resumed job after a crash) never does the work twice:
 *  - apply:  read → diff → write only what differs → read back → verify
 *  - start:  read status → start unless already streaming → confirm it is starting or streaming
 *            (a scheduled start's first try goes straight to the start: see `readFirst`)
 *  - stop:   read status → stop unless already idle → confirm
 *  - reboot: log in → reboot (a reboot is never "already done"; logging in first lets a `teradek`
 *    unit find its control plane, which decides whether it can be rebooted)
 */
import {
  type ConfigChange,
  checkCapabilities,
  type DeviceRef,
  type EncoderConfig,
  type EncoderDriver,
  UnsupportedConfigError,
} from '../../drivers/contract.js';
import { diffConfig } from '../../drivers/converge.js';
import { TaskFailure } from './task-error.js';

export type JobAction = 'apply' | 'start' | 'stop' | 'reboot';

export interface PlanResult {
  /** `unchanged`: the device was already as asked; nothing was sent but reads. */
  readonly outcome: 'succeeded' | 'unchanged';
  readonly changes?: readonly ConfigChange[];
}

export interface PlanInput {
  readonly device: DeviceRef;
  readonly action: JobAction;
  /** The device's desired config; required for `apply`. */
  readonly config?: EncoderConfig;
  readonly dryRun: boolean;
  readonly signal?: AbortSignal;
  /**
   * Told just before the plan sends anything that changes the device (a config write, a start or
   * stop), with the config changes about to be written. A retry that then finds nothing left to do
   * still did the work, in the attempt that failed after sending.
   */
  readonly onSend?: (changes: readonly ConfigChange[]) => void;
  /**
   * start / stop: read the status first and send nothing when the device is already there (default).
   * `false` saves that round trip when the caller knows the device cannot have been sent this action
   * yet (every driver's start and stop leave a device already there as it is); the outcome is then
   * `succeeded` even for a device that was already streaming.
   */
  readonly readFirst?: boolean;
}

export async function runPlan(driver: EncoderDriver, input: PlanInput): Promise<PlanResult> {
  const opts = { signal: input.signal };
  switch (input.action) {
    case 'apply': {
      const config = input.config;
      if (!config) throw new TaskFailure('validation', 'no desired config for this device', false);
      if (input.dryRun) {
        const problems = checkCapabilities(driver.capabilities, config);
        if (problems.length) throw new UnsupportedConfigError(input.device, problems);
        const changes = diffConfig(config, await driver.getConfig(opts));
        return { outcome: changes.length ? 'succeeded' : 'unchanged', changes };
      }
      const result = await driver.applyConfig(config, { ...opts, onWrite: input.onSend });
      if (result.deviations.length) {
        throw new TaskFailure(
          'verification',
          `device reads back differently after the write: ${result.deviations.map((d) => d.path).join(', ')}`,
          // A unit that rebooted or dropped a write part-way usually takes it on a second try.
          true,
          { deviations: result.deviations },
        );
      }
      return { outcome: result.changes.length ? 'succeeded' : 'unchanged', changes: result.changes };
    }
    case 'start':
    case 'stop': {
      const starting = input.action === 'start';
      const done = starting ? ['starting', 'streaming'] : ['idle', 'stopping'];
      if (input.readFirst !== false) {
        const before = await driver.getStatus(opts);
        if (done.includes(before.state)) return { outcome: 'unchanged' };
      }
      if (input.dryRun) return { outcome: 'succeeded' };
      input.onSend?.([]);
      await (starting ? driver.start(opts) : driver.stop(opts));
      const after = await driver.getStatus(opts);
      if (!done.includes(after.state)) {
        throw new TaskFailure(
          'verification',
          `device is ${after.state} after ${input.action}${after.lastError ? `: ${after.lastError}` : ''}`,
          true,
        );
      }
      return { outcome: 'succeeded' };
    }
    case 'reboot':
      await driver.login(opts);
      if (!driver.capabilities.reboot) {
        throw new UnsupportedConfigError(input.device, [
          { field: 'reboot', reason: 'this device cannot be rebooted over its API' },
        ]);
      }
      if (!input.dryRun) await driver.reboot(opts);
      return { outcome: 'succeeded' };
  }
}

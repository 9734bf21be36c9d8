/**
 * JobEngine.wake(): a wake-up that arrives while a claim pass is running (a job submitted at that
 * moment) must cause another pass right after, not wait for the poll timer.
 */

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DesiredConfigs } from '../../src/fleet/desired-config.js';
import { DeviceLanes } from '../../src/fleet/device-lanes.js';
import { NO_EVENTS } from '../../src/fleet/events.js';
import { JobEngine } from '../../src/fleet/jobs/engine.js';
import type { JobDevices, JobRepo } from '../../src/fleet/jobs/repo.js';

describe('JobEngine.wake()', () => {
  it('runs one more claim pass when woken during a pass', async () => {
    let release!: () => void;
    const firstPassBlocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let claims = 0;
    let secondClaim!: () => void;
    const secondClaimSeen = new Promise<void>((resolve) => {
      secondClaim = resolve;
    });
    const repo = {
      async claim() {
        claims++;
        if (claims === 1) await firstPassBlocked; // the pass has looked and found nothing yet
        if (claims === 2) secondClaim();
        return undefined;
      },
    } as unknown as JobRepo;
    const engine = new JobEngine({
      repo,
      devices: {} as JobDevices,
      configs: {} as DesiredConfigs,
      lanes: new DeviceLanes({ concurrency: 1, createDriver: () => ({}) as never }),
      events: NO_EVENTS,
      logger: pino({ level: 'silent' }),
      owner: 'test',
      pollMs: 3_600_000, // the timer must not be what finds the job
    });
    engine.start(); // pass 1 begins and blocks inside claim()
    await Promise.resolve();
    expect(claims).toBe(1);
    engine.wake(); // a job was submitted while pass 1 is still looking
    release();
    await Promise.race([
      secondClaimSeen,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no second claim pass')), 2000)),
    ]);
    expect(claims).toBe(2);
    await engine.stop();
  });
});

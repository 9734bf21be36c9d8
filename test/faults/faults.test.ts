/**
 * Issue 12, fault injection: simulated fleets of every vendor with latency spikes, 30% timeouts,
 * connection resets, devices rebooting mid-config, expired sessions, malformed replies and a device
 * that acknowledges a write and ignores it. For each, an apply job's result is accurate per device
 * (checked against the simulators' own state), the service answers /healthz in time throughout
 * (p99 < 100 ms), and nothing is left as an unhandled rejection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncoderConfig, VendorId } from '../../drivers/contract.js';
import type { FaultKnobs, SimDevice } from '../../drivers/sim/device.js';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';
import { assertSimHas } from '../helpers/sim-state.js';

const CONFIG: EncoderConfig = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'fault-suite-key-01' },
  video: { codec: 'h264', bitrateKbps: 2200, width: 1280, height: 720 },
};
const PER_VENDOR = 6;
const VENDORS: VendorId[] = ['osprey-talon', 'videon', 'teradek-vidiu', 'teradek-prism'];

interface Task {
  deviceId: string;
  state: string;
  attempts: { error?: { type: string } }[];
  error?: { type: string; message: string };
  changes?: unknown[];
}

interface FaultCase {
  readonly name: string;
  readonly faults: Partial<FaultKnobs> | ((vendor: VendorId) => Partial<FaultKnobs>);
  /** Error types a device may end with under this fault (anything else is a wrong diagnosis). */
  readonly errors: readonly string[];
  /** Every device must end configured (the fault is one retries get through). */
  readonly allSucceed?: boolean;
  readonly rebootMs?: number;
  /** Run an apply first and let the sessions it opened expire before the job under test. */
  readonly earlierJob?: boolean;
  /** Extra checks on the finished job. */
  readonly check?: (tasks: Task[], sims: typeof simsOf) => void;
}

const CASES: FaultCase[] = [
  {
    name: 'latency spikes',
    // Every reply slow at random, some close to the time limit (400 ms), none beyond it.
    faults: { latencyMs: 5, jitterMs: 350 },
    errors: [],
    allSucceed: true,
  },
  {
    name: '30% timeouts',
    faults: { timeoutRate: 0.3 },
    errors: ['timeout', 'unreachable'],
    check: (tasks) => {
      expect(tasks.some((t) => t.attempts.some((a) => a.error?.type === 'timeout'))).toBe(true);
    },
  },
  {
    name: 'connection resets',
    faults: { resetRate: 0.2 },
    errors: ['unreachable', 'timeout'],
    check: (tasks) => {
      expect(tasks.some((t) => t.attempts.some((a) => a.error?.type === 'unreachable'))).toBe(true);
    },
  },
  {
    name: 'reboot mid-config',
    faults: { rebootOnNextWrite: true },
    rebootMs: 300,
    errors: ['unreachable', 'timeout'],
    allSucceed: true,
    check: (tasks, sims) => {
      for (const { sim, task } of sims(tasks)) {
        // Videon has no reboot; every other unit went down once, half written, and was finished.
        if (sim.vendor === 'videon') continue;
        expect(sim.count('reboot'), sim.id).toBe(1);
        expect(task.attempts.length, sim.id).toBeGreaterThan(1);
      }
    },
  },
  {
    name: 'expired sessions',
    // The service holds a session per device from an earlier job; by the next job every session
    // (a Prism's MQTT connection) has expired on the device. Slow replies stretch the job enough
    // to probe /healthz a few hundred times.
    faults: { sessionTtlMs: 1000, latencyMs: 40 },
    earlierJob: true,
    errors: [],
    allSucceed: true,
    check: (tasks, sims) => {
      // Each HTTP device told the service its session was gone, and the driver logged in again.
      for (const { sim } of sims(tasks))
        if (sim.vendor === 'osprey-talon' || sim.vendor === 'teradek-vidiu')
          expect(sim.count('login'), sim.id).toBe(2);
    },
  },
  {
    name: 'malformed replies',
    faults: { malformedRate: 0.15 },
    errors: ['protocol', 'unreachable', 'timeout', 'verification'],
    check: (tasks) => {
      expect(tasks.some((t) => t.attempts.some((a) => a.error?.type === 'protocol'))).toBe(true);
    },
  },
  {
    name: 'write silently ignored',
    faults: { ignoreWrites: true },
    errors: ['verification'],
    check: (tasks, sims) => {
      for (const { sim, task } of sims(tasks)) {
        expect(task.state, sim.id).toBe('failed');
        expect(task.error?.message).toMatch(/reads back differently/);
        // The result says what was sent, so a device that may hold some of it is visible.
        expect(task.changes?.length, sim.id).toBeGreaterThan(0);
        expect(sim.count('config'), sim.id).toBe(0);
      }
    },
  },
];

let simsByService: Map<string, SimDevice>;
function simsOf(tasks: Task[]) {
  return tasks.map((task) => ({ task, sim: simsByService.get(task.deviceId)! }));
}

describe('fault injection', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it.each(CASES)(
    '$name: per-device results match the devices, /healthz stays fast',
    async (c) => {
      // A service of its own per fault, so one case's devices and jobs never meet another's.
      const svc = await startService({ env: { POLL_INTERVAL_MS: '3600000', DEVICE_TIMEOUT_MS: '400' } });
      const f = await addFleet(
        svc,
        Object.fromEntries(VENDORS.map((v) => [v, PER_VENDOR])),
        c.rebootMs ? { rebootMs: c.rebootMs } : {},
      );
      try {
        await runCase(svc, f, c);
      } finally {
        await svc.close();
        await f.fleet.close();
      }
      expect(unhandled).toEqual([]);
    },
    90_000,
  );
});

async function runCase(svc: TestService, f: FleetSetup, c: FaultCase): Promise<void> {
  simsByService = f.simOf;
  for (const sim of f.simOf.values())
    sim.setFaults(typeof c.faults === 'function' ? c.faults(sim.vendor) : c.faults);

  if (c.earlierJob) {
    const earlier = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      deviceIds: f.ids,
      config: { ...CONFIG, video: { codec: 'h264', bitrateKbps: 1800 } },
    });
    expect((await finishedJob(svc, earlier.body.id)).job.state).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 2 * (f.simOf.values().next().value!.faults.sessionTtlMs || 0)));
  }
  const probe = probeHealth(svc);
  const res = await svc.request('POST', '/v1/jobs', {
    action: 'apply',
    deviceIds: f.ids,
    config: CONFIG,
    options: { retries: 4 },
  });
  expect(res.status).toBe(202);
  const { job, tasks } = (await finishedJob(svc, res.body.id, 60_000)) as { job: any; tasks: Task[] };
  const latencies = await probe.stop();

  expect(tasks).toHaveLength(f.ids.length);
  expect(job.counts.succeeded + job.counts.failed).toBe(f.ids.length);
  if (c.allSucceed) expect(job.counts).toMatchObject({ succeeded: f.ids.length, failed: 0 });

  for (const { task, sim } of simsOf(tasks)) {
    if (task.state === 'succeeded') {
      // Said configured: the device holds exactly the config.
      assertSimHas(sim, CONFIG);
      continue;
    }
    expect(task.state, `${sim.id}: ${task.state}`).toBe('failed');
    expect(c.errors, `${sim.id}: ${JSON.stringify(task.error)}`).toContain(task.error?.type);
    expect(task.attempts.at(-1)?.error?.type).toBe(task.error?.type);
    // A device that took a write before failing is never silently half configured.
    if (sim.count('config') > 0) expect(task.changes?.length, sim.id).toBeGreaterThan(0);
  }
  c.check?.(tasks, simsOf);

  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1]!;
  expect(latencies.length).toBeGreaterThan(100);
  expect(p99, `/healthz p99 ${p99.toFixed(1)} ms over ${latencies.length} probes`).toBeLessThan(100);
}

/**
 * Three clients asking GET /healthz back to back (5 ms apart) until stopped, so even a short job
 * gives a few hundred answers to take a p99 from. Resolves with each answer's latency.
 */
function probeHealth(svc: TestService): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const client = async () => {
    while (running) {
      const t = performance.now();
      const res = await fetch(`${svc.url}/healthz`);
      await res.text();
      if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const clients = Promise.all([client(), client(), client()]);
  return {
    async stop() {
      running = false;
      await clients;
      return latencies;
    },
  };
}

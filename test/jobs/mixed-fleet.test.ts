/**
 * Issue 6 acceptance: 300 simulated devices of every vendor, mixed targets (RTMP, SRT caller on
 * port 5000 with per-device stream ids, WHIP where the driver supports it), about 5% of device
 * requests failing transiently (HTTP 500, no answer, connection reset). An apply job and then a start
 * job leave every device that can do its target configured and streaming — checked in the
 * simulators' own state — with the retried devices' attempt history in the results, and every
 * combination a device cannot do refused per device without a write reaching it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncoderConfig } from '../../drivers/contract.js';
import type { SimDevice } from '../../drivers/sim/device.js';
import { addFleet, type FleetSetup, finishedJob } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';
import { assertSimHas, simStreaming } from '../helpers/sim-state.js';

const PER_VENDOR = 75;
/** Per request: 2% HTTP 500 + 1.5% never answered + 1.5% connection reset = 5%. */
const HTTP_FAULTS = { errorRate: 0.02, timeoutRate: 0.015, resetRate: 0.015 };
/**
 * The Prism speaks MQTT, which has no HTTP 500: its simulator answers `errorRate` with an error reply
 * to the command, which the driver rightly takes as the device's refusal (permanent). Its transient
 * faults are silence and resets: 2.5% each of CONNECTs and commands.
 */
const MQTT_FAULTS = { timeoutRate: 0.025, resetRate: 0.025 };

interface Plan {
  readonly protocol: 'rtmp' | 'srt' | 'whip';
  /** What the device should end up holding as stream key / stream id / bearer token. */
  readonly key: string;
  /** The device cannot do this protocol: the job must refuse it without contacting the device. */
  readonly unsupported: boolean;
}

const SUPPORTED: Record<string, readonly Plan['protocol'][]> = {
  'osprey-talon': ['rtmp', 'srt', 'whip'],
  videon: ['rtmp', 'srt'],
  'teradek-prism': ['rtmp', 'srt'],
  'teradek-vidiu': ['rtmp'],
};

/** Every supported protocol in turn; every 15th device asks for one its vendor lacks. */
function planFor(sim: SimDevice, n: number): Plan {
  const supported = SUPPORTED[sim.vendor]!;
  if (n % 15 === 7 && sim.vendor !== 'osprey-talon') {
    const protocol = sim.vendor === 'teradek-vidiu' ? 'srt' : 'whip';
    return { protocol, key: '', unsupported: true };
  }
  const protocol = supported[n % supported.length]!;
  const key = { rtmp: `key-${sim.id}`, srt: `push:${sim.id}`, whip: `tok-${sim.id}` }[protocol];
  return { protocol, key, unsupported: false };
}

function overridesFor(sim: SimDevice, plan: Plan) {
  switch (plan.protocol) {
    case 'rtmp':
      return { target: { streamKey: plan.key || 'unused' } };
    case 'srt':
      // Port (5000), caller mode and latency come from the SRT defaults.
      return { target: { protocol: 'srt', host: '127.0.0.1', streamId: plan.key || `push:${sim.id}` } };
    case 'whip':
      return {
        target: {
          protocol: 'whip',
          url: `http://127.0.0.1:8443/whip/${sim.id}`,
          bearerToken: plan.key || 'unused',
        },
      };
  }
}

const BASE_CONFIG = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'shared' },
  video: { codec: 'h264', bitrateKbps: 2500, width: 1280, height: 720 },
  audio: { codec: 'aac', bitrateKbps: 128, channels: 2 },
} as const;

/** The complete config the device must end up with: the base with its target as planned. */
function expectedConfig(sim: SimDevice, plan: Plan): EncoderConfig {
  const target = {
    rtmp: { protocol: 'rtmp', url: BASE_CONFIG.target.url, streamKey: plan.key },
    srt: {
      protocol: 'srt',
      host: '127.0.0.1',
      port: 5000,
      mode: 'caller',
      streamId: plan.key,
      latencyMs: 500,
    },
    whip: { protocol: 'whip', url: `http://127.0.0.1:8443/whip/${sim.id}`, bearerToken: plan.key },
  }[plan.protocol] as EncoderConfig['target'];
  return { target, video: { ...BASE_CONFIG.video }, audio: { ...BASE_CONFIG.audio } };
}

interface Task {
  deviceId: string;
  state: string;
  attempts: { error?: { type: string; retryable: boolean } }[];
  error?: { type: string; message: string };
}

describe('a 300-device mixed fleet under 5% transient faults', () => {
  let svc: TestService;
  let f: FleetSetup;
  const plans = new Map<SimDevice, Plan>();
  let configured: string[] = [];

  beforeAll(async () => {
    svc = await startService({ env: { POLL_INTERVAL_MS: '3600000', DEVICE_TIMEOUT_MS: '1000' } });
    const seen = new Map<string, number>();
    f = await addFleet(
      svc,
      {
        'osprey-talon': PER_VENDOR,
        videon: PER_VENDOR,
        'teradek-vidiu': PER_VENDOR,
        'teradek-prism': PER_VENDOR,
      },
      {
        overrides: (_i, sim) => {
          const n = seen.get(sim.vendor) ?? 0;
          seen.set(sim.vendor, n + 1);
          const plan = planFor(sim, n);
          plans.set(sim, plan);
          return overridesFor(sim, plan);
        },
      },
    );
    for (const sim of plans.keys()) sim.setFaults(sim.vendor === 'teradek-prism' ? MQTT_FAULTS : HTTP_FAULTS);
  });
  afterAll(async () => {
    await svc?.close();
    await f?.fleet.close();
  });

  it('apply: every device that can do its target is configured; the rest are refused untouched', async () => {
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'apply',
      selector: 'fleet=test',
      config: BASE_CONFIG,
      options: { retries: 10 },
    });
    expect(res.status).toBe(202);
    const { job, tasks } = (await finishedJob(svc, res.body.id, 50_000)) as { job: any; tasks: Task[] };

    const unsupported = [...plans.values()].filter((p) => p.unsupported).length;
    expect(unsupported).toBeGreaterThanOrEqual(12);
    expect(job.counts).toMatchObject({
      total: 4 * PER_VENDOR,
      failed: unsupported,
      succeeded: 4 * PER_VENDOR - unsupported,
    });
    expect(job.state).toBe('partially_failed');

    for (const task of tasks) {
      const sim = f.simOf.get(task.deviceId)!;
      const plan = plans.get(sim)!;
      if (plan.unsupported) {
        expect(task.state, sim.id).toBe('failed');
        expect(task.error?.type).toBe('unsupported');
        expect(task.error?.message).toContain(plan.protocol);
        expect(task.attempts, sim.id).toHaveLength(0);
        expect(sim.count('config'), `${sim.id} saw a write`).toBe(0);
        continue;
      }
      expect(task.state, `${sim.id}: ${JSON.stringify(task.error)}`).toBe('succeeded');
      assertSimHas(sim, expectedConfig(sim, plan));
      expect(simStreaming(sim), sim.id).toBe(false);
    }

    // The faults hit: some devices needed more than one attempt, and their history says why.
    const retried = tasks.filter((t) => t.attempts.length > 1);
    expect(retried.length).toBeGreaterThan(5);
    expect(job.counts.retried).toBe(retried.length);
    for (const t of retried) {
      const earlier = t.attempts.slice(0, -1);
      expect(earlier.every((a) => a.error?.retryable === true)).toBe(true);
      expect(t.attempts.at(-1)!.error).toBeUndefined();
    }
    const kinds = new Set(retried.flatMap((t) => t.attempts.map((a) => a.error?.type).filter(Boolean)));
    expect(kinds.size).toBeGreaterThanOrEqual(2); // HTTP 500s, timeouts and resets are told apart

    configured = tasks.filter((t) => t.state === 'succeeded').map((t) => t.deviceId);
  }, 55_000);

  it('start: every configured device streams, each started exactly once', async () => {
    expect(configured.length).toBeGreaterThan(250);
    const res = await svc.request('POST', '/v1/jobs', {
      action: 'start',
      deviceIds: configured,
      options: { retries: 10 },
    });
    const { job, tasks } = (await finishedJob(svc, res.body.id, 50_000)) as { job: any; tasks: Task[] };
    expect(job.state).toBe('succeeded');
    expect(job.counts).toMatchObject({ total: configured.length, succeeded: configured.length });
    expect(tasks.filter((t) => t.attempts.length > 1).length).toBe(job.counts.retried);

    for (const id of configured) {
      const sim = f.simOf.get(id)!;
      expect(simStreaming(sim), sim.id).toBe(true);
      assertSimHas(sim, expectedConfig(sim, plans.get(sim)!));
      // Retries re-read the status first, so a start that got through is never sent again.
      expect(sim.count('start'), sim.id).toBe(1);
    }
    for (const [sim, plan] of plans) {
      if (plan.unsupported) expect(sim.count('start') + sim.count('config'), sim.id).toBe(0);
    }
  }, 55_000);
});

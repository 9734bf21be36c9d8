/**
 * Issue 12, crash and restart at random points: each run applies a new config to 200 devices of
 * every vendor and then starts them, and kills the service during each job at a random device
 * (SIGKILL, or now and then SIGTERM), restarting it on the same DATA_DIR. After every run each
 * device holds the new config, took no write twice and was started exactly once.
 *
 * CI runs 2 rounds; the soak is `CRASH_SOAK_RUNS=20 npx vitest run test/faults/crash-soak.test.ts`
 * (about 5 minutes). The seed is printed; `CRASH_SOAK_SEED=<seed>` repeats a run exactly as far as
 * the kill points go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncoderConfig, VendorId } from '../../drivers/contract.js';
import type { EffectKind, SimDevice } from '../../drivers/sim/device.js';
import { CrashHarness } from '../helpers/crash.js';
import { assertSimHas, simStreaming } from '../helpers/sim-state.js';

const RUNS = Number(process.env.CRASH_SOAK_RUNS ?? 2);
const SEED = Number(process.env.CRASH_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const VENDORS: VendorId[] = ['osprey-talon', 'videon', 'teradek-vidiu', 'teradek-prism'];
const PER_VENDOR = 50;
const DEVICES = PER_VENDOR * VENDORS.length;

/** mulberry32: small, seedable, good enough to pick kill points. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe(`crash and restart at random points (${RUNS} runs, seed ${SEED})`, () => {
  let h: CrashHarness;
  const random = prng(SEED);

  beforeAll(async () => {
    console.log(`crash soak: ${RUNS} runs, seed ${SEED} (repeat with CRASH_SOAK_SEED=${SEED})`);
    h = await CrashHarness.start(Object.fromEntries(VENDORS.map((v) => [v, PER_VENDOR])), {
      addressBlock: 70,
      concurrency: 16,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const killPoint = (kind: EffectKind) => ({
    kind,
    at: 1 + Math.floor(random() * (DEVICES - 1)),
    signal: (random() < 0.75 ? 'SIGKILL' : 'SIGTERM') as NodeJS.Signals,
  });
  const counts = (kind: EffectKind) =>
    new Map(h.fleet.devices.map(({ device }) => [device, device.count(kind)]));
  const sims = () => h.fleet.devices.map(({ device }) => device);

  it.each(Array.from({ length: RUNS }, (_, i) => i + 1))(
    'run %i: every device ends configured and streaming, no write or start repeated',
    async (run) => {
      const where = `seed ${SEED} run ${run}`;
      const config: EncoderConfig = {
        target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: `soak-key-${run}-0000` },
        video: { codec: 'h264', bitrateKbps: 1000 + run * 10 },
      };

      const configsBefore = counts('config');
      const applyKill = killPoint('config');
      const applied = await h.crashDuring({ action: 'apply', selector: 'sim=true', config }, applyKill);
      expect(
        applied.job.state,
        `${where}: apply killed (${applyKill.signal}) at device ${applyKill.at}`,
      ).toBe('succeeded');
      const writes = new Map<SimDevice, string[]>();
      for (const sim of sims()) {
        assertSimHas(sim, config);
        const own = sim.effects
          .filter((e) => e.kind === 'config')
          .slice(configsBefore.get(sim)!)
          .map((e) => JSON.stringify(e.detail));
        writes.set(sim, own);
      }
      const repeated = [...writes].filter(([, w]) => w.length === 0 || new Set(w).size !== w.length);
      expect(
        repeated.map(([sim, w]) => `${sim.id}: ${w.length} writes`),
        `${where}: apply killed (${applyKill.signal}) at device ${applyKill.at}`,
      ).toEqual([]);

      const startsBefore = counts('start');
      const startKill = killPoint('start');
      const started = await h.crashDuring({ action: 'start', selector: 'sim=true' }, startKill);
      expect(started.job.state, `${where}: start killed (${startKill.signal}) at ${startKill.at}`).toBe(
        'succeeded',
      );
      const wrong = sims().filter(
        (sim) => sim.count('start') !== startsBefore.get(sim)! + 1 || !simStreaming(sim),
      );
      expect(
        wrong.map((sim) => `${sim.id}: ${sim.count('start') - startsBefore.get(sim)!} starts`),
        `${where}: start killed (${startKill.signal}) at device ${startKill.at}`,
      ).toEqual([]);

      // Stopped again, so the next run's start has something to do.
      expect((await h.run({ action: 'stop', selector: 'sim=true' })).state).toBe('succeeded');
    },
    120_000,
  );
});

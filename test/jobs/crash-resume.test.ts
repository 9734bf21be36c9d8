/**
 * Issue 6 acceptance, durability: the service runs as a real process on an embedded (SQLite) store;
 * it is killed with SIGKILL in the middle of a 1,000-device apply job and again in the middle of a
 * start job, and started again on the same DATA_DIR. Each job completes, and every simulated device
 * received exactly the config writes one uninterrupted apply makes (measured per vendor on a fresh
 * simulator) and exactly one start: devices in flight at the kill are run again, and because every
 * plan reads first and writes only what differs, the re-run writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncoderConfig, VendorId } from '../../drivers/contract.js';
import { getDriverModule } from '../../drivers/index.js';
import type { Effect, EffectKind, SimDevice } from '../../drivers/sim/device.js';
import { type SimFleet, startSimFleet } from '../../drivers/sim/fleet.js';
import { SimServer } from '../../drivers/sim/server.js';
import { SIMULATORS } from '../../drivers/sim/vendors.js';
import { type ServiceProcess, spawnService } from '../helpers/service-process.js';
import { assertSimHas, simStreaming } from '../helpers/sim-state.js';

const VENDORS: VendorId[] = ['osprey-talon', 'videon', 'teradek-vidiu', 'teradek-prism'];
const PER_VENDOR = 250;
const CONFIG: EncoderConfig = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'crash-test-key-0001' },
  video: { codec: 'h264', bitrateKbps: 1800, width: 1280, height: 720 },
  audio: { codec: 'aac', bitrateKbps: 128, channels: 2 },
};
/** Devices that have acted before the service is killed. */
const KILL_AFTER = 150;
const TERMINAL = ['succeeded', 'partially_failed', 'failed', 'canceled', 'aborted'];

/** Config writes one uninterrupted apply of CONFIG makes on a fresh device of `vendor`. */
async function writesPerApply(vendor: VendorId): Promise<number> {
  const server = new SimServer();
  const sim = SIMULATORS[vendor]!({ id: `reference-${vendor}` });
  const { host, port } = await server.listen(sim);
  const driver = getDriverModule(vendor).create({
    endpoint: { id: sim.id, vendor, host, port },
    timeoutMs: 2000,
  });
  try {
    const first = await driver.applyConfig(CONFIG);
    expect(first.changes.length).toBeGreaterThan(0);
    const writes = sim.count('config');
    // The property the crash test rests on: a second run finds nothing to write.
    const second = await driver.applyConfig(CONFIG);
    expect(second.changes).toEqual([]);
    expect(sim.count('config')).toBe(writes);
    return writes;
  } finally {
    await driver.close();
    await server.close();
  }
}

describe('kill -9 during a 1,000-device job, restart on the same DATA_DIR', () => {
  let fleet: SimFleet;
  let dataDir: string;
  let env: Record<string, string>;
  let svc: ServiceProcess | undefined;
  const expectedWrites = new Map<VendorId, number>();

  beforeAll(async () => {
    for (const vendor of VENDORS) expectedWrites.set(vendor, await writesPerApply(vendor));
    fleet = await startSimFleet({
      counts: Object.fromEntries(VENDORS.map((v) => [v, PER_VENDOR])),
      addressBlock: 60,
      // Slow enough devices that the job is still running when it is killed.
      faults: { latencyMs: 20 },
      startDelayMs: 50,
    });
    dataDir = await mkdtemp(join(tmpdir(), 'ef-crash-'));
    env = {
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString('base64'),
      CONCURRENCY: '64',
      POLL_INTERVAL_MS: '3600000',
      DEVICE_TIMEOUT_MS: '3000',
      // The restarted process takes over the dead one's job once its lease runs out.
      JOB_LEASE_MS: '3000',
    };
    svc = await spawnService(env);
    const imported = await svc.request('POST', '/v1/devices/import', fleet.inventoryCsv());
    expect(imported.status, JSON.stringify(imported.body)).toBeLessThan(300);
  });
  afterAll(async () => {
    await svc?.kill('SIGKILL');
    await fleet?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /**
   * Kills the service (SIGKILL) from inside a simulated Talon's request handler, at its `kind` effect
   * once `after` devices have had one: the Talon has acted, the service never hears that it did.
   */
  function killDuring(
    kind: EffectKind,
    after: number,
    signal: NodeJS.Signals,
    before: Map<SimDevice, number>,
  ): Promise<SimDevice> {
    let acted = 0;
    return new Promise((resolve) => {
      const onEffect = (device: SimDevice, effect: Effect) => {
        if (effect.kind !== kind) return;
        if (device.count(kind) === before.get(device)! + 1) acted++;
        if (acted < after || device.vendor !== 'osprey-talon') return;
        svc!.child.kill(signal);
        for (const d of fleet.devices) d.device.onEffect = undefined;
        resolve(device);
      };
      for (const { device } of fleet.devices) device.onEffect = onEffect;
    });
  }

  /** Submits the job, kills the service part-way, restarts it and waits for the job to end. */
  async function crashDuring(request: object, kind: EffectKind, signal: NodeJS.Signals = 'SIGKILL') {
    // Effects counted from here: earlier tests have acted on these devices already.
    const before = new Map(fleet.devices.map(({ device }) => [device, device.count(kind)]));
    const victim = killDuring(kind, KILL_AFTER, signal, before);
    const submitted = await svc!.request('POST', '/v1/jobs', request);
    expect(submitted.status).toBe(202);
    const jobId = submitted.body.id as string;
    const interrupted = await victim;
    await svc!.kill(signal);
    const actedAtKill = fleet.devices.filter(({ device }) => device.count(kind) > before.get(device)!).length;

    svc = await spawnService(env);
    const deadline = Date.now() + 60_000;
    let job: any;
    for (;;) {
      job = (await svc.request('GET', `/v1/jobs/${jobId}?results=none`)).body.job;
      if (TERMINAL.includes(job.state)) break;
      if (Date.now() > deadline) throw new Error(`job still ${job.state}: ${svc.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const tasks: { state: string; deviceName: string }[] = [];
    let cursor = '';
    do {
      const page = (await svc.request('GET', `/v1/jobs/${jobId}/tasks?limit=1000${cursor}`)).body;
      tasks.push(...page.items);
      cursor = page.nextCursor ? `&cursor=${page.nextCursor}` : '';
    } while (cursor);
    const interruptedTask = tasks.find((t) => t.deviceName === interrupted.id)!;
    return { job, tasks, interrupted, interruptedTask, actedAtKill };
  }

  it('apply: resumes; every device configured with no write repeated; the re-run device writes nothing', async () => {
    const { job, tasks, interrupted, interruptedTask, actedAtKill } = await crashDuring(
      { action: 'apply', selector: 'sim=true', config: CONFIG },
      'config',
    );
    // Killed mid-job: some devices had been written, most not yet.
    expect(actedAtKill).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(actedAtKill).toBeLessThan(1000);

    expect(job.state).toBe('succeeded');
    expect(job.counts).toMatchObject({ total: 1000, failed: 0, skipped: 0, canceled: 0 });
    expect(job.counts.succeeded + job.counts.unchanged).toBe(1000);
    expect(tasks).toHaveLength(1000);
    // The device whose write landed as the service died was run again and found nothing to write.
    expect(interruptedTask.state).toBe('unchanged');
    expect(interrupted.count('config')).toBe(expectedWrites.get('osprey-talon'));

    const wrong: string[] = [];
    for (const { device } of fleet.devices) {
      const writes = device.effects.filter((e) => e.kind === 'config').map((e) => JSON.stringify(e.detail));
      const most = expectedWrites.get(device.vendor)!;
      if (new Set(writes).size !== writes.length) wrong.push(`${device.id}: a write repeated: ${writes}`);
      // Fewer is right where the kill fell between two writes of one plan and the second turned out
      // to be already in place (a Prism's mode select after its RTMP settings): the re-run writes only
      // what still differs. The exact final config below shows none was lost.
      if (writes.length > most || writes.length === 0)
        wrong.push(`${device.id}: ${writes.length} config writes; one apply makes ${most}`);
      assertSimHas(device, CONFIG);
    }
    expect(wrong).toEqual([]);
  }, 90_000);

  it('graceful restart (SIGTERM) mid-apply: devices not reached yet are run after the restart', async () => {
    const next: EncoderConfig = { ...CONFIG, video: { ...CONFIG.video!, bitrateKbps: 2400 } };
    const before = new Map(fleet.devices.map(({ device }) => [device, device.count('config')]));
    const { job, tasks } = await crashDuring(
      { action: 'apply', selector: 'sim=true', config: next },
      'config',
      'SIGTERM',
    );
    // A shutdown pauses the job: the devices it had not reached stay pending, none is "skipped".
    expect(job.state).toBe('succeeded');
    expect(job.counts).toMatchObject({ total: 1000, failed: 0, skipped: 0, canceled: 0 });
    expect(tasks.filter((t) => t.state === 'succeeded')).toHaveLength(1000);
    const wrong = fleet.devices.filter(({ device }) => {
      assertSimHas(device, next);
      return device.count('config') === before.get(device);
    });
    expect(wrong.map(({ device }) => device.id)).toEqual([]);
  }, 90_000);

  it('start: resumes; every device streams; none started twice', async () => {
    const { job, interrupted, interruptedTask, actedAtKill } = await crashDuring(
      { action: 'start', selector: 'sim=true' },
      'start',
    );
    expect(actedAtKill).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(actedAtKill).toBeLessThan(1000);

    expect(job.state).toBe('succeeded');
    expect(job.counts.succeeded + job.counts.unchanged).toBe(1000);
    expect(interruptedTask.state).toBe('unchanged');
    expect(interrupted.count('start')).toBe(1);
    const wrong = fleet.devices
      .filter(({ device }) => device.count('start') !== 1 || !simStreaming(device))
      .map(
        ({ device }) => `${device.id}: ${device.count('start')} starts, streaming ${simStreaming(device)}`,
      );
    expect(wrong).toEqual([]);
  }, 90_000);
});

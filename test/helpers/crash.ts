/**
 * Crash harness: the service as a real process on an embedded store in its own DATA_DIR, a
 * simulated fleet in this process, and a way to kill the service from inside a device's request
 * handler at a chosen point of a job (the device has acted; the service never hears that it did),
 * start it again on the same DATA_DIR and wait for the job to end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VendorId } from '../../drivers/contract.js';
import type { Effect, EffectKind, SimDevice } from '../../drivers/sim/device.js';
import { type SimFleet, startSimFleet } from '../../drivers/sim/fleet.js';
import { TERMINAL_JOB_STATES } from '../../src/fleet/jobs/model.js';
import { type ServiceProcess, spawnService } from './service-process.js';

export interface CrashOutcome {
  readonly job: any;
  readonly tasks: { state: string; deviceName: string; attempts: unknown[] }[];
  /** The device whose request was being handled when the service was killed, and its result. */
  readonly interrupted: SimDevice;
  readonly interruptedTask: CrashOutcome['tasks'][number];
  /** Devices that had acted (had a `kind` effect) during this job when it was killed. */
  readonly actedAtKill: number;
}

export class CrashHarness {
  private svc: ServiceProcess | undefined;

  private constructor(
    readonly fleet: SimFleet,
    private readonly env: Record<string, string>,
    private readonly dataDir: string,
  ) {}

  static async start(
    counts: Partial<Record<VendorId, number>>,
    opts: { addressBlock: number; concurrency?: number },
  ): Promise<CrashHarness> {
    const fleet = await startSimFleet({
      counts,
      addressBlock: opts.addressBlock,
      // Slow enough devices that a job is still running when it is killed.
      faults: { latencyMs: 20 },
      startDelayMs: 50,
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'ef-crash-'));
    const harness = new CrashHarness(
      fleet,
      {
        DATA_DIR: dataDir,
        SECRET_KEY: randomBytes(32).toString('base64'),
        CONCURRENCY: String(opts.concurrency ?? 64),
        POLL_INTERVAL_MS: '3600000',
        DEVICE_TIMEOUT_MS: '3000',
        // The restarted process takes over the dead one's job once its lease runs out.
        JOB_LEASE_MS: '3000',
      },
      dataDir,
    );
    harness.svc = await spawnService(harness.env);
    const imported = await harness.service.request('POST', '/v1/devices/import', fleet.inventoryCsv());
    if (imported.status >= 300) throw new Error(`import failed: ${JSON.stringify(imported.body)}`);
    return harness;
  }

  get service(): ServiceProcess {
    if (!this.svc) throw new Error('service not running');
    return this.svc;
  }

  /** Runs a job to its end without interruption. */
  async run(request: object): Promise<any> {
    const submitted = await this.service.request('POST', '/v1/jobs', request);
    if (submitted.status !== 202) throw new Error(`job refused: ${JSON.stringify(submitted.body)}`);
    return this.waitForJob(submitted.body.id);
  }

  /**
   * Submits the job and kills the service with `signal` when the `at`-th device of `vendor` (any
   * vendor when omitted) acts (`kind` effect, counted from now), restarts it on the same DATA_DIR and
   * waits for the job to end.
   */
  async crashDuring(
    request: object,
    kill: { kind: EffectKind; at: number; signal: NodeJS.Signals; vendor?: VendorId },
  ): Promise<CrashOutcome> {
    const before = new Map(this.fleet.devices.map(({ device }) => [device, device.count(kill.kind)]));
    const victim = this.killOn(kill, before);
    const submitted = await this.service.request('POST', '/v1/jobs', request);
    if (submitted.status !== 202) throw new Error(`job refused: ${JSON.stringify(submitted.body)}`);
    const jobId = submitted.body.id as string;
    const interrupted = await victim;
    await this.service.kill(kill.signal);
    const actedAtKill = this.fleet.devices.filter(
      ({ device }) => device.count(kill.kind) > before.get(device)!,
    ).length;
    this.svc = await spawnService(this.env);
    const job = await this.waitForJob(jobId);
    const tasks: CrashOutcome['tasks'] = [];
    let cursor = '';
    do {
      const page = (await this.service.request('GET', `/v1/jobs/${jobId}/tasks?limit=1000${cursor}`)).body;
      tasks.push(...page.items);
      cursor = page.nextCursor ? `&cursor=${page.nextCursor}` : '';
    } while (cursor);
    const interruptedTask = tasks.find((t) => t.deviceName === interrupted.id)!;
    return { job, tasks, interrupted, interruptedTask, actedAtKill };
  }

  async close(): Promise<void> {
    await this.svc?.kill('SIGKILL');
    await this.fleet.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private killOn(
    kill: { kind: EffectKind; at: number; signal: NodeJS.Signals; vendor?: VendorId },
    before: Map<SimDevice, number>,
  ): Promise<SimDevice> {
    let acted = 0;
    return new Promise((resolve) => {
      const onEffect = (device: SimDevice, effect: Effect) => {
        if (effect.kind !== kill.kind || device.count(kill.kind) !== before.get(device)! + 1) return;
        if (kill.vendor && device.vendor !== kill.vendor) return;
        if (++acted < kill.at) return;
        this.service.child.kill(kill.signal);
        for (const d of this.fleet.devices) d.device.onEffect = undefined;
        resolve(device);
      };
      for (const { device } of this.fleet.devices) device.onEffect = onEffect;
    });
  }

  private async waitForJob(jobId: string): Promise<any> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { job } = (await this.service.request('GET', `/v1/jobs/${jobId}?results=none`)).body;
      if (TERMINAL_JOB_STATES.includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job still ${job.state}: ${this.service.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Crash harness: the service as a real process on an embedded store in its own DATA_DIR, a
 * simulated fleet in this process, and a way to kill the service from inside a device's request
 * handler at chosen points of a job or a schedule's firing (the device has acted; the service never
 * hears that it did), start it again on the same DATA_DIR and wait for the job or run to end.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VendorId } from '../../drivers/contract.js';
import type { Effect, EffectKind, SimDevice } from '../../drivers/sim/device.js';
import { type SimFleet, startSimFleet } from '../../drivers/sim/fleet.js';
import { TERMINAL_JOB_STATES } from '../../src/fleet/jobs/model.js';
import { type ServiceProcess, spawnService } from './service-process.js';

/** Where to kill the service: when the `at`-th device (of `vendor`, or any) acts with `kind`. */
export interface KillPoint {
  readonly kind: EffectKind;
  /** Counted from when the point is armed (the job's or schedule's submission, or the restart before). */
  readonly at: number;
  readonly signal: NodeJS.Signals;
  readonly vendor?: VendorId;
}

export interface Kill {
  /** The device whose request was being handled when the service was killed. */
  readonly interrupted: SimDevice;
  /** Devices that had acted (had a `kind` effect) since the point was armed, once the process had exited. */
  readonly actedAtKill: number;
}

export interface CrashOutcome extends Kill {
  readonly job: any;
  readonly tasks: { state: string; deviceName: string; attempts: unknown[] }[];
  /** The interrupted device's result. */
  readonly interruptedTask: CrashOutcome['tasks'][number];
}

export class CrashHarness {
  private svc: ServiceProcess | undefined;
  /** The current service process from the moment it is spawned: a kill can come before it answers. */
  private child: ChildProcess | undefined;

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
    harness.svc = await harness.spawn();
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
   * Submits the job and kills the service at `kill` (counted from now), restarts it on the same
   * DATA_DIR and waits for the job to end.
   */
  async crashDuring(request: object, kill: KillPoint): Promise<CrashOutcome> {
    let jobId = '';
    const [killed] = await this.crashAt([kill], async () => {
      const submitted = await this.service.request('POST', '/v1/jobs', request);
      if (submitted.status !== 202) throw new Error(`job refused: ${JSON.stringify(submitted.body)}`);
      jobId = submitted.body.id as string;
    });
    const { interrupted, actedAtKill } = killed!;
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

  /**
   * Runs `begin` (which sets the service to work), then for each point in turn: kills the service
   * there, waits for the process to exit and starts it again on the same DATA_DIR. The first point
   * counts from `begin`, each later one from the restart before it. Resolves once the last restart
   * answers.
   */
  async crashAt(points: readonly KillPoint[], begin: () => Promise<void>): Promise<Kill[]> {
    const kills: Kill[] = [];
    let armed = this.killOn(points[0]!);
    try {
      await begin();
      for (const [i, point] of points.entries()) {
        const interrupted = await armed.victim;
        await this.service.kill(point.signal);
        // A SIGTERM is a clean shutdown, which exits 0; 1 is main.ts forcing it after 15 s.
        const code = this.child?.exitCode;
        if (point.signal === 'SIGTERM' && code)
          throw new Error(
            `SIGTERM at device ${point.at}'s ${point.kind}: the service exited ${code}, not cleanly\n${this.service.output()}`,
          );
        kills.push({ interrupted, actedAtKill: armed.acted() });
        // Armed before the new process exists: nothing acts on the devices in between.
        if (i + 1 < points.length) armed = this.killOn(points[i + 1]!);
        this.svc = await this.spawn();
      }
    } finally {
      armed.disarm();
    }
    return kills;
  }

  /**
   * Waits until the schedule's (only) run has started its devices (the start job ended) or ended
   * without starting them (skipped, failed); returns the run as GET /v1/schedules/:id/runs shows it.
   */
  async waitForStart(scheduleId: string): Promise<any> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { status, body } = await this.service.request('GET', `/v1/schedules/${scheduleId}/runs`);
      if (status !== 200) throw new Error(`runs of ${scheduleId}: ${status} ${JSON.stringify(body)}`);
      const [run] = body.items;
      const startJob = run?.phases.start?.job;
      if (run && ['skipped', 'failed'].includes(run.state)) return run;
      if (startJob && TERMINAL_JOB_STATES.includes(startJob.state)) return run;
      if (Date.now() > deadline)
        throw new Error(`run not started: ${JSON.stringify(run)}\n${this.service.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await this.svc?.kill('SIGKILL');
    await this.fleet.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private spawn(): Promise<ServiceProcess> {
    return spawnService(this.env, {
      onChild: (child) => {
        this.child = child;
      },
    });
  }

  /**
   * Kills the current process from inside the request handler of the device that is the point's
   * `at`-th to act. `victim` fails when no device gets there within a minute (the job or firing
   * stalled, or did less than the point expects).
   */
  private killOn(kill: KillPoint): { victim: Promise<SimDevice>; acted: () => number; disarm: () => void } {
    const before = new Map(this.fleet.devices.map(({ device }) => [device, device.count(kill.kind)]));
    let acted = 0;
    let timer: NodeJS.Timeout | undefined;
    const disarm = () => {
      clearTimeout(timer);
      for (const { device } of this.fleet.devices) device.onEffect = undefined;
    };
    const victim = new Promise<SimDevice>((resolve, reject) => {
      const onEffect = (device: SimDevice, effect: Effect) => {
        if (effect.kind !== kill.kind || device.count(kill.kind) !== before.get(device)! + 1) return;
        if (kill.vendor && device.vendor !== kill.vendor) return;
        if (++acted < kill.at) return;
        this.child?.kill(kill.signal);
        disarm();
        resolve(device);
      };
      for (const { device } of this.fleet.devices) device.onEffect = onEffect;
      timer = setTimeout(() => {
        disarm();
        reject(
          new Error(
            `no kill: ${acted} of ${kill.at} devices acted (${kill.kind}) within 60 s\n${this.svc?.output()}`,
          ),
        );
      }, 60_000);
    });
    // Not awaited before `begin` has run: a rejection then must not count as unhandled.
    victim.catch(() => {});
    return {
      victim,
      acted: () =>
        this.fleet.devices.filter(({ device }) => device.count(kill.kind) > before.get(device)!).length,
      disarm,
    };
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

/**
 * A simulated fleet in this process plus the service, with every device imported: the common
 * setup of job, poll and schedule tests.
 */
import type { VendorId } from '../../drivers/contract.js';
import type { FaultKnobs, SimDevice } from '../../drivers/sim/device.js';
import { type SimFleet, startSimFleet } from '../../drivers/sim/fleet.js';
import type { TestService } from './service.js';

export interface FleetSetup {
  readonly fleet: SimFleet;
  /** Service device id → simulator, and back. */
  readonly simOf: Map<string, SimDevice>;
  readonly idOf: Map<SimDevice, string>;
  readonly ids: string[];
}

let block = 20;

export async function addFleet(
  svc: TestService,
  counts: Partial<Record<VendorId, number>>,
  opts: {
    faults?: Partial<FaultKnobs>;
    startDelayMs?: number;
    rebootMs?: number;
    labels?: (i: number) => Record<string, string>;
    /** The vendor id given to the service, when not the simulator's own (e.g. plain `teradek`). */
    addAs?: string;
    /** Per-device config overrides (stream keys, stream ids, another protocol). */
    overrides?: (i: number, sim: SimDevice) => unknown;
  } = {},
): Promise<FleetSetup> {
  // Each fleet in a test process gets its own address block so fleets never collide.
  const fleet = await startSimFleet({
    counts,
    addressBlock: block++,
    startDelayMs: opts.startDelayMs ?? 30,
    rebootMs: opts.rebootMs ?? 300,
    ...(opts.faults ? { faults: opts.faults } : {}),
  });
  const simOf = new Map<string, SimDevice>();
  const idOf = new Map<SimDevice, string>();
  const ids: string[] = [];
  let i = 0;
  for (const { device, address } of fleet.devices) {
    const overrides = opts.overrides?.(i, device);
    const res = await svc.request('POST', '/v1/devices', {
      name: device.id,
      vendor: opts.addAs ?? device.vendor,
      host: address.host,
      port: address.port,
      // Videon units ship without authentication: no password to give.
      ...(device.password ? { credentials: { username: device.username, password: device.password } } : {}),
      labels: { fleet: 'test', ...opts.labels?.(i++) },
      ...(overrides ? { overrides } : {}),
    });
    if (res.status !== 201) throw new Error(`could not add ${device.id}: ${JSON.stringify(res.body)}`);
    simOf.set(res.body.id, device);
    idOf.set(device, res.body.id);
    ids.push(res.body.id);
  }
  return { fleet, simOf, idOf, ids };
}

/** Waits for a job to end and returns its record with all results. */
export async function finishedJob(svc: TestService, jobId: string, timeoutMs = 30_000) {
  await svc.app.engine.waitFor(jobId, timeoutMs);
  const job = (await svc.request('GET', `/v1/jobs/${jobId}?results=all`)).body;
  const tasks = [];
  let cursor: string | undefined;
  do {
    const page = (
      await svc.request('GET', `/v1/jobs/${jobId}/tasks?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
    ).body;
    tasks.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return { job: job.job, tasks };
}

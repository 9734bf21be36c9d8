/**
 * A mixed simulated fleet (every simulated vendor in equal parts) imported into a service that polls
 * it, for the benchmarks that measure the service while it polls: `poll` and `api`.
 */
import {
  api,
  importInventory,
  type ServiceProcess,
  type SimProcess,
  startServiceProcess,
  startSimProcess,
  tempDir,
} from './lib.js';

/** The vendors the simulator runs (`npm run sim -- --talon N --videon N …`). */
const VENDORS = ['osprey-talon', 'videon', 'teradek-vidiu', 'teradek-prism'] as const;

export interface PolledFleet {
  readonly service: ServiceProcess;
  readonly sim: SimProcess;
  readonly devices: number;
  readonly byVendor: Record<string, number>;
  /** Device ids, as the service knows them. */
  readonly ids: readonly string[];
  stop(): Promise<void>;
}

export async function startPolledFleet(opts: {
  devices: number;
  intervalMs: number;
  env?: Record<string, string>;
}): Promise<PolledFleet> {
  const byVendor: Record<string, number> = {};
  VENDORS.forEach((vendor, i) => {
    byVendor[vendor] =
      Math.floor(opts.devices / VENDORS.length) + (i < opts.devices % VENDORS.length ? 1 : 0);
  });
  const tmp = await tempDir();
  const sim = await startSimProcess({ counts: byVendor, dir: tmp.dir });
  let service: ServiceProcess | undefined;
  try {
    service = await startServiceProcess({ POLL_INTERVAL_MS: String(opts.intervalMs), ...opts.env });
    await importInventory(service.url, sim.inventoryFile);
    const ids = (await listAll(service.url)).map((d) => d.id as string);
    if (ids.length !== opts.devices) throw new Error(`imported ${ids.length} of ${opts.devices} devices`);
    const svc = service;
    return {
      service: svc,
      sim,
      devices: opts.devices,
      byVendor,
      ids,
      async stop() {
        await Promise.all([svc.stop(), sim.stop()]);
        await tmp.dispose();
      },
    };
  } catch (err) {
    await Promise.all([service?.stop(), sim.stop()]);
    await tmp.dispose();
    throw err;
  }
}

/** Every device's list entry (`GET /v1/devices`, pages of 1,000). */
export async function listAll(url: string): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const page = await api(
      url,
      'GET',
      `/v1/devices?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** One numeric sample from the service's /metrics (NaN when absent). */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

/**
 * Waits until every device has answered at least one poll. The first round is the slow one (every
 * device's first login and config read), so it gets six intervals; a device still unseen after
 * that is an error. Returns how long the first round took.
 */
export async function waitUntilAllSeen(url: string, intervalMs: number): Promise<number> {
  const started = performance.now();
  const deadline = started + 6 * intervalMs;
  for (;;) {
    const unseen = (await listAll(url)).filter((d) => !d.lastSeen).length;
    if (unseen === 0) return Math.round(performance.now() - started);
    if (performance.now() > deadline) {
      throw new Error(`${unseen} devices never answered a poll in ${(6 * intervalMs) / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

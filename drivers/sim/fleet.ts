/**
 * A simulated fleet: many devices of several vendors in one process, each on its own loopback
 * address behind one shared listener, plus a small control API (faults, effects, reboots) so tests
 * and benchmarks in other processes can steer the devices and read what each one was told.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { VendorId } from '../contract.js';
import type { EffectKind, FaultKnobs, SimDevice } from './device.js';
import { type SimAddress, SimServer } from './server.js';
import { SIMULATORS } from './vendors.js';

export interface SimFleetOptions {
  /** How many devices of each vendor. */
  readonly counts: Partial<Record<VendorId, number>>;
  /** Shared device port (0 = any free port). */
  readonly port?: number;
  /** Control API port on 127.0.0.1 (0 = any free port). */
  readonly controlPort?: number;
  readonly faults?: Partial<FaultKnobs>;
  readonly startDelayMs?: number;
  readonly rebootMs?: number;
  /** Device password for every simulated device (default: each vendor's factory password). */
  readonly password?: string;
  readonly seed?: number;
  /** Third octet offset, so two fleets in one test can use distinct addresses. */
  readonly addressBlock?: number;
}

export interface SimFleetDevice {
  readonly device: SimDevice;
  readonly address: SimAddress;
}

export interface SimFleet {
  readonly devices: readonly SimFleetDevice[];
  readonly controlUrl: string;
  byId(id: string): SimDevice | undefined;
  /** CSV in the service's import format (header included). */
  inventoryCsv(): string;
  close(): Promise<void>;
}

/** 127.<block>.<i/250>.<i%250+1>: every device its own loopback address, none ending in 0 or 255. */
export function simAddress(index: number, block = 10): string {
  return `127.${block + Math.floor(index / 62_500)}.${Math.floor(index / 250) % 250}.${(index % 250) + 1}`;
}

export async function startSimFleet(opts: SimFleetOptions): Promise<SimFleet> {
  const server = new SimServer();
  await server.listenShared(opts.port ?? 0);
  const devices: SimFleetDevice[] = [];
  const byId = new Map<string, SimDevice>();
  let index = 0;
  for (const [vendor, count] of Object.entries(opts.counts) as [VendorId, number][]) {
    const create = SIMULATORS[vendor];
    if (!create) throw new Error(`no simulator for vendor ${vendor}`);
    for (let n = 1; n <= count; n++) {
      const id = `${vendor}-${String(n).padStart(5, '0')}`;
      const device = create({
        id,
        ...(opts.password ? { password: opts.password } : {}),
        ...(opts.faults ? { faults: opts.faults } : {}),
        ...(opts.startDelayMs !== undefined ? { startDelayMs: opts.startDelayMs } : {}),
        ...(opts.rebootMs !== undefined ? { rebootMs: opts.rebootMs } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed + index } : {}),
      });
      const address = server.attach(device, simAddress(index++, opts.addressBlock));
      devices.push({ device, address });
      byId.set(id, device);
    }
  }
  const control = await startControlApi(devices, byId, opts.controlPort ?? 0);
  const controlPort = (control.address() as { port: number }).port;
  return {
    devices,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    byId: (id) => byId.get(id),
    inventoryCsv: () => inventoryCsv(devices),
    async close() {
      control.closeAllConnections();
      await new Promise<void>((resolve) => control.close(() => resolve()));
      await server.close();
    },
  };
}

/** The header is the service's import format (see README, "Bulk import"). */
export function inventoryCsv(devices: readonly SimFleetDevice[]): string {
  const rows = devices.map(({ device, address }) =>
    [
      device.id,
      device.vendor,
      address.host,
      address.port,
      device.username,
      device.password,
      `sim=true;vendor-family=${device.vendor.split('-')[0]}`,
      '',
      '',
      '',
    ].join(','),
  );
  return `name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint\n${rows.join('\n')}\n`;
}

export async function writeInventory(fleet: SimFleet, path: string): Promise<void> {
  await writeFile(path, fleet.inventoryCsv(), { mode: 0o600 });
}

/**
 * Control API (loopback only):
 *   GET  /devices                      → [{ id, vendor, host, port, online, requests, startDelayMs, effects: {kind: n} }]
 *   GET  /effects?kind=start           → [{ device, vendor, kind, at, receivedAt }] of every device, by time
 *   GET  /devices/:id                  → { …, snapshot, effects: [...] }
 *   PATCH /devices/:id/faults  {knobs} → the device's knobs
 *   PATCH /faults?vendor=&fraction=    → sets knobs on all (or a fraction of) devices
 *   POST /devices/:id/reboot           → 204
 *   DELETE /effects                    → forget recorded effects and request counts
 */
function startControlApi(
  devices: readonly SimFleetDevice[],
  byId: Map<string, SimDevice>,
  port: number,
): Promise<Server> {
  const server = createServer((req, res) => {
    handleControl(req, res, devices, byId).catch((err: Error) => reply(res, 500, { error: err.message }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function summary({ device, address }: SimFleetDevice) {
  const effects: Partial<Record<EffectKind, number>> = {};
  for (const e of device.effects) effects[e.kind] = (effects[e.kind] ?? 0) + 1;
  return {
    id: device.id,
    vendor: device.vendor,
    host: address.host,
    port: address.port,
    online: device.online,
    requests: device.requestCount,
    startDelayMs: device.startDelayMs,
    effects,
  };
}

async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  devices: readonly SimFleetDevice[],
  byId: Map<string, SimDevice>,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const parts = url.pathname.split('/').filter(Boolean);
  const body = await readJson(req);
  if (req.method === 'GET' && url.pathname === '/devices') return reply(res, 200, devices.map(summary));
  if (req.method === 'GET' && url.pathname === '/effects') {
    const kind = url.searchParams.get('kind');
    const rows = devices.flatMap(({ device }) =>
      device.effects
        .filter((e) => !kind || e.kind === kind)
        .map((e) => ({
          device: device.id,
          vendor: device.vendor,
          kind: e.kind,
          at: e.at,
          receivedAt: e.receivedAt,
        })),
    );
    return reply(
      res,
      200,
      rows.sort((a, b) => a.receivedAt - b.receivedAt),
    );
  }
  if (req.method === 'DELETE' && url.pathname === '/effects') {
    for (const { device } of devices) {
      device.effects.length = 0;
      device.requestCount = 0;
    }
    return reply(res, 204);
  }
  if (req.method === 'PATCH' && url.pathname === '/faults') {
    const vendor = url.searchParams.get('vendor');
    const fraction = Number(url.searchParams.get('fraction') ?? '1');
    const chosen = devices.filter(({ device }) => !vendor || device.vendor === vendor);
    const picked = chosen.slice(0, Math.round(chosen.length * fraction));
    for (const { device } of picked) device.setFaults(body as Partial<FaultKnobs>);
    return reply(res, 200, { devices: picked.length });
  }
  if (parts[0] === 'devices' && parts[1]) {
    const entry = devices.find((d) => d.device.id === parts[1]);
    const device = byId.get(parts[1]);
    if (!entry || !device) return reply(res, 404, { error: 'no such device' });
    if (req.method === 'GET' && parts.length === 2) {
      return reply(res, 200, { ...summary(entry), snapshot: device.snapshot(), effectLog: device.effects });
    }
    if (req.method === 'PATCH' && parts[2] === 'faults') {
      device.setFaults(body as Partial<FaultKnobs>);
      return reply(res, 200, device.faults);
    }
    if (req.method === 'POST' && parts[2] === 'reboot') {
      device.reboot();
      return reply(res, 204);
    }
  }
  reply(res, 404, { error: 'no such control route' });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

/**
 * `npm run sim -- --talon 20 --videon 20 --teradek-vidiu 10 --teradek-prism 10`
 * Starts a simulated fleet on loopback, prints where it is, writes an inventory file the service can
 * import (POST /v1/devices/import), and serves until interrupted.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { VendorId } from '../contract.js';
import type { FaultKnobs } from './device.js';
import { startSimFleet, writeInventory } from './fleet.js';

const count = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100_000)
    throw new InvalidArgumentError('must be a whole number 0..100000');
  return n;
};
const knob = (value: string, previous: Record<string, unknown>): Record<string, unknown> => {
  const [key, raw] = value.split('=');
  if (!key || raw === undefined) throw new InvalidArgumentError('use key=value, e.g. errorRate=0.05');
  return { ...previous, [key]: raw === 'true' ? true : raw === 'false' ? false : Number(raw) };
};

const program = new Command('sim')
  .description('Run simulated encoders on loopback')
  .option('--talon <n>', 'Osprey Talon devices', count, 0)
  .option('--videon <n>', 'Videon EdgeCaster devices', count, 0)
  .option('--teradek-vidiu <n>', 'Teradek VidiU (CGI) devices', count, 0)
  .option('--teradek-prism <n>', 'Teradek Prism (MQTT over WebSocket) devices', count, 0)
  .option('--port <port>', 'shared device port (0 = any free)', count, 0)
  .option('--control-port <port>', 'control API port on 127.0.0.1 (0 = any free)', count, 0)
  .option('--latency <ms>', 'added latency per request', count, 0)
  .option('--fault <key=value>', 'fault knob, repeatable (errorRate, timeoutRate, resetRate, …)', knob, {})
  .option('--password <password>', 'device password for every device (default: factory password)')
  .option('--seed <n>', 'random seed for fault injection', count)
  .option('--inventory <file>', 'where to write the import CSV', 'sim-inventory.csv')
  .parse();

const o = program.opts<{
  talon: number;
  videon: number;
  teradekVidiu: number;
  teradekPrism: number;
  port: number;
  controlPort: number;
  latency: number;
  fault: Partial<FaultKnobs>;
  password?: string;
  seed?: number;
  inventory: string;
}>();
const counts: Partial<Record<VendorId, number>> = {
  'osprey-talon': o.talon,
  videon: o.videon,
  'teradek-vidiu': o.teradekVidiu,
  'teradek-prism': o.teradekPrism,
};
const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
if (total === 0) {
  program.error('no devices asked for; e.g. npm run sim -- --talon 5');
}

const started = performance.now();
const fleet = await startSimFleet({
  counts: Object.fromEntries(Object.entries(counts).filter(([, n]) => n)),
  port: o.port,
  controlPort: o.controlPort,
  faults: { ...o.fault, ...(o.latency ? { latencyMs: o.latency } : {}) },
  ...(o.password ? { password: o.password } : {}),
  ...(o.seed !== undefined ? { seed: o.seed } : {}),
});
await writeInventory(fleet, o.inventory);
const first = fleet.devices[0]!;
const last = fleet.devices.at(-1)!;
const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
console.log(
  JSON.stringify({
    devices: fleet.devices.length,
    first: { id: first.device.id, host: first.address.host, port: first.address.port },
    last: { id: last.device.id, host: last.address.host, port: last.address.port },
    inventory: o.inventory,
    control: fleet.controlUrl,
    startMs: Math.round(performance.now() - started),
    rssMb,
  }),
);
const stop = async () => {
  await fleet.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

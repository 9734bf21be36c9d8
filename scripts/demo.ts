/**
 * `npm run demo`: the whole thing in one command. Starts 30 simulated encoders on loopback (10
 * Osprey Talon, 10 Videon, 10 Teradek: 5 VidiU + 5 Prism), the service on its embedded store in a
 * fresh DATA_DIR, imports the devices, applies a demo profile, starts the Talons, schedules a
 * broadcast of the Videons in two minutes, and prints the dashboard URL. Ctrl-C stops everything.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimFleet } from '../drivers/sim/fleet.js';
import { buildApp } from '../src/app.js';
import { ApiClient, ApiError } from '../src/client/api-client.js';
import { loadConfig } from '../src/config.js';

const keepData = !!process.env.DATA_DIR;
const dataDir = process.env.DATA_DIR ?? (await mkdtemp(join(tmpdir(), 'ef-demo-')));
// The admin key: given, or made for this demo and printed below (enter it once in the dashboard).
const apiKey =
  process.env.ENCODER_FLEET_API_KEY ??
  process.env.ADMIN_API_KEY ??
  `efk_demo_${randomBytes(24).toString('base64url')}`;
const config = loadConfig({
  LOG_LEVEL: 'warn',
  POLL_INTERVAL_MS: '2000',
  // The simulated devices live on loopback, which the SSRF guard refuses unless allowed.
  ALLOW_DEVICE_NETWORKS: '127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7',
  ADMIN_API_KEY: apiKey,
  ...process.env,
  DATA_DIR: dataDir,
});

const fleet = await startSimFleet({
  counts: { 'osprey-talon': 10, videon: 10, 'teradek-vidiu': 5, 'teradek-prism': 5 },
  startDelayMs: 1500,
});
// A throwaway store gets a throwaway key; a kept DATA_DIR keeps its own (or SECRET_KEY).
const app = await buildApp({
  config,
  ...(keepData ? {} : { secretKey: randomBytes(32).toString('base64') }),
});
await app.start();
const url = await app.server.listen({ port: config.PORT, host: config.HOST });
const client = new ApiClient({ baseUrl: url, apiKey });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await app.close();
  await fleet.close();
  if (!keepData) await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

// Labels: the inventory file gives sim=true and vendor-family; add a site per device for filtering.
const csv = fleet
  .inventoryCsv()
  .split('\n')
  .map((line, i) =>
    i === 0 || !line
      ? line
      : line.replace(/;vendor-family=/, `;site=${i % 3 ? 'berlin' : 'hamburg'};vendor-family=`),
  )
  .join('\n');
const imported = await client.request<{ created: number; updated: number }>('POST', '/v1/devices/import', {
  body: csv,
  contentType: 'text/csv',
  query: { mode: 'upsert' },
});
await client
  .post('/v1/profiles', {
    name: 'demo-720p',
    description: '720p30 RTMP to a loopback ingest',
    config: {
      target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'demo-stream' },
      video: {
        codec: 'h264',
        width: 1280,
        height: 720,
        fps: 30,
        bitrateKbps: 2500,
        keyframeIntervalFrames: 60,
      },
      audio: { codec: 'aac', bitrateKbps: 128 },
    },
  })
  .catch((err) => {
    if (!(err instanceof ApiError && err.status === 409)) throw err; // kept DATA_DIR: it exists
  });
const apply = await client.post<{ id: string }>('/v1/jobs', {
  action: 'apply',
  selector: 'sim=true',
  profile: 'demo-720p',
});
await app.engine.waitFor(apply.id, 60_000);
await client.post('/v1/jobs', { action: 'start', selector: 'vendor=osprey-talon' });

const start = new Date(Date.now() + 2 * 60_000);
const end = new Date(start.getTime() + 10 * 60_000);
let scheduled: string;
try {
  const schedule = await client.post<{ id: string }>('/v1/schedules', {
    name: 'demo broadcast',
    selector: 'vendor=videon',
    profile: 'demo-720p',
    start: start.toISOString(),
    end: end.toISOString(),
    options: { preRollMinutes: 1 },
  });
  scheduled = `broadcast ${schedule.id}: the Videons start at ${start.toLocaleTimeString()} and stop at ${end.toLocaleTimeString()}`;
} catch (err) {
  if (!(err instanceof ApiError)) throw err;
  scheduled =
    err.status === 404
      ? 'no broadcast scheduled: this build has no schedules API (/v1/schedules) yet'
      : `could not schedule the broadcast: ${err.message}`;
}

console.log(`
encoder-fleet demo
  dashboard  ${url}/
  API key    ${apiKey}   (enter it once in the dashboard; admin)
  API docs   ${url}/docs
  devices    ${fleet.devices.length} simulated (${imported.created} imported, ${imported.updated} updated); profile demo-720p applied; the Talons are starting
  schedule   ${scheduled}
  data       ${dataDir}${keepData ? '' : ' (removed on exit)'}
  CLI        ENCODER_FLEET_URL=${url} ENCODER_FLEET_API_KEY=${apiKey} npx encoder-fleet devices list
Ctrl-C stops the service and the simulators.`);

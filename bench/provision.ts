/**
 * Provision 10,000 simulated Talons (every simulated request takes 20 ms) with one apply job, and
 * compare the wall time with the latency-bound limit ceil(N / concurrency) × requests-per-device ×
 * 20 ms (target ratio ≤ 1.3) and with the naive way (one device after another). Peak RSS of the
 * service (target ≤ 400 MB) and its CPU time are read from /proc.
 *
 * Requests per device are counted at the simulators, not assumed. Polling is set to once an hour so
 * the figure is the job's alone. The naive run provisions a sample of 250 further devices with
 * CONCURRENCY=1 on a second service and scales it linearly (sequential work is linear in N).
 *
 * The floor is what this machine's HTTP stack and simulator allow at all: a bare undici client in
 * this process sends the same number of requests per device, over a new connection per device, to
 * the same simulated devices at the same concurrency, with no service in between. Its ratio to the
 * limit shows how much of the service's ratio the machine itself accounts for.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'undici';
import {
  api,
  BENCH_ADMIN_KEY,
  type BenchResult,
  importInventory,
  processStats,
  startServiceProcess,
  startSimProcess,
  tempDir,
  waitForJob,
} from './lib.js';

export async function provision(): Promise<BenchResult> {
  const devices = Number(process.env.BENCH_DEVICES ?? 10_000);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 200);
  const naiveSample = 250;
  const latencyMs = 20;
  const tmp = await tempDir();
  const sim = await startSimProcess({
    counts: { 'osprey-talon': devices + naiveSample },
    latencyMs,
    dir: tmp.dir,
  });
  const [header, ...rows] = (await readFile(sim.inventoryFile, 'utf8')).trim().split('\n');
  const mainCsv = join(tmp.dir, 'main.csv');
  const naiveCsv = join(tmp.dir, 'naive.csv');
  await writeFile(mainCsv, [header, ...rows.slice(0, devices)].join('\n'));
  await writeFile(naiveCsv, [header, ...rows.slice(devices)].join('\n'));
  const service = await startServiceProcess({
    CONCURRENCY: String(concurrency),
    POLL_INTERVAL_MS: '3600000',
  });
  const naive = await startServiceProcess({ CONCURRENCY: '1', POLL_INTERVAL_MS: '3600000' });
  try {
    await importInventory(service.url, mainCsv);
    await importInventory(naive.url, naiveCsv);
    await fetch(`${sim.controlUrl}/effects`, { method: 'DELETE' });
    const config = {
      target: { protocol: 'srt', host: '127.0.0.1', port: 5000, streamId: 'push:bench' },
      video: {
        codec: 'h264',
        width: 1280,
        height: 720,
        fps: 30,
        bitrateKbps: 1500,
        keyframeIntervalFrames: 60,
      },
    };
    const before = await processStats(service.pid);
    const simBefore = await processStats(sim.pid);
    const started = performance.now();
    const job = await api(service.url, 'POST', '/v1/jobs', { action: 'apply', selector: 'sim=true', config });
    const done = await waitForJob(service.url, job.id);
    const wallMs = Math.round(performance.now() - started);
    const after = await processStats(service.pid);
    const simAfter = await processStats(sim.pid);
    const { heapUsedMB, loopLagP99Ms } = await serviceMetrics(service.url);
    if (done.counts.succeeded !== devices) {
      const failed = await api(service.url, 'GET', `/v1/jobs/${job.id}/tasks?state=failed&limit=5`);
      const all = await api(service.url, 'GET', `/v1/jobs/${job.id}?results=none`);
      throw new Error(
        `job ended ${done.state}: ${JSON.stringify(all.job.counts)}; failures: ${JSON.stringify(failed.items.map((t: { deviceName: string; error: unknown; attempts: unknown[] }) => ({ device: t.deviceName, error: t.error, attempts: t.attempts })))}`,
      );
    }

    const simDevices = (await (await fetch(`${sim.controlUrl}/devices`)).json()) as {
      id: string;
      requests: number;
    }[];
    const mainIds = new Set(rows.slice(0, devices).map((r) => r.split(',')[0]));
    const requests = simDevices.filter((d) => mainIds.has(d.id)).reduce((n, d) => n + d.requests, 0);
    const requestsPerDevice = requests / devices;
    const limitMs = Math.ceil(devices / concurrency) * requestsPerDevice * latencyMs;

    const floorWallMs = await httpFloor(rows.slice(0, devices), concurrency, Math.round(requestsPerDevice));

    const naiveStarted = performance.now();
    const naiveJob = await api(naive.url, 'POST', '/v1/jobs', {
      action: 'apply',
      selector: 'sim=true',
      config,
    });
    await waitForJob(naive.url, naiveJob.id);
    const naiveSampleMs = performance.now() - naiveStarted;
    const naiveWallMs = Math.round((naiveSampleMs / naiveSample) * devices);

    return {
      name: 'provision',
      figures: {
        devices,
        concurrency,
        requestsPerDevice: Number(requestsPerDevice.toFixed(2)),
        wallMs,
        limitMs: Math.round(limitMs),
        ratio: Number((wallMs / limitMs).toFixed(3)),
        peakRssMB: after.peakRssMb,
        cpuMs: after.cpuMs - before.cpuMs,
        heapUsedMB,
        loopLagP99Ms,
        simCpuMs: simAfter.cpuMs - simBefore.cpuMs,
        floorWallMs,
        floorRatio: Number((floorWallMs / limitMs).toFixed(3)),
        naiveWallMs,
        naiveSampleDevices: naiveSample,
        speedup: Number((naiveWallMs / wallMs).toFixed(1)),
      },
      targets: [
        { figure: 'ratio', value: wallMs / limitMs, kind: 'max', limit: 1.3 },
        { figure: 'peakRssMB', value: after.peakRssMb, kind: 'max', limit: 400 },
      ],
    };
  } finally {
    await Promise.all([service.stop(), naive.stop(), sim.stop()]);
    await tmp.dispose();
  }
}

/**
 * Wall time of `requests` bare requests per device (each over one new keep-alive connection, as
 * the service's drivers do) to every device of `rows`, `concurrency` devices at once. The requests
 * carry no session, so each is refused (401) after the simulator's latency: the simulator does the
 * same work per request as for the service, minus the vendor logic.
 */
async function httpFloor(rows: readonly string[], concurrency: number, requests: number): Promise<number> {
  const origins = rows.map((row) => {
    const [, , host, port] = row.split(',');
    return `http://${host}:${port}`;
  });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < origins.length) {
        const client = new Client(origins[next++]!);
        for (let i = 0; i < requests; i++) {
          const reply = await client.request({ method: 'GET', path: '/api/v1/system' });
          await reply.body.text();
        }
        await client.close();
      }
    }),
  );
  return Math.round(performance.now() - started);
}

/** The service's live JS heap and event-loop lag p99 (since the previous scrape), from its own metrics. */
async function serviceMetrics(url: string): Promise<{ heapUsedMB: number; loopLagP99Ms: number }> {
  const text = await (
    await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` } })
  ).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsedMB: Math.round(value('encoder_fleet_nodejs_heap_size_used_bytes') / 1048576),
    loopLagP99Ms: Math.round(value('encoder_fleet_event_loop_lag_p99_seconds') * 1000),
  };
}

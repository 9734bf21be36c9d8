/**
 * A scheduled start of 1,000 simulated Talons (every simulated request takes 20 ms), with the config
 * already applied by the schedule's pre-roll: how long after the scheduled instant each device was
 * sent its start request (p50 / p99, target p99 ≤ 1 s), and when the last device was streaming.
 *
 * The service and the simulators run as separate processes on one machine (one clock). Send times
 * are the arrival times the simulators record for each start request (loopback: arrival ≈ send); a
 * simulated device reports streaming `startDelayMs` after it handled its start, as the simulators
 * define it. Polling is set to once an hour so the figures are the scheduler's and the job's alone.
 */
import {
  api,
  type BenchResult,
  importInventory,
  percentile,
  startServiceProcess,
  startSimProcess,
  tempDir,
  waitForJob,
} from './lib.js';

/** Time for the pre-roll (config to every device) before the scheduled start. */
const LEAD_MS = 30_000;

export async function schedule(): Promise<BenchResult> {
  const devices = Number(process.env.BENCH_DEVICES ?? 1000);
  const latencyMs = 20;
  const tmp = await tempDir();
  const sim = await startSimProcess({ counts: { 'osprey-talon': devices }, latencyMs, dir: tmp.dir });
  const service = await startServiceProcess({ POLL_INTERVAL_MS: '3600000' });
  try {
    await importInventory(service.url, sim.inventoryFile);
    const start = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000;
    const created = await api(service.url, 'POST', '/v1/schedules', {
      name: 'bench-start',
      selector: 'sim=true',
      config: {
        target: { protocol: 'srt', host: '127.0.0.1', port: 5000, streamId: 'push:bench' },
        video: {
          codec: 'h264',
          width: 1280,
          height: 720,
          fps: 30,
          bitrateKbps: 1500,
          keyframeIntervalFrames: 60,
        },
      },
      start: new Date(start).toISOString(),
      end: new Date(start + 3600_000).toISOString(),
      options: { preRollMinutes: 1 },
    });

    const run = await runWhen(service.url, created.id, (r) => r?.phases.start?.job, start + 60_000);
    if (run.prerollFailures || run.phases.preroll?.job?.counts.succeeded !== devices)
      throw new Error(`pre-roll did not configure every device: ${JSON.stringify(run)}`);
    const job = await waitForJob(service.url, run.phases.start.job.id);
    if (job.counts.succeeded !== devices)
      throw new Error(`start job ended ${job.state}: ${JSON.stringify(job.counts)}`);

    const effects = (await (await fetch(`${sim.controlUrl}/effects?kind=start`)).json()) as {
      device: string;
      at: number;
      receivedAt: number;
    }[];
    const simDevices = (await (await fetch(`${sim.controlUrl}/devices`)).json()) as {
      id: string;
      startDelayMs: number;
    }[];
    const startDelay = new Map(simDevices.map((d) => [d.id, d.startDelayMs]));
    if (effects.length !== devices || new Set(effects.map((e) => e.device)).size !== devices)
      throw new Error(`${effects.length} start requests for ${devices} devices`);
    const sendDelays = effects.map((e) => e.receivedAt - start);
    const lastStreamingMs = Math.max(...effects.map((e) => e.at + startDelay.get(e.device)! - start));
    const p99SendDelayMs = percentile(sendDelays, 99);
    console.error(
      `schedule: start fired ${run.phases.start.lateMs} ms after the scheduled instant; start job ${job.counts.succeeded}/${devices} succeeded, ended ${Date.parse(job.finishedAt) - start} ms after it`,
    );
    return {
      name: 'schedule',
      figures: {
        devices,
        firstSendDelayMs: Math.min(...sendDelays),
        p50SendDelayMs: percentile(sendDelays, 50),
        p99SendDelayMs,
        lastStreamingMs,
      },
      targets: [{ figure: 'p99SendDelayMs', value: p99SendDelayMs, kind: 'max', limit: 1000 }],
    };
  } finally {
    await Promise.all([service.stop(), sim.stop()]);
    await tmp.dispose();
  }
}

/** Polls the schedule's newest run until `ready` says it is there. */
async function runWhen(url: string, scheduleId: string, ready: (run: any) => unknown, deadline: number) {
  for (;;) {
    const [run] = (await api(url, 'GET', `/v1/schedules/${scheduleId}/runs?limit=1`)).items;
    if (ready(run)) return run;
    if (Date.now() > deadline) throw new Error(`run not as expected in time: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

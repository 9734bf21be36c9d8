/**
 * 10,000 simulated devices (Talon, Videon, VidiU and Prism in equal parts, `npm run sim` in its own
 * process) imported into a service that polls each of them every 10 s; measured for 2 minutes once
 * every device has answered its first poll (the first round also logs in and reads every config).
 *
 * - cpuCores: the service's CPU time over the window (utime + stime from /proc) ÷ wall time;
 *   target < 0.5 of one core.
 * - peakRssMB: the service's VmHWM, i.e. its peak since start, import included; target < 500.
 * - p99StalenessS: how old the service's view of a device is, seen from outside. Every 7 s (not a
 *   divisor of the poll interval, so samples do not stay in phase with the polls) the benchmark
 *   reads every device's `lastSeen` through the API (`GET /v1/devices`, pages of 1,000) and records
 *   (time the page arrived − lastSeen) for each device; a device never seen counts as infinitely
 *   stale. p99 over all samples of all devices; target < 12 s. A perfectly punctual poller gives
 *   ages spread evenly over 0–10 s plus the poll's own duration, so this leaves 2 s for lateness.
 *   The sampling's own cost (10 list requests per round) is included in the CPU figure.
 * - loopLagP99Ms: the service's event-loop delay p99 over the window, from its own metric (reset
 *   by a scrape at the start of the window, read at the end).
 */
import { loadavg } from 'node:os';
import { type BenchResult, percentile, processStats } from './lib.js';
import { listAll, metric, startPolledFleet, waitUntilAllSeen } from './polled-fleet.js';

const INTERVAL_MS = 10_000;
const SAMPLE_EVERY_MS = 7_000;

export async function poll(): Promise<BenchResult> {
  const devices = Number(process.env.BENCH_DEVICES ?? 10_000);
  const windowMs = Number(process.env.BENCH_POLL_SECONDS ?? 120) * 1000;
  const fleet = await startPolledFleet({ devices, intervalMs: INTERVAL_MS });
  const { service, sim } = fleet;
  try {
    const firstRoundMs = await waitUntilAllSeen(service.url, INTERVAL_MS);

    await metric(service.url, 'encoder_fleet_event_loop_lag_p99_seconds'); // resets the window
    const pollsBefore = await pollCounts(service.url);
    const before = await processStats(service.pid);
    const simBefore = await processStats(sim.pid);
    const started = performance.now();
    const ages: number[] = [];
    while (performance.now() - started < windowMs) {
      const round = performance.now();
      for (const d of await listAll(service.url)) {
        ages.push(d.lastSeen ? (Date.now() - Date.parse(d.lastSeen as string)) / 1000 : Infinity);
      }
      const rest = SAMPLE_EVERY_MS - (performance.now() - round);
      const left = windowMs - (performance.now() - started);
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(rest, left))));
    }
    const wallMs = performance.now() - started;
    const after = await processStats(service.pid);
    const simAfter = await processStats(sim.pid);
    const loopLagP99Ms = (await metric(service.url, 'encoder_fleet_event_loop_lag_p99_seconds')) * 1000;
    const pollsAfter = await pollCounts(service.url);

    const cpuCores = (after.cpuMs - before.cpuMs) / wallMs;
    const p99StalenessS = percentile(ages, 99);
    const polls = pollsAfter.ok + pollsAfter.error - pollsBefore.ok - pollsBefore.error;
    return {
      name: 'poll',
      figures: {
        devices,
        cpuCores: round3(cpuCores),
        p99StalenessS: round3(p99StalenessS),
        peakRssMB: after.peakRssMb,
        loopLagP99Ms: round3(loopLagP99Ms),
        p50StalenessS: round3(percentile(ages, 50)),
        maxStalenessS: round3(percentile(ages, 100)),
        stalenessSamples: ages.length,
        firstRoundS: round3(firstRoundMs / 1000),
        pollsPerS: round3(polls / (wallMs / 1000)),
        pollErrors: pollsAfter.error - pollsBefore.error,
        windowS: Math.round(wallMs / 1000),
        simCpuCores: round3((simAfter.cpuMs - simBefore.cpuMs) / wallMs),
        // Latency and staleness move with what else the machine runs; this says how busy it was.
        loadAvg1m: Number(loadavg()[0]!.toFixed(2)),
      },
      targets: [
        { figure: 'cpuCores', value: cpuCores, kind: 'max', limit: 0.5 },
        { figure: 'peakRssMB', value: after.peakRssMb, kind: 'max', limit: 500 },
        { figure: 'p99StalenessS', value: p99StalenessS, kind: 'max', limit: 12 },
      ],
    };
  } finally {
    await fleet.stop();
  }
}

/** Polls finished so far, from the poll-duration histogram's counts. */
async function pollCounts(url: string): Promise<{ ok: number; error: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = { ok: 0, error: 0 };
  for (const m of text.matchAll(
    /^encoder_fleet_poll_duration_seconds_count\{[^}]*outcome="(ok|error)"[^}]*\} (\S+)$/gm,
  )) {
    counts[m[1] as 'ok' | 'error'] += Number(m[2]);
  }
  return counts;
}

function round3(n: number): number {
  return Number.isFinite(n) ? Number(n.toFixed(3)) : n;
}

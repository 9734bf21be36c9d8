/**
 * API latency while the service polls 10,000 devices every 10 s (the `poll` setup), from one interval
 * after every device has answered: autocannon sends 500 requests a second for 30 s, alternating
 * `GET /v1/devices?limit=100` and `GET /v1/devices/:id/status` of a random device. Targets: p99 <
 * 25 ms, no errors (non-2xx, transport errors and timeouts all count).
 *
 * autocannon paces each connection to its share of the rate within every second: at the start of a
 * second all connections send back-to-back until their share is done, so the service sees bursts
 * with 10 requests in flight rather than an even 2 ms spacing — a harsher load than the average
 * rate suggests. Latencies are autocannon's own (with its coordinated-omission correction).
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { BENCH_ADMIN_KEY, type BenchResult, processStats } from './lib.js';
import { startPolledFleet, waitUntilAllSeen } from './polled-fleet.js';

const INTERVAL_MS = 10_000;
const RATE = 500;
const CONNECTIONS = 10;

export async function api(): Promise<BenchResult> {
  const devices = Number(process.env.BENCH_DEVICES ?? 10_000);
  const seconds = Number(process.env.BENCH_API_SECONDS ?? 30);
  const fleet = await startPolledFleet({ devices, intervalMs: INTERVAL_MS });
  try {
    const firstRoundMs = await waitUntilAllSeen(fleet.service.url, INTERVAL_MS);
    // Steady state: one more interval for the first round's logins, config reads and 10,000
    // state-change events to be written.
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
    const { ids } = fleet;
    const before = await processStats(fleet.service.pid);
    const result = await autocannon({
      url: fleet.service.url,
      connections: CONNECTIONS,
      overallRate: RATE,
      duration: seconds,
      headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` },
      requests: [
        { method: 'GET', path: '/v1/devices?limit=100' },
        {
          method: 'GET',
          setupRequest: (req) => ({
            ...req,
            path: `/v1/devices/${ids[Math.floor(Math.random() * ids.length)]}/status`,
          }),
        },
      ],
    });
    const after = await processStats(fleet.service.pid);
    const errors = result.errors + result.timeouts + result.non2xx;
    const rps = result.requests.total / (result.duration || seconds);
    return {
      name: 'api',
      figures: {
        rps: Number(rps.toFixed(1)),
        p99Ms: result.latency.p99,
        errors,
        p50Ms: result.latency.p50,
        p90Ms: result.latency.p90,
        maxMs: result.latency.max,
        requests: result.requests.total,
        devices,
        firstRoundS: Number((firstRoundMs / 1000).toFixed(1)),
        // The service's CPU while answering and polling, as a fraction of one core.
        serviceCpuCores: Number(((after.cpuMs - before.cpuMs) / (result.duration * 1000)).toFixed(3)),
        // Latency and staleness move with what else the machine runs; this says how busy it was.
        loadAvg1m: Number(loadavg()[0]!.toFixed(2)),
      },
      targets: [
        { figure: 'p99Ms', value: result.latency.p99, kind: 'max', limit: 25 },
        { figure: 'errors', value: errors, kind: 'max', limit: 0 },
        // The load must actually have been offered, or the latency says nothing.
        { figure: 'rps', value: rps, kind: 'min', limit: RATE * 0.95 },
      ],
    };
  } finally {
    await fleet.stop();
  }
}

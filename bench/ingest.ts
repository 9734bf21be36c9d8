/**
 * The nanoStream webhook under load: POST /v1/ingest/nanostream/webhook at a fixed 1,000 requests/s
 * (autocannon, corrected for coordinated omission) against the service in its own process, with
 * 1,000 devices each sending its own stream. The mix is what an ingest sends: `publish` and
 * `update_publish` for managed streams (200) and one call in ten for a stream nobody sends (403).
 * Target: p99 latency ≤ 50 ms at 1,000 requests/s.
 *
 * Every answer is checked: any error, timeout or 5xx, or the wrong share of 200 / 403, fails the run.
 */
import autocannon from 'autocannon';
import { api, type BenchResult, processStats, startServiceProcess } from './lib.js';

const FORM = 'application/x-www-form-urlencoded';

export async function ingest(): Promise<BenchResult> {
  const devices = Number(process.env.BENCH_INGEST_DEVICES ?? 1000);
  const rate = Number(process.env.BENCH_INGEST_RATE ?? 1000);
  const seconds = Number(process.env.BENCH_INGEST_SECONDS ?? 20);
  const service = await startServiceProcess({
    POLL_INTERVAL_MS: '3600000',
    NANOSTREAM_RTMP_URL: 'rtmp://127.0.0.2:1935/live',
  });
  try {
    const names = await addDevices(service.url, devices);
    await untilIndexed(service.url, names.at(-1)!);

    const url = `${service.url}/v1/ingest/nanostream/webhook`;
    let n = 0;
    const next = () => {
      n++;
      if (n % 10 === 0) return `call=publish&name=NOT-MANAGED-${n}&app=live&addr=127.0.0.1`;
      const call = n % 3 === 0 ? 'publish' : 'update_publish';
      return `call=${call}&name=${names[n % names.length]}&app=live&addr=127.0.0.1&clientid=${n}&bytes_in=${n * 1316}`;
    };
    const run = (duration: number) =>
      autocannon({
        url,
        connections: 20,
        overallRate: rate,
        duration,
        timeout: 5,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': FORM },
            setupRequest: (request) => ({ ...request, body: next() }),
          },
        ],
      });

    await run(3); // warm-up (JIT, connections); not counted
    const before = await processStats(service.pid);
    n = 0;
    const result = await run(seconds);
    const after = await processStats(service.pid);

    const total = result['2xx'] + result.non2xx;
    const forbidden = result.statusCodeStats['403']?.count ?? 0;
    const bad = result.errors + result.timeouts + result['5xx'] + (result.non2xx - forbidden);
    if (bad > 0 || result['2xx'] === 0 || Math.abs(forbidden / total - 0.1) > 0.01) {
      throw new Error(
        `unexpected answers: ${JSON.stringify({ errors: result.errors, timeouts: result.timeouts, codes: result.statusCodeStats })}`,
      );
    }
    const achieved = total / result.duration;
    return {
      name: 'ingest',
      figures: {
        devices,
        targetRate: rate,
        achievedRate: Math.round(achieved),
        requests: total,
        allowed: result['2xx'],
        refused: forbidden,
        p50Ms: result.latency.p50,
        p97_5Ms: result.latency.p97_5,
        p99Ms: result.latency.p99,
        maxMs: result.latency.max,
        serviceCpuMs: after.cpuMs - before.cpuMs,
        serviceRssMB: after.rssMb,
      },
      targets: [
        { figure: 'p99Ms', value: result.latency.p99, kind: 'max', limit: 50 },
        { figure: 'achievedRate', value: achieved, kind: 'min', limit: rate * 0.98 },
      ],
    };
  } finally {
    await service.stop();
  }
}

/** Adds `count` devices, each sending its own nanoStream stream; returns the stream names. */
async function addDevices(url: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `BENCH-${String(i).padStart(5, '0')}-STREAM`);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await api(url, 'POST', '/v1/devices', {
        name: `bench-${i}`,
        vendor: 'osprey-talon',
        // Nothing listens there: the device is never reached, only its stream name matters.
        host: '127.0.0.1',
        port: 20_000 + i,
        overrides: { target: { protocol: 'nanostream', ingest: 'rtmp', streamName: names[i] } },
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return names;
}

/** Waits until the service's stream index (refreshed from the store) knows `name`. */
async function untilIndexed(url: string, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${url}/v1/ingest/nanostream/webhook`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: `call=update_publish&name=${name}`,
    });
    await res.text();
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`stream index never learned ${name} (HTTP ${res.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

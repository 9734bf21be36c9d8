/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name> [<name>…]` runs some. Each run
 * prints a table of figure, target and ratio, and rewrites its row in bench/results.json.
 */

import { api } from './api.js';
import { importBench } from './import.js';
import { ingest } from './ingest.js';
import { type BenchResult, saveResult } from './lib.js';
import { poll } from './poll.js';
import { provision } from './provision.js';
import { schedule } from './schedule.js';

const BENCHMARKS: Record<string, () => Promise<BenchResult>> = {
  provision,
  schedule,
  ingest,
  poll,
  import: importBench,
  api,
};

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = asked.filter((name) => !(name in BENCHMARKS));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
const names = asked.length ? asked : Object.keys(BENCHMARKS);
const rows: string[][] = [];
let failed = false;
const started = performance.now();
for (const name of names) {
  const t0 = performance.now();
  console.error(`running ${name}…`);
  let result: BenchResult;
  try {
    result = await BENCHMARKS[name]!();
  } catch (err) {
    // One benchmark that cannot run must not hide the others' figures.
    console.error(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
    rows.push([name, '(failed)', '-', '-', '-', 'FAILED']);
    failed = true;
    continue;
  }
  await saveResult(result);
  console.error(
    `${name}: ${JSON.stringify(result.figures)} (${Math.round((performance.now() - t0) / 1000)} s)`,
  );
  for (const t of result.targets) {
    const ratio = t.limit === 0 ? (t.value === 0 ? 0 : Number.POSITIVE_INFINITY) : t.value / t.limit;
    const ok = t.kind === 'max' ? t.value <= t.limit : t.value >= t.limit;
    failed ||= !ok;
    rows.push([
      name,
      t.figure,
      fmt(t.value),
      `${t.kind === 'max' ? '≤' : '≥'} ${fmt(t.limit)}`,
      ratio.toFixed(2),
      ok ? 'ok' : 'MISSED',
    ]);
  }
}
const header = ['benchmark', 'figure', 'value', 'target', 'ratio', ''];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const row of rows) console.log(line(row));
console.log(
  `\n${names.length} benchmark(s) in ${Math.round((performance.now() - started) / 1000)} s; figures in bench/results.json`,
);
process.exitCode = failed ? 1 : 0;

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3);
}

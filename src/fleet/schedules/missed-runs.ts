/**
 * What to do with a start that comes due late. A start fired within LATE_TOLERANCE_MS of its
 * instant is on time (a busy process, a replica taking over a dead one's claim after its lease ran
 * out). Later than that the start was missed, and the schedule's missed-run policy decides: `skip`,
 * or `run-if-within` its grace window. A broadcast whose end has already passed is never started.
 */
import type { ResolvedOptions } from './model.js';
import type { Occurrence } from './timing.js';

export const LATE_TOLERANCE_MS = 60_000;

export type StartDecision =
  | { readonly run: true; readonly lateMs: number }
  | { readonly run: false; readonly reason: string };

export function startDecision(options: ResolvedOptions, occurrence: Occurrence, now: number): StartDecision {
  const lateMs = Math.max(0, now - occurrence.start);
  if (lateMs <= LATE_TOLERANCE_MS) return { run: true, lateMs };
  const missed = `missed the start by ${describeMs(lateMs)} (the service was not running)`;
  if (now >= occurrence.end) return { run: false, reason: `${missed}; the broadcast had already ended` };
  if (options.missedRunPolicy === 'skip')
    return { run: false, reason: `${missed}; missed-run policy is skip` };
  const graceMs = (options.graceMinutes ?? 0) * 60_000;
  if (lateMs <= graceMs) return { run: true, lateMs };
  return {
    run: false,
    reason: `${missed}; more than the grace window of ${options.graceMinutes} min`,
  };
}

/** 90_000 → "1 min 30 s"; 7_200_000 → "2 h". */
export function describeMs(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts: string[] = [];
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s % 60 || !parts.length) parts.push(`${s % 60} s`);
  return parts.join(' ');
}

/**
 * When a schedule's broadcasts happen. A one-shot schedule has one occurrence; a recurring one has
 * an occurrence at every instant its cron expression matches in its IANA zone (croner does the
 * matching, DST included: a start in the spring-forward gap runs at the first valid instant after
 * it, a start in the repeated autumn hour runs once). Durations are absolute: a 60-minute broadcast
 * lasts 60 minutes even across a DST change.
 */
import { Cron } from 'croner';
import type { ScheduleSpec } from './model.js';

const MINUTE = 60_000;

/** One broadcast, in ms since the epoch. */
export interface Occurrence {
  /** Config applied and devices checked. */
  readonly prerollAt: number;
  readonly start: number;
  readonly end: number;
  /** The end plus post-roll: when the stop is sent. */
  readonly stopAt: number;
}

type Timed = Pick<ScheduleSpec, 'start' | 'end' | 'recurrence' | 'options'>;

/** ms since the epoch → ISO-8601 UTC, the form every instant is stored and shown in. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses a 5-field cron expression in `timezone`; throws with croner's reason when invalid. */
export function parseCron(cron: string, timezone: string): Cron {
  return new Cron(cron, { timezone, paused: true, mode: '5-part' });
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The occurrence that starts at `start`. */
export function occurrenceAt(schedule: Timed, start: number): Occurrence {
  const end = start + durationMs(schedule);
  return {
    prerollAt: start - schedule.options.preRollMinutes * MINUTE,
    start,
    end,
    stopAt: end + schedule.options.postRollMinutes * MINUTE,
  };
}

export function durationMs(schedule: Timed): number {
  if (schedule.recurrence) return schedule.recurrence.durationMinutes * MINUTE;
  return Date.parse(schedule.end!) - Date.parse(schedule.start!);
}

/**
 * Occurrences starting strictly after `after`, in order: at most `limit`, and none starting at or
 * after `until` when given.
 */
export function occurrencesAfter(
  schedule: Timed,
  after: number,
  opts: { limit: number; until?: number },
): Occurrence[] {
  const until = opts.until ?? Number.POSITIVE_INFINITY;
  if (!schedule.recurrence) {
    const start = Date.parse(schedule.start!);
    return start > after && start < until && opts.limit > 0 ? [occurrenceAt(schedule, start)] : [];
  }
  const cron = parseCron(schedule.recurrence.cron, schedule.recurrence.timezone);
  const out: Occurrence[] = [];
  let from = new Date(after);
  while (out.length < opts.limit) {
    const next = cron.nextRun(from);
    if (!next || next.getTime() >= until) break;
    out.push(occurrenceAt(schedule, next.getTime()));
    from = next;
  }
  return out;
}

/** Occurrences whose span [pre-roll, stop) overlaps [from, to), in order of start, at most `limit`. */
export function occurrencesOverlapping(
  schedule: Timed,
  from: number,
  to: number,
  limit: number,
): Occurrence[] {
  // stopAt > from ⟺ start > from − duration − post-roll; prerollAt < to ⟺ start < to + pre-roll.
  const after = from - durationMs(schedule) - schedule.options.postRollMinutes * MINUTE;
  return occurrencesAfter(schedule, after, {
    limit,
    until: to + schedule.options.preRollMinutes * MINUTE,
  });
}

/**
 * From a request body to a ScheduleSpec: the cross-field rules the schema cannot say (exactly one
 * device target, one timing, a cron that parses and matches, runs that do not overlap each other),
 * instants normalised to UTC and option defaults filled in. Every problem names its field.
 */
import { BadRequestError } from '../../api/errors.js';
import type { FieldError } from '../../validation.js';
import { selectorOf } from '../inventory.js';
import { describeMs } from './missed-runs.js';
import type {
  ResolvedOptions,
  ScheduleCreate,
  SchedulePatch,
  ScheduleRecord,
  ScheduleSpec,
} from './model.js';
import { iso, isTimeZone, occurrencesAfter, parseCron } from './timing.js';

const MAX_DURATION_MS = 7 * 86_400_000;
const SELF_OVERLAP_RUNS = 100;

/**
 * @param now the scheduler's clock
 * @param startChanged whether the one-shot start is new (only a new start must lie in the future)
 * @throws BadRequestError naming every field at fault
 */
export function toSpec(body: ScheduleCreate, now: number, startChanged = true): ScheduleSpec {
  const problems: FieldError[] = [];
  const problem = (field: string, reason: string) => problems.push({ field: `body/${field}`, reason });

  if (!!body.selector === !!body.deviceIds) problem('selector', 'give exactly one of selector and deviceIds');
  if (body.selector) selectorOf(body.selector, 'body/selector');
  if (body.profile && body.config) problem('config', 'give at most one of profile and config');

  const options = resolveOptions(body.options ?? {}, problem);
  let timing: Pick<ScheduleSpec, 'start' | 'end' | 'recurrence'> = {};
  const once = body.start !== undefined || body.end !== undefined;
  if (once === !!body.recurrence) problem('recurrence', 'give either start and end, or recurrence');
  else if (once) {
    if (body.start === undefined) problem('start', 'is required with end');
    if (body.end === undefined) problem('end', 'is required with start');
    if (body.start !== undefined && body.end !== undefined) {
      const start = Date.parse(body.start);
      const end = Date.parse(body.end);
      if (end <= start) problem('end', 'must be after start');
      else if (end - start > MAX_DURATION_MS) problem('end', 'must be at most 7 days after start');
      if (startChanged && start <= now) problem('start', 'is in the past');
      timing = { start: iso(start), end: iso(end) };
    }
  } else if (body.recurrence) {
    const { cron, timezone } = body.recurrence;
    if (!isTimeZone(timezone))
      problem('recurrence/timezone', 'is not an IANA time zone (e.g. Europe/Berlin)');
    else {
      try {
        parseCron(cron, timezone);
        timing = { recurrence: { ...body.recurrence, cron: cron.trim() } };
      } catch (err) {
        problem('recurrence/cron', cronReason(err));
      }
    }
  }

  if (timing.recurrence && !problems.length) {
    const runs = occurrencesAfter({ ...timing, options }, now, { limit: SELF_OVERLAP_RUNS });
    if (!runs.length) problem('recurrence/cron', 'never matches a future instant');
    for (let i = 1; i < runs.length; i++) {
      if (runs[i]!.prerollAt < runs[i - 1]!.stopAt) {
        problem(
          'recurrence/durationMinutes',
          `each run (pre-roll to post-roll) must end before the next one's pre-roll; runs starting ${iso(runs[i - 1]!.start)} and ${iso(runs[i]!.start)} are ${describeMs(runs[i]!.start - runs[i - 1]!.start)} apart`,
        );
        break;
      }
    }
  }
  if (problems.length)
    throw new BadRequestError(problems.map((p) => `${p.field} ${p.reason}`).join('; '), problems);
  return {
    name: body.name,
    ...(body.selector ? { selector: body.selector } : {}),
    ...(body.deviceIds ? { deviceIds: body.deviceIds } : {}),
    ...(body.profile ? { profile: body.profile } : {}),
    ...(body.config ? { config: body.config } : {}),
    ...timing,
    enabled: body.enabled ?? true,
    options,
  };
}

/** The stored schedule with a change laid over it, as a full body (then checked by toSpec). */
export function mergePatch(current: ScheduleRecord, patch: SchedulePatch): ScheduleCreate {
  const body: Record<string, unknown> = {
    name: patch.name ?? current.name,
    enabled: patch.enabled ?? current.enabled,
  };
  const pick = <K extends keyof ScheduleRecord>(key: K) => {
    if (current[key] !== undefined) body[key] = current[key];
  };
  if (patch.selector !== undefined) body.selector = patch.selector;
  else if (patch.deviceIds !== undefined) body.deviceIds = patch.deviceIds;
  else {
    pick('selector');
    pick('deviceIds');
  }
  if (patch.profile !== undefined || patch.config !== undefined) {
    if (patch.profile) body.profile = patch.profile;
    if (patch.config) body.config = patch.config;
  } else {
    pick('profile');
    pick('config');
  }
  if (patch.recurrence) body.recurrence = patch.recurrence;
  else if (patch.start !== undefined || patch.end !== undefined) {
    body.start = patch.start ?? current.start;
    body.end = patch.end ?? current.end;
  } else {
    pick('start');
    pick('end');
    pick('recurrence');
  }
  const options: Record<string, unknown> = { ...current.options, ...patch.options };
  // Switching to `skip` drops the grace window that only `run-if-within` uses.
  if (options.missedRunPolicy === 'skip' && patch.options?.graceMinutes === undefined)
    delete options.graceMinutes;
  body.options = options;
  return body as ScheduleCreate;
}

function resolveOptions(
  given: NonNullable<ScheduleCreate['options']>,
  problem: (field: string, reason: string) => void,
): ResolvedOptions {
  const policy = given.missedRunPolicy ?? 'skip';
  if (policy === 'run-if-within' && given.graceMinutes === undefined)
    problem('options/graceMinutes', 'is required with missedRunPolicy run-if-within');
  if (policy === 'skip' && given.graceMinutes !== undefined)
    problem('options/graceMinutes', 'is only for missedRunPolicy run-if-within');
  return {
    preRollMinutes: given.preRollMinutes ?? 2,
    postRollMinutes: given.postRollMinutes ?? 0,
    missedRunPolicy: policy,
    ...(policy === 'run-if-within' && given.graceMinutes !== undefined
      ? { graceMinutes: given.graceMinutes }
      : {}),
    allowOverlap: given.allowOverlap ?? false,
  };
}

/** croner's message without its class prefix, e.g. "Invalid value for minute: 61". */
function cronReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `is not a valid 5-field cron expression: ${message.replace(/^CronPattern: /, '')}`;
}

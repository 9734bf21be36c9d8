/**
 * Schedules as the API sees them: create / change / delete with every rule checked (devices and
 * profile exist, no overlap with another broadcast on the same devices), upcoming runs, the fleet
 * calendar, and the runs already fired with their jobs.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, BadRequestError, NotFoundError } from '../../api/errors.js';
import type { JobRecord } from '../jobs/model.js';
import type { Clock } from './clock.js';
import { checkConflicts } from './conflicts.js';
import type { ScheduleActions } from './fleet-actions.js';
import type {
  FiringRecord,
  Phase,
  RunRecord,
  ScheduleCreate,
  SchedulePatch,
  ScheduleRecord,
  ScheduleSpec,
} from './model.js';
import type { ScheduleRepo } from './repo.js';
import { mergePatch, toSpec } from './spec.js';
import { iso, type Occurrence, occurrencesAfter, occurrencesOverlapping } from './timing.js';

export const CALENDAR_MAX_DAYS = 92;
export const CALENDAR_MAX_ENTRIES = 5000;

export interface RunDetail {
  readonly run: RunRecord;
  readonly firings: Partial<Record<Phase, FiringRecord & { job?: JobRecord }>>;
}

export interface CalendarEntry {
  readonly schedule: ScheduleRecord;
  readonly occurrence: Occurrence;
  readonly run?: RunRecord;
}

export class Schedules {
  constructor(
    private readonly deps: {
      readonly repo: ScheduleRepo;
      readonly actions: Pick<ScheduleActions, 'resolve'>;
      readonly profileExists: (idOrName: string) => Promise<boolean>;
      readonly job: (id: string) => Promise<JobRecord | undefined>;
      readonly clock: Clock;
      /** Told after every change (the scheduler looks again at once). */
      readonly onChange: () => void;
    },
  ) {}

  async create(body: ScheduleCreate): Promise<ScheduleRecord> {
    const now = this.deps.clock.now();
    const spec = toSpec(body, now);
    await this.check(spec, undefined, now);
    const schedule = await this.deps.repo.create(spec, { id: randomUUID(), now: iso(now) });
    this.deps.onChange();
    return schedule;
  }

  async update(id: string, patch: SchedulePatch, expectedVersion?: number): Promise<ScheduleRecord> {
    const current = await this.get(id);
    const now = this.deps.clock.now();
    const spec = toSpec(mergePatch(current, patch), now, patch.start !== undefined);
    await this.check(spec, id, now);
    const schedule = await this.deps.repo.update(id, spec, iso(now), expectedVersion);
    this.deps.onChange();
    return schedule;
  }

  /** Refused while a run is live: its stop would never be sent. */
  async delete(id: string): Promise<void> {
    await this.get(id);
    const live = (await this.deps.repo.openRuns()).find((r) => r.scheduleId === id && r.state === 'live');
    if (live) {
      throw new ApiError(
        409,
        'schedule_live',
        `a run of this schedule is live until ${live.stopAt}; disable the schedule (its live run still stops on time) and delete it afterwards`,
        { runId: live.id, stopAt: live.stopAt },
      );
    }
    await this.deps.repo.delete(id);
    this.deps.onChange();
  }

  async get(id: string): Promise<ScheduleRecord> {
    const schedule = await this.deps.repo.get(id);
    if (!schedule) throw new NotFoundError('schedule', id);
    return schedule;
  }

  list(): Promise<ScheduleRecord[]> {
    return this.deps.repo.list();
  }

  /** The next `count` runs that start after now. */
  async next(id: string, count: number): Promise<Occurrence[]> {
    return occurrencesAfter(await this.get(id), this.deps.clock.now(), { limit: count });
  }

  /** The first upcoming run of a schedule, for its view. */
  upcoming(schedule: ScheduleRecord): Occurrence | undefined {
    return occurrencesAfter(schedule, this.deps.clock.now(), { limit: 1 })[0];
  }

  /** Every enabled schedule's runs overlapping [from, to), by start; with their run records when fired. */
  async calendar(from: string, to: string): Promise<{ entries: CalendarEntry[]; truncated: boolean }> {
    const start = Date.parse(from);
    const end = Date.parse(to);
    if (end <= start)
      throw new BadRequestError('querystring/to must be after from', [
        { field: 'querystring/to', reason: 'must be after from' },
      ]);
    if (end - start > CALENDAR_MAX_DAYS * 86_400_000)
      throw new BadRequestError(`the window may span at most ${CALENDAR_MAX_DAYS} days`, [
        { field: 'querystring/to', reason: `must be at most ${CALENDAR_MAX_DAYS} days after from` },
      ]);
    const entries: CalendarEntry[] = [];
    for (const schedule of await this.deps.repo.list()) {
      if (!schedule.enabled) continue;
      for (const occurrence of occurrencesOverlapping(schedule, start, end, CALENDAR_MAX_ENTRIES + 1))
        entries.push({ schedule, occurrence });
    }
    entries.sort((a, b) => a.occurrence.start - b.occurrence.start);
    const truncated = entries.length > CALENDAR_MAX_ENTRIES;
    const shown = entries.slice(0, CALENDAR_MAX_ENTRIES);
    if (!shown.length) return { entries: shown, truncated };
    const runs = await this.deps.repo.runsBetween(
      iso(shown[0]!.occurrence.start),
      iso(shown.at(-1)!.occurrence.start + 1),
    );
    const runOf = new Map(runs.map((r) => [`${r.scheduleId} ${r.occurrence}`, r]));
    return {
      entries: shown.map((e) => {
        const run = runOf.get(`${e.schedule.id} ${iso(e.occurrence.start)}`);
        return run ? { ...e, run } : e;
      }),
      truncated,
    };
  }

  /** Runs of a schedule, newest first, each with its firings and their jobs. */
  async runs(id: string, limit: number, before?: string): Promise<RunDetail[]> {
    await this.get(id);
    const runs = await this.deps.repo.runs(id, limit, before ? iso(Date.parse(before)) : undefined);
    const firings = await this.deps.repo.firings(runs.map((r) => r.id));
    const jobs = new Map<string, JobRecord>();
    await Promise.all(
      firings.map(async (f) => {
        const job = f.jobId ? await this.deps.job(f.jobId) : undefined;
        if (job) jobs.set(job.id, job);
      }),
    );
    return runs.map((run) => {
      const mine: RunDetail['firings'] = {};
      for (const f of firings) {
        if (f.runId !== run.id) continue;
        const job = f.jobId ? jobs.get(f.jobId) : undefined;
        mine[f.phase] = job ? { ...f, job } : f;
      }
      return { run, firings: mine };
    });
  }

  /** Devices and profile exist; no conflict with another broadcast. */
  private async check(spec: ScheduleSpec, selfId: string | undefined, now: number): Promise<void> {
    if (spec.deviceIds) {
      const { missing } = await this.deps.actions.resolve({ deviceIds: spec.deviceIds });
      if (missing.length) {
        const shown =
          missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
        throw new BadRequestError(`unknown device ids: ${shown}`, [
          { field: 'body/deviceIds', reason: `unknown: ${shown}` },
        ]);
      }
    }
    if (spec.profile && !(await this.deps.profileExists(spec.profile)))
      throw new ApiError(422, 'unknown_profile', `profile ${JSON.stringify(spec.profile)} does not exist`);
    await checkConflicts(spec, selfId, await this.deps.repo.list(), this.resolveIds, now);
  }

  private readonly resolveIds = async (target: Pick<ScheduleSpec, 'selector' | 'deviceIds'>) =>
    (await this.deps.actions.resolve(target)).devices.map((d) => d.id);
}

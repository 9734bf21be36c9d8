/**
 * What the API shows of schedules, their runs and the calendar. Configs go through maskConfig:
 * stream keys and other secrets are never returned.
 */
import { type Static, Type } from '@sinclair/typebox';
import { JobCounts } from '../fleet/jobs/model.js';
import {
  MissedRunPolicy,
  PHASES,
  type Phase,
  PrerollFailure,
  Recurrence,
  RUN_STATES,
  type RunRecord,
  type ScheduleRecord,
} from '../fleet/schedules/model.js';
import type { CalendarEntry, RunDetail } from '../fleet/schedules/schedules.js';
import { iso, type Occurrence } from '../fleet/schedules/timing.js';
import { ConfigView, maskConfig } from './views.js';

export const OccurrenceView = Type.Object({
  prerollAt: Type.String({ description: 'Config applied and devices checked.' }),
  start: Type.String(),
  end: Type.String(),
  stopAt: Type.String({ description: 'End plus post-roll: when the stop is sent.' }),
});

export const ScheduleView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    selector: Type.Optional(Type.String()),
    deviceIds: Type.Optional(Type.Array(Type.String())),
    profile: Type.Optional(Type.String()),
    config: Type.Optional(Type.Ref(ConfigView)),
    start: Type.Optional(Type.String()),
    end: Type.Optional(Type.String()),
    recurrence: Type.Optional(Recurrence),
    enabled: Type.Boolean(),
    options: Type.Object({
      preRollMinutes: Type.Integer(),
      postRollMinutes: Type.Integer(),
      missedRunPolicy: MissedRunPolicy,
      graceMinutes: Type.Optional(Type.Integer()),
      allowOverlap: Type.Boolean(),
    }),
    next: Type.Optional(OccurrenceView),
    version: Type.Integer(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { $id: 'Schedule', title: 'Schedule' },
);

const JobSummary = Type.Object({
  id: Type.String(),
  action: Type.String(),
  state: Type.String(),
  counts: JobCounts,
});

const PhaseView = Type.Object({
  state: Type.Union([
    Type.Literal('claimed'),
    Type.Literal('done'),
    Type.Literal('skipped'),
    Type.Literal('failed'),
  ]),
  /** The service process that fired it. */
  firedBy: Type.String(),
  firedAt: Type.Optional(Type.String()),
  lateMs: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
  job: Type.Optional(JobSummary),
});

const RunOutcome = Type.Union(
  ['in_progress', 'succeeded', 'problems', 'skipped', 'failed'].map((o) => Type.Literal(o)),
  {
    description:
      '`problems`: pre-roll found devices not ready, or a job did not succeed on every device (see phases).',
  },
);

export const RunView = Type.Object(
  {
    id: Type.String(),
    scheduleId: Type.String(),
    ...OccurrenceView.properties,
    state: Type.Union(RUN_STATES.map((s) => Type.Literal(s))),
    outcome: RunOutcome,
    reason: Type.Optional(Type.String()),
    /** Devices the run acts on (fixed at pre-roll). */
    devices: Type.Integer(),
    prerollFailures: Type.Optional(
      Type.Object({ count: Type.Integer(), devices: Type.Array(PrerollFailure) }),
    ),
    phases: Type.Object({
      preroll: Type.Optional(PhaseView),
      start: Type.Optional(PhaseView),
      stop: Type.Optional(PhaseView),
    }),
    createdAt: Type.String(),
  },
  { $id: 'ScheduleRun', title: 'ScheduleRun' },
);

export const CalendarEntryView = Type.Object({
  scheduleId: Type.String(),
  schedule: Type.String(),
  ...OccurrenceView.properties,
  run: Type.Optional(Type.Object({ id: Type.String(), state: Type.String() })),
});

export function occurrenceView(o: Occurrence) {
  return { prerollAt: iso(o.prerollAt), start: iso(o.start), end: iso(o.end), stopAt: iso(o.stopAt) };
}

export function scheduleView(s: ScheduleRecord, next: Occurrence | undefined) {
  const config = maskConfig(s.config);
  return {
    id: s.id,
    name: s.name,
    ...(s.selector !== undefined ? { selector: s.selector } : {}),
    ...(s.deviceIds ? { deviceIds: [...s.deviceIds] } : {}),
    ...(s.profile !== undefined ? { profile: s.profile } : {}),
    ...(config ? { config } : {}),
    ...(s.start !== undefined ? { start: s.start, end: s.end! } : {}),
    ...(s.recurrence ? { recurrence: s.recurrence } : {}),
    enabled: s.enabled,
    options: s.options,
    ...(next ? { next: occurrenceView(next) } : {}),
    version: s.version,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

export function runView({ run, firings }: RunDetail) {
  const phases: Partial<Record<Phase, Static<typeof PhaseView>>> = {};
  for (const phase of PHASES) {
    const f = firings[phase];
    if (!f) continue;
    phases[phase] = {
      state: f.state,
      firedBy: f.owner,
      ...(f.firedAt ? { firedAt: f.firedAt } : {}),
      ...(f.lateMs !== undefined ? { lateMs: f.lateMs } : {}),
      ...(f.error ? { error: f.error } : {}),
      ...(f.job
        ? { job: { id: f.job.id, action: f.job.action, state: f.job.state, counts: f.job.counts } }
        : {}),
    };
  }
  return {
    id: run.id,
    scheduleId: run.scheduleId,
    prerollAt: run.prerollAt,
    start: run.occurrence,
    end: run.endsAt,
    stopAt: run.stopAt,
    state: run.state,
    outcome: outcomeOf(run, firings),
    ...(run.reason ? { reason: run.reason } : {}),
    devices: run.deviceIds?.length ?? 0,
    ...(run.prerollFailures
      ? { prerollFailures: { count: run.prerollFailures.count, devices: [...run.prerollFailures.devices] } }
      : {}),
    phases,
    createdAt: run.createdAt,
  };
}

export function calendarView(e: CalendarEntry) {
  return {
    scheduleId: e.schedule.id,
    schedule: e.schedule.name,
    ...occurrenceView(e.occurrence),
    ...(e.run ? { run: { id: e.run.id, state: e.run.state } } : {}),
  };
}

function outcomeOf(run: RunRecord, firings: RunDetail['firings']) {
  if (run.state === 'skipped' || run.state === 'failed') return run.state;
  const jobs = Object.values(firings).flatMap((f) => (f?.job ? [f.job] : []));
  const unfinished = jobs.some((j) => j.state === 'queued' || j.state === 'running');
  const troubled =
    !!run.prerollFailures || jobs.some((j) => !['queued', 'running', 'succeeded'].includes(j.state));
  if (troubled) return 'problems';
  return run.state === 'ended' && !unfinished ? 'succeeded' : 'in_progress';
}

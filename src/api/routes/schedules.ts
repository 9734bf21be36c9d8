/** /v1/schedules and /v1/calendar: scheduled broadcasts, their runs and upcoming occurrences. */

import { Type } from '@sinclair/typebox';
import { ScheduleCreate, SchedulePatch } from '../../fleet/schedules/model.js';
import { CALENDAR_MAX_DAYS, type Schedules } from '../../fleet/schedules/schedules.js';
import { EXAMPLE_SCHEDULE, EXAMPLE_SCHEDULE_PATCH, withExamples } from '../examples.js';
import {
  CalendarEntryView,
  calendarView,
  OccurrenceView,
  occurrenceView,
  RunView,
  runView,
  ScheduleView,
  scheduleView,
} from '../schedule-views.js';
import type { Api } from '../server.js';
import { errors, etag, IdParams, ifMatch } from './common.js';

export function scheduleRoutes(app: Api, schedules: Schedules): void {
  const tags = ['schedules'];
  const view = (s: Awaited<ReturnType<Schedules['get']>>) => scheduleView(s, schedules.upcoming(s));

  app.post(
    '/v1/schedules',
    {
      config: { permission: 'schedules:manage' },
      schema: {
        operationId: 'createSchedule',
        summary: 'Schedule a broadcast (one-shot or recurring) on a set of devices',
        description:
          'At pre-roll the config (profile or config) is applied and every device checked; problems are recorded on the run and sent as a `schedule.preroll_failed` event before the start. At the start a `start` job runs, at the end (plus post-roll) a `stop` job. Refused with 409 when a device is in another enabled schedule whose runs overlap, unless `options.allowOverlap`.',
        tags,
        body: withExamples(ScheduleCreate, EXAMPLE_SCHEDULE),
        response: { 201: Type.Ref(ScheduleView), ...errors(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const schedule = await schedules.create(request.body);
      reply
        .code(201)
        .header('etag', etag(schedule.version))
        .header('location', `/v1/schedules/${schedule.id}`);
      return view(schedule);
    },
  );

  app.get(
    '/v1/schedules',
    {
      config: { permission: 'schedules:read' },
      schema: {
        operationId: 'listSchedules',
        summary: 'Schedules, by name',
        tags,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref(ScheduleView)) }) },
      },
    },
    async () => ({ items: (await schedules.list()).map(view) }),
  );

  app.get(
    '/v1/schedules/:id',
    {
      config: { permission: 'schedules:read' },
      schema: {
        operationId: 'getSchedule',
        summary: 'A schedule and its next run',
        tags,
        params: IdParams,
        response: { 200: Type.Ref(ScheduleView), ...errors(404) },
      },
    },
    async (request, reply) => {
      const schedule = await schedules.get(request.params.id);
      reply.header('etag', etag(schedule.version));
      return view(schedule);
    },
  );

  app.patch(
    '/v1/schedules/:id',
    {
      config: { permission: 'schedules:manage' },
      schema: {
        operationId: 'updateSchedule',
        summary: 'Change a schedule (runs already under way keep their times)',
        tags,
        params: IdParams,
        body: withExamples(SchedulePatch, EXAMPLE_SCHEDULE_PATCH),
        response: { 200: Type.Ref(ScheduleView), ...errors(400, 404, 409, 412, 422) },
      },
    },
    async (request, reply) => {
      const schedule = await schedules.update(request.params.id, request.body, ifMatch(request));
      reply.header('etag', etag(schedule.version));
      return view(schedule);
    },
  );

  app.delete(
    '/v1/schedules/:id',
    {
      config: { permission: 'schedules:manage' },
      schema: {
        operationId: 'deleteSchedule',
        summary: 'Delete a schedule (refused while one of its runs is live)',
        tags,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(404, 409) },
      },
    },
    async (request, reply) => {
      await schedules.delete(request.params.id);
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/v1/schedules/:id/runs',
    {
      config: { permission: 'schedules:read' },
      schema: {
        operationId: 'listScheduleRuns',
        summary: 'Runs of a schedule, newest first, with each phase and its job',
        tags,
        params: IdParams,
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          before: Type.Optional(
            Type.String({ format: 'date-time', description: 'Only runs that start before this instant.' }),
          ),
        }),
        response: { 200: Type.Object({ items: Type.Array(Type.Ref(RunView)) }), ...errors(400, 404) },
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      return { items: (await schedules.runs(request.params.id, limit, before)).map(runView) };
    },
  );

  app.get(
    '/v1/schedules/:id/next',
    {
      config: { permission: 'schedules:read' },
      schema: {
        operationId: 'previewScheduleRuns',
        summary: 'The next runs of a schedule (pre-roll, start, end, stop)',
        tags,
        params: IdParams,
        querystring: Type.Object({ count: Type.Integer({ minimum: 1, maximum: 100, default: 5 }) }),
        response: { 200: Type.Object({ items: Type.Array(OccurrenceView) }), ...errors(400, 404) },
      },
    },
    async (request) => ({
      items: (await schedules.next(request.params.id, request.query.count)).map(occurrenceView),
    }),
  );

  app.get(
    '/v1/calendar',
    {
      config: { permission: 'schedules:read' },
      schema: {
        operationId: 'getCalendar',
        summary: 'Every enabled schedule’s runs in a time window, by start',
        description: `The window may span at most ${CALENDAR_MAX_DAYS} days. Runs already fired carry their run id and state.`,
        tags,
        querystring: Type.Object({
          from: Type.String({ format: 'date-time' }),
          to: Type.String({ format: 'date-time' }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(CalendarEntryView),
            truncated: Type.Boolean({ description: 'More runs fall in the window than are listed.' }),
          }),
          ...errors(400),
        },
      },
    },
    async (request) => {
      const { entries, truncated } = await schedules.calendar(request.query.from, request.query.to);
      return { items: entries.map(calendarView), truncated };
    },
  );
}

/** /v1/jobs: one action on many devices, with dry-run, canary, failure budget, cancel, idempotency. */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { JobEngine } from '../../fleet/jobs/engine.js';
import { JobRecord, JobRequest, JobState, TaskRecord, TaskState } from '../../fleet/jobs/model.js';
import type { JobRepo } from '../../fleet/jobs/repo.js';
import { noteAudit } from '../../security/audit-trail.js';
import { requirePermission, scopeOf } from '../../security/auth.js';
import { NotFoundError } from '../errors.js';
import { EXAMPLE_JOBS, withExamples } from '../examples.js';
import { pageOf } from '../schemas.js';
import type { Api } from '../server.js';
import { errors, IdParams } from './common.js';

export function jobRoutes(app: Api, deps: { engine: JobEngine; repo: JobRepo }): void {
  const { engine, repo } = deps;
  const tags = ['jobs'];
  /** The job of `:id`, if it exists for the caller (a scoped key sees only jobs within its scope). */
  const visibleJob = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const job = await repo.get(request.params.id);
    const scope = scopeOf(request);
    if (!job || (scope && !(await repo.inScope(job.id, scope))))
      throw new NotFoundError('job', request.params.id);
    return job;
  };

  app.post(
    '/v1/jobs',
    {
      config: { permission: 'devices:operate' },
      schema: {
        operationId: 'createJob',
        summary: 'Run an action (apply, start, stop, reboot) on many devices',
        description:
          'Returns at once with the job; follow it with GET /v1/jobs/{id} or the event stream. Send an `Idempotency-Key` header to make a retried request return the original job instead of starting a second one.',
        tags,
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        }),
        body: withExamples(JobRequest, ...EXAMPLE_JOBS),
        response: { 202: Type.Ref(JobRecord), ...errors(400, 404, 422) },
      },
    },
    async (request, reply) => {
      if (request.body.action === 'reboot') requirePermission(request, 'devices:reboot');
      const key = request.headers['idempotency-key'];
      const scope = scopeOf(request);
      const job = await engine.submit(request.body, {
        ...(key ? { idempotencyKey: key } : {}),
        ...(request.principal ? { createdBy: request.principal.keyId } : {}),
        ...(scope ? { scope } : {}),
      });
      noteAudit(request, { jobId: job.id, detail: { action: job.action, devices: job.counts.total } });
      reply.code(202).header('location', `/v1/jobs/${job.id}`);
      return job;
    },
  );

  app.get(
    '/v1/jobs',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'listJobs',
        summary: 'Jobs, newest first',
        tags,
        querystring: Type.Object({
          state: Type.Optional(JobState),
          cursor: Type.Optional(Type.String({ maxLength: 1024 })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        }),
        response: { 200: pageOf(Type.Ref(JobRecord)), ...errors(400) },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      return repo.list({ ...request.query, ...(scope ? { scope } : {}) });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'getJob',
        summary: 'A job: state, counts per outcome, timings, and its first per-device results',
        tags,
        params: IdParams,
        querystring: Type.Object({
          results: Type.Union([Type.Literal('failed'), Type.Literal('all'), Type.Literal('none')], {
            default: 'failed',
          }),
        }),
        response: {
          200: Type.Object({
            job: Type.Ref(JobRecord),
            results: Type.Array(Type.Ref(TaskRecord)),
            moreResults: Type.Boolean(),
          }),
          ...errors(404),
        },
      },
    },
    async (request) => {
      const job = await visibleJob(request);
      if (request.query.results === 'none') return { job, results: [], moreResults: false };
      const page = await repo.tasks(job.id, {
        limit: 100,
        ...(request.query.results === 'failed' ? { state: 'failed' as const } : {}),
      });
      return { job, results: page.items, moreResults: !!page.nextCursor };
    },
  );

  app.get(
    '/v1/jobs/:id/tasks',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'listJobTasks',
        summary: 'Per-device results of a job (attempt history, error type and message, changes)',
        tags,
        params: IdParams,
        querystring: Type.Object({
          state: Type.Optional(TaskState),
          cursor: Type.Optional(Type.String({ maxLength: 1024 })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
        response: { 200: pageOf(Type.Ref(TaskRecord)), ...errors(400, 404) },
      },
    },
    async (request) => {
      await visibleJob(request);
      return repo.tasks(request.params.id, request.query);
    },
  );

  app.post(
    '/v1/jobs/:id/cancel',
    {
      config: { permission: 'devices:operate' },
      schema: {
        operationId: 'cancelJob',
        summary: 'Stop scheduling devices; operations in flight finish cleanly',
        tags,
        params: IdParams,
        response: { 202: Type.Ref(JobRecord), ...errors(404) },
      },
    },
    async (request, reply) => {
      await visibleJob(request);
      noteAudit(request, { jobId: request.params.id });
      const job = await engine.cancel(request.params.id);
      if (!job) throw new NotFoundError('job', request.params.id);
      reply.code(202);
      return job;
    },
  );
}

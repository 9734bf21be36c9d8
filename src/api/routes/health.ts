/** Liveness and metrics. */
import { Type } from '@sinclair/typebox';
import type { Metrics } from '../../metrics.js';
import type { Api } from '../server.js';

export function healthRoutes(
  app: Api,
  deps: { metrics: Metrics; check: () => Promise<Record<string, unknown>> },
): void {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'health',
        summary: 'Service health (store reachable)',
        tags: ['service'],
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            details: Type.Record(Type.String(), Type.Unknown()),
          }),
          503: Type.Object({
            status: Type.Literal('degraded'),
            details: Type.Record(Type.String(), Type.Unknown()),
          }),
        },
      },
    },
    async (_request, reply) => {
      try {
        return { status: 'ok' as const, details: await deps.check() };
      } catch (err) {
        reply.code(503);
        return { status: 'degraded' as const, details: { error: (err as Error).message } };
      }
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['service'],
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}

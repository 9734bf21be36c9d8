/** Liveness and metrics. */
import { Type } from '@sinclair/typebox';
import type { PublicEndpoint } from '../../config.js';
import type { Metrics } from '../../metrics.js';
import type { Api } from '../server.js';

export function healthRoutes(
  app: Api,
  deps: {
    metrics: Metrics;
    check: () => Promise<Record<string, unknown>>;
    /** Endpoints that answer without an API key (PUBLIC_ENDPOINTS). */
    publicEndpoints: ReadonlySet<PublicEndpoint>;
  },
): void {
  const access = (endpoint: PublicEndpoint) =>
    deps.publicEndpoints.has(endpoint) ? 'public' : 'service:read';
  app.get(
    '/healthz',
    {
      config: { permission: access('healthz') },
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
      config: { permission: access('metrics') },
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

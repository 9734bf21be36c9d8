/** GET /v1/audit: the audit log of state-changing requests, newest first. */
import { Type } from '@sinclair/typebox';
import type { AuditLog } from '../../store/audit.js';
import { pageOf } from '../schemas.js';
import type { Api } from '../server.js';
import { AuditEntryView } from '../views.js';
import { errors } from './common.js';

const isoTime = { format: 'date-time', maxLength: 64 } as const;

export function auditRoutes(app: Api, log: AuditLog): void {
  app.get(
    '/v1/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        operationId: 'listAudit',
        summary: 'Audit log: every state-changing request, who made it, its outcome (newest first)',
        tags: ['audit'],
        querystring: Type.Object(
          {
            key: Type.Optional(Type.String({ maxLength: 128, description: 'API key id.' })),
            device: Type.Optional(
              Type.String({
                maxLength: 128,
                description: 'Device id: requests that named it, or started a job that included it.',
              }),
            ),
            job: Type.Optional(Type.String({ maxLength: 128 })),
            since: Type.Optional(Type.String({ ...isoTime, description: 'From this time (ISO 8601).' })),
            until: Type.Optional(Type.String({ ...isoTime, description: 'Up to this time (ISO 8601).' })),
            cursor: Type.Optional(Type.String({ maxLength: 1024 })),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(Type.Ref(AuditEntryView)), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { key, device, job, since, until, ...page } = request.query;
      return log.list({
        ...page,
        ...(key ? { keyId: key } : {}),
        ...(device ? { deviceId: device } : {}),
        ...(job ? { jobId: job } : {}),
        // Stored times are ISO UTC; compare like with like whatever offset was given.
        ...(since ? { since: new Date(since).toISOString() } : {}),
        ...(until ? { until: new Date(until).toISOString() } : {}),
      });
    },
  );
}

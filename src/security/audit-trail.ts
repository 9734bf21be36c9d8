/**
 * Writes the audit log: every state-changing request (POST, PUT, PATCH, DELETE on a known route),
 * refused or not, is recorded before its reply leaves — who, what, which devices, when, the
 * outcome and the job it started. Routes add what only they know with `noteAudit`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../store/audit.js';

export interface AuditNotes {
  deviceIds?: readonly string[];
  jobId?: string;
  /** A few facts about the outcome (counts, ids made). Never request bodies: they hold secrets. */
  detail?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditNotes?: AuditNotes;
  }
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Adds to what the audit entry of this request records. */
export function noteAudit(request: FastifyRequest, notes: AuditNotes): void {
  const current = request.auditNotes ?? {};
  request.auditNotes = {
    ...current,
    ...notes,
    ...(notes.detail ? { detail: { ...current.detail, ...notes.detail } } : {}),
  };
}

export function installAuditTrail(app: FastifyInstance, log: AuditLog): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (!STATE_CHANGING.has(request.method) || !route) return payload;
    const notes = request.auditNotes ?? {};
    const params = request.params as Record<string, unknown> | undefined;
    // Routes under /v1/devices/:id name their device in the path.
    const pathDevice =
      route.startsWith('/v1/devices/:id') && typeof params?.id === 'string' ? [params.id] : undefined;
    const deviceIds = notes.deviceIds ?? pathDevice;
    const principal = request.principal;
    try {
      await log.append({
        at: new Date().toISOString(),
        ...(principal ? { keyId: principal.keyId, keyName: principal.keyName } : {}),
        method: request.method,
        route,
        path: request.url.split('?')[0]!.slice(0, 2048),
        status: reply.statusCode,
        ...(deviceIds?.length ? { deviceIds } : {}),
        ...(notes.jobId ? { jobId: notes.jobId } : {}),
        ...(notes.detail ? { detail: notes.detail } : {}),
        ip: request.ip,
      });
    } catch (err) {
      // The change has happened; failing the reply would hide that from the caller.
      request.log.error({ err, method: request.method, route }, 'audit log write failed');
    }
    return payload;
  });
}

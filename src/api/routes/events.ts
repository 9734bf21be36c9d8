/**
 * GET /v1/events: Server-Sent Events. Filters by event type and device selector; resumes after
 * `Last-Event-ID` (header) or `since` (query) from the event log without losing an event.
 */
import { Type } from '@sinclair/typebox';
import type { EventFeed } from '../../fleet/event-feed.js';
import { FLEET_EVENT_TYPES, type FleetEventType } from '../../fleet/events.js';
import { selectorOf } from '../../fleet/inventory.js';
import { type Labelled, matches, type Selector } from '../../fleet/selector.js';
import { scopeOf } from '../../security/auth.js';
import type { StoredEvent } from '../../store/events.js';
import { BadRequestError } from '../errors.js';
import type { Api } from '../server.js';
import { errors } from './common.js';

const EVENT_TYPES: readonly string[] = FLEET_EVENT_TYPES;

/** A client that stops reading is dropped once this much is queued for it; it can resume by id. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

export function eventRoutes(
  app: Api,
  deps: {
    feed: EventFeed;
    deviceOf: (id: string) => Labelled | undefined;
    /** Whether a job lies wholly within a scope (for keys limited to some devices). */
    jobInScope: (jobId: string, scope: Selector) => Promise<boolean>;
  },
): void {
  app.get(
    '/v1/events',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'streamEvents',
        summary: 'Live fleet events (Server-Sent Events), resumable with Last-Event-ID',
        description: `Event types: ${EVENT_TYPES.join(', ')}. Each message has \`id\`, \`event\` (the type) and JSON \`data\` { id, type, at, deviceId?, jobId?, scheduleId?, data }. Send \`Last-Event-ID\` (or \`since\`) to receive what was missed.`,
        tags: ['events'],
        produces: ['text/event-stream'],
        querystring: Type.Object({
          types: Type.Optional(
            Type.String({ maxLength: 512, description: 'Comma-separated event types; default all.' }),
          ),
          selector: Type.Optional(
            Type.String({
              maxLength: 2048,
              description:
                'Only events of devices matching this selector (plus fleet-wide events such as job progress).',
            }),
          ),
          since: Type.Optional(
            Type.Integer({ minimum: 0, description: 'Resume after this event id (like Last-Event-ID).' }),
          ),
        }),
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })) }),
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errors(400) },
      },
    },
    async (request, reply) => {
      const types = parseTypes(request.query.types);
      const selector = request.query.selector
        ? selectorOf(request.query.selector, 'querystring/selector')
        : undefined;
      const header = request.headers['last-event-id'];
      const resumeFrom = header !== undefined ? Number(header) : request.query.since;
      const wanted = (e: StoredEvent) => {
        if (types && !types.includes(e.type)) return false;
        if (!selector) return true;
        if (!e.deviceId) return true;
        const device = deps.deviceOf(e.deviceId);
        return !!device && matches(selector, device);
      };

      // HEAD (fastify answers it with this handler) gets the headers, not a stream that never ends.
      if (request.method === 'HEAD') {
        reply.type('text/event-stream; charset=utf-8');
        return '';
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      let lastId = resumeFrom ?? 0;
      let closed = false;
      // A scoped key sees events of its devices and of jobs wholly within its scope, nothing else.
      const scope = scopeOf(request);
      const jobVisible = new Map<string, Promise<boolean>>();
      const inScope = async (e: StoredEvent): Promise<boolean> => {
        if (!scope) return true;
        if (e.deviceId) {
          const device = deps.deviceOf(e.deviceId);
          return !!device && matches(scope, device);
        }
        if (!e.jobId) return false;
        let visible = jobVisible.get(e.jobId);
        if (!visible) {
          visible = deps.jobInScope(e.jobId, scope).catch(() => false);
          jobVisible.set(e.jobId, visible);
        }
        return visible;
      };
      // Scope checks may wait for the store; a chain keeps events in order meanwhile.
      let chain = Promise.resolve();
      const deliver = (e: StoredEvent): Promise<void> => {
        if (!scope) {
          send(e);
          return chain;
        }
        chain = chain.then(async () => {
          if (await inScope(e)) send(e);
        });
        return chain;
      };
      const send = (e: StoredEvent) => {
        if (closed || e.id <= lastId || !wanted(e)) return;
        lastId = e.id;
        const payload = {
          id: e.id,
          type: e.type,
          at: e.at,
          deviceId: e.deviceId,
          jobId: e.jobId,
          scheduleId: e.scheduleId,
          data: e.data,
        };
        raw.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(payload)}\n\n`);
        if (raw.writableLength > MAX_BUFFERED_BYTES) raw.destroy();
      };
      // Subscribe first and hold live events while the backlog is replayed, so nothing falls between.
      const held: StoredEvent[] = [];
      let replaying = resumeFrom !== undefined;
      const unsubscribe = deps.feed.subscribe((e) => {
        if (replaying) held.push(e);
        else void deliver(e);
      });
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
      const close = () => {
        closed = true;
        unsubscribe();
        clearInterval(heartbeat);
      };
      request.raw.on('close', close);
      raw.on('error', close);
      if (resumeFrom !== undefined) {
        try {
          for (;;) {
            const page = await deps.feed.replay(lastId, 1000, types);
            for (const e of page) await deliver(e);
            if (page.length < 1000 || closed) break;
          }
        } finally {
          replaying = false;
          for (const e of held) void deliver(e);
        }
      }
    },
  );
}

function parseTypes(text: string | undefined): FleetEventType[] | undefined {
  if (!text) return undefined;
  const types = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = types.filter((t) => !EVENT_TYPES.includes(t));
  if (unknown.length) {
    throw new BadRequestError(`querystring/types: unknown event type ${unknown.join(', ')}`, [
      { field: 'querystring/types', reason: `must be among ${EVENT_TYPES.join(', ')}` },
    ]);
  }
  return types as FleetEventType[];
}

/** /v1/devices: inventory, and the single-device convenience operations (one-device jobs). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { EncoderConfig } from '../../../drivers/contract.js';
import type { DeviceOperations, OperationOutcome } from '../../fleet/device-operations.js';
import { DeviceCreate, DevicePatchBody, type Inventory } from '../../fleet/inventory.js';
import { JobRecord, TaskRecord } from '../../fleet/jobs/model.js';
import { ObservedState } from '../../fleet/observed.js';
import type { StatusTracker } from '../../fleet/status-tracker.js';
import { ApiError, taskErrorReply } from '../errors.js';
import { pageOf } from '../schemas.js';
import type { Api } from '../server.js';
import { ConfigView, DeviceView, deviceView, maskConfig } from '../views.js';
import { errors, etag, IdParams, ifMatch, plainJsonReplies } from './common.js';

/** 10,000 rows of CSV are ~1 MB; JSON with labels a few MB. */
const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

export interface DeviceRouteDeps {
  readonly inventory: Inventory;
  readonly operations: DeviceOperations;
  readonly tracker: StatusTracker;
}

const DeviceListQuery = Type.Object({
  selector: Type.Optional(
    Type.String({ maxLength: 2048, description: 'Label selector, e.g. `site=berlin,vendor=teradek`.' }),
  ),
  vendor: Type.Optional(Type.String({ maxLength: 64 })),
  state: Type.Optional(
    Type.Union(
      ['idle', 'starting', 'streaming', 'stopping', 'error', 'unknown'].map((s) => Type.Literal(s)),
      {
        description: 'Last observed stream state.',
      },
    ),
  ),
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'Case-insensitive text in name or host.' }),
  ),
  sort: Type.Optional(
    Type.Union([
      Type.Literal('name'),
      Type.Literal('createdAt'),
      Type.Literal('vendor'),
      Type.Literal('host'),
    ]),
  ),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});

const WaitQuery = Type.Object({
  wait: Type.Integer({
    minimum: 0,
    maximum: 300,
    default: 30,
    description: 'Seconds to wait for the device before answering 202 with the job.',
  }),
});

const Outcome = Type.Object({
  job: Type.Ref(JobRecord),
  result: Type.Optional(Type.Ref(TaskRecord)),
  /** What the device reports after an apply (secrets masked). */
  config: Type.Optional(Type.Ref(ConfigView)),
});

const DeviceSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  vendor: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  labels: Type.Record(Type.String(), Type.String()),
  connectivity: Type.String(),
  stream: Type.String(),
  sync: Type.String(),
  alerts: Type.Integer(),
  /** Last time the device answered a poll (absent until it has). */
  lastSeen: Type.Optional(Type.String()),
  version: Type.Integer(),
});

export function deviceRoutes(app: Api, deps: DeviceRouteDeps): void {
  const { inventory, operations, tracker } = deps;
  const tags = ['devices'];

  app.post(
    '/v1/devices',
    {
      schema: {
        operationId: 'createDevice',
        summary: 'Add a device to the inventory (the device is not contacted)',
        tags,
        body: DeviceCreate,
        response: { 201: Type.Ref(DeviceView), ...errors(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const detail = await inventory.create(request.body);
      reply
        .code(201)
        .header('etag', etag(detail.device.version))
        .header('location', `/v1/devices/${detail.device.id}`);
      return deviceView(detail.device, detail);
    },
  );

  app.get(
    '/v1/devices',
    {
      schema: {
        operationId: 'listDevices',
        summary: 'List devices (cursor pages; never includes secrets)',
        tags,
        querystring: DeviceListQuery,
        response: { 200: pageOf(DeviceSummary), ...errors(400) },
      },
      ...plainJsonReplies,
    },
    async (request) => {
      const { q, ...query } = request.query;
      const page = await inventory.list({ ...query, ...(q ? { text: q } : {}) });
      return {
        items: page.items.map((d) => {
          const s = tracker.get(d.id);
          return {
            id: d.id,
            name: d.name,
            vendor: d.vendor,
            host: d.host,
            port: d.port,
            labels: d.labels,
            connectivity: s.connectivity,
            stream: s.stream,
            sync: s.sync,
            alerts: s.alerts.length,
            ...(s.lastSeen ? { lastSeen: s.lastSeen } : {}),
            version: d.version,
          };
        }),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    },
  );

  // The import takes the raw file (CSV or a JSON array) with a larger size limit, so it lives in
  // its own scope with its own body parsers.
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      ['text/csv', 'application/json', 'text/plain'],
      { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.post(
      '/v1/devices/import',
      {
        schema: {
          operationId: 'importDevices',
          summary: 'Bulk import up to 10,000 devices from CSV or a JSON array',
          description:
            'CSV header: `name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint` (name, vendor, host required; labels as `k=v;k2=v2`; empty port = vendor default). All rows or none: any problem imports nothing and every problem is reported with its row number. `mode=upsert` creates or updates by name; an empty cell keeps the stored value.',
          tags,
          querystring: Type.Object({
            mode: Type.Union([Type.Literal('create'), Type.Literal('upsert')], { default: 'create' }),
          }),
          consumes: ['text/csv', 'application/json'],
          body: Type.String({
            description: 'The CSV text, or a JSON array of device objects with the same fields.',
          }),
          response: {
            200: Type.Object({ rows: Type.Integer(), created: Type.Integer(), updated: Type.Integer() }),
            ...errors(400, 413, 415),
          },
        },
      },
      async (request) => {
        const csv = String(request.headers['content-type'] ?? '').startsWith('text/csv');
        return inventory.import(request.body, csv ? 'csv' : 'json', request.query.mode);
      },
    );
  });

  app.get(
    '/v1/devices/:id',
    {
      schema: {
        operationId: 'getDevice',
        summary: 'A device: inventory, effective desired config, observed status',
        tags,
        params: IdParams,
        response: { 200: Type.Ref(DeviceView), ...errors(404) },
      },
    },
    async (request, reply) => {
      const detail = await inventory.get(request.params.id);
      reply.header('etag', etag(detail.device.version));
      return deviceView(detail.device, { ...detail, status: tracker.get(detail.device.id) });
    },
  );

  app.patch(
    '/v1/devices/:id',
    {
      schema: {
        operationId: 'updateDevice',
        summary: 'Change a device (send If-Match with its ETag to refuse a stale write)',
        tags,
        params: IdParams,
        body: DevicePatchBody,
        response: { 200: Type.Ref(DeviceView), ...errors(400, 404, 409, 412, 422) },
      },
    },
    async (request, reply) => {
      const detail = await inventory.update(request.params.id, request.body, ifMatch(request));
      reply.header('etag', etag(detail.device.version));
      return deviceView(detail.device, { ...detail, status: tracker.get(detail.device.id) });
    },
  );

  app.delete(
    '/v1/devices/:id',
    {
      schema: {
        operationId: 'deleteDevice',
        summary: 'Remove a device from the inventory',
        tags,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(404) },
      },
    },
    async (request, reply) => {
      await inventory.remove(request.params.id);
      reply.code(204);
      return null;
    },
  );

  app.put(
    '/v1/devices/:id/config',
    {
      schema: {
        operationId: 'setDeviceConfig',
        summary:
          "Make this exactly the device's config and apply it; returns what the device reports afterwards",
        tags,
        params: IdParams,
        querystring: WaitQuery,
        body: EncoderConfig,
        response: { 200: Outcome, 202: Outcome, ...errors(400, 404, 422, 502, 504) },
      },
    },
    async (request, reply) => {
      const outcome = await operations.setConfig(request.params.id, request.body, request.query.wait * 1000);
      const done = await respond(outcome, reply);
      if (!done) return { job: outcome.job };
      const config = await operations.readConfig(request.params.id).catch(() => undefined);
      return { ...done, ...(config ? { config: maskConfig(config)! } : {}) };
    },
  );

  for (const action of ['start', 'stop', 'reboot'] as const) {
    app.post(
      `/v1/devices/:id/${action}`,
      {
        schema: {
          operationId: `${action}Device`,
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} one device (a one-device job the call waits for)`,
          tags,
          params: IdParams,
          querystring: WaitQuery,
          response: { 200: Outcome, 202: Outcome, ...errors(404, 422, 502, 504) },
        },
      },
      async (request, reply) => {
        const outcome = await operations.act(request.params.id, action, request.query.wait * 1000);
        return (await respond(outcome, reply)) ?? { job: outcome.job };
      },
    );
  }

  app.get(
    '/v1/devices/:id/status',
    {
      schema: {
        operationId: 'getDeviceStatus',
        summary: 'Observed status (last poll); `fresh=true` polls the device now',
        tags,
        params: IdParams,
        querystring: Type.Object({ fresh: Type.Boolean({ default: false }) }),
        response: { 200: Type.Ref(ObservedState), ...errors(404) },
      },
    },
    async (request) => {
      if (request.query.fresh) return operations.freshStatus(request.params.id);
      await inventory.mustExist(request.params.id);
      return tracker.get(request.params.id);
    },
  );
}

/** 200 with the result when the job ended well; 202 while it runs; the device's error otherwise. */
async function respond(outcome: OperationOutcome, reply: { code(status: number): unknown }) {
  if (outcome.pending) {
    reply.code(202);
    return undefined;
  }
  const { job, result } = outcome;
  if (result?.error && (result.state === 'failed' || result.state === 'canceled')) {
    const { status, body } = taskErrorReply(result.error);
    throw new ApiError(status, body.error, body.message, { ...(body.details as object), job, result });
  }
  return { job, ...(result ? { result } : {}) };
}

/** /v1/devices: inventory, and the single-device convenience operations (one-device jobs). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { DeviceOperations, OperationOutcome } from '../../fleet/device-operations.js';
import { DeviceCreate, DevicePatchBody, type Inventory } from '../../fleet/inventory.js';
import { DeviceConfigRequest, JobRecord, TaskRecord } from '../../fleet/jobs/model.js';
import { ObservedState } from '../../fleet/observed.js';
import type { StatusSamples } from '../../fleet/status-samples.js';
import type { StatusTracker } from '../../fleet/status-tracker.js';
import { noteAudit } from '../../security/audit-trail.js';
import { scopeOf } from '../../security/auth.js';
import type { StateChange } from '../../store/observed.js';
import { ApiError, taskErrorReply } from '../errors.js';
import {
  EXAMPLE_CONFIG,
  EXAMPLE_DEVICE,
  EXAMPLE_DEVICE_PATCH,
  EXAMPLE_IMPORT_CSV,
  EXAMPLE_IMPORT_JSON,
  withExamples,
} from '../examples.js';
import { pageOf } from '../schemas.js';
import type { Api } from '../server.js';
import { ConfigView, DeviceView, deviceView, maskConfig, tlsFlag } from '../views.js';
import { errors, etag, IdParams, ifMatch, plainJsonReplies } from './common.js';

/** 10,000 rows of CSV are ~1 MB; JSON with labels a few MB. */
const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

export interface DeviceRouteDeps {
  readonly inventory: Inventory;
  readonly operations: DeviceOperations;
  readonly tracker: StatusTracker;
  readonly samples: StatusSamples;
  /** Persisted connectivity/stream changes of a device, newest first. */
  readonly stateChanges: (deviceId: string, limit: number) => Promise<StateChange[]>;
}

const HistoryView = Type.Object({
  samples: Type.Array(
    Type.Object({
      at: Type.String(),
      stream: Type.String(),
      bitrateKbps: Type.Optional(Type.Number()),
    }),
    { description: 'Recent polls, oldest first (kept in memory: empty after a restart).' },
  ),
  changes: Type.Array(
    Type.Object({
      at: Type.String(),
      connectivity: Type.String(),
      stream: Type.String(),
      detail: Type.Optional(Type.String({ description: 'The error the device or the poll reported.' })),
    }),
    { description: 'Connectivity and stream changes, newest first.' },
  ),
});

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
  model: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'Model as the device reports it (exact).' }),
  ),
  firmware: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description:
        'Firmware version as the device reports it (exact), e.g. with `model` to find units due an update.',
    }),
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

/** One device in a list: what the API, the CLI and the dashboard show per device. */
export const DeviceSummary = Type.Object({
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
  /** Set when TLS certificate checks are off for this device. */
  tlsWarning: Type.Optional(Type.String()),
  /** Last polled video bitrate while streaming. */
  bitrateKbps: Type.Optional(Type.Number()),
  /** Last time the device answered a poll (absent until it has). */
  lastSeen: Type.Optional(Type.String()),
  /** As the unit reports them (absent until first read). */
  model: Type.Optional(Type.String()),
  firmware: Type.Optional(Type.String()),
  version: Type.Integer(),
});
export type DeviceSummary = Static<typeof DeviceSummary>;

export function deviceRoutes(app: Api, deps: DeviceRouteDeps): void {
  const { inventory, operations, tracker, samples } = deps;
  const tags = ['devices'];

  app.post(
    '/v1/devices',
    {
      config: { permission: 'devices:manage' },
      schema: {
        operationId: 'createDevice',
        summary: 'Add a device to the inventory (the device is not contacted)',
        tags,
        body: withExamples(DeviceCreate, EXAMPLE_DEVICE),
        response: { 201: Type.Ref(DeviceView), ...errors(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const detail = await inventory.create(request.body, scopeOf(request));
      noteAudit(request, { deviceIds: [detail.device.id] });
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
      config: { permission: 'fleet:read' },
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
      const page = await inventory.list({ ...query, ...(q ? { text: q } : {}) }, scopeOf(request));
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
            ...tlsFlag(d.tls),
            ...(s.bitrateKbps !== undefined ? { bitrateKbps: s.bitrateKbps } : {}),
            ...(s.lastSeen ? { lastSeen: s.lastSeen } : {}),
            ...(s.model ? { model: s.model } : {}),
            ...(s.firmware ? { firmware: s.firmware } : {}),
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
        config: { permission: 'devices:manage' },
        schema: {
          operationId: 'importDevices',
          summary: 'Bulk import up to 10,000 devices from CSV or a JSON array',
          description:
            'CSV header: `name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint` (name, vendor, host required; labels as `k=v;k2=v2`; empty port = vendor default). All rows or none: any problem imports nothing and every problem is reported with its row number. `mode=upsert` creates or updates by name; an empty cell keeps the stored value.',
          tags,
          querystring: Type.Object({
            mode: Type.Union([Type.Literal('create'), Type.Literal('upsert')], { default: 'create' }),
          }),
          body: {
            content: {
              'text/csv': { schema: Type.String({ examples: [EXAMPLE_IMPORT_CSV] }) },
              'application/json': {
                schema: Type.String({
                  description: 'A JSON array of device objects with the fields of POST /v1/devices.',
                  examples: [EXAMPLE_IMPORT_JSON],
                }),
              },
            },
          },
          response: {
            200: Type.Object({ rows: Type.Integer(), created: Type.Integer(), updated: Type.Integer() }),
            ...errors(400, 413, 415),
          },
        },
      },
      async (request) => {
        const csv = String(request.headers['content-type'] ?? '').startsWith('text/csv');
        // The scope's parser hands over the raw text for every content type it accepts.
        const result = await inventory.import(
          request.body as string,
          csv ? 'csv' : 'json',
          request.query.mode,
          scopeOf(request),
        );
        noteAudit(request, { detail: { created: result.created, updated: result.updated } });
        return result;
      },
    );
  });

  app.get(
    '/v1/devices/export',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'exportDevices',
        summary: 'The inventory as the import CSV (never with passwords)',
        description:
          'The columns of `POST /v1/devices/import`, one row per device in name order. Password cells are empty, which `mode=upsert` reads as "keep the stored one", so an export can be edited and imported back. Not carried: custom CA certificates (such a device gets empty TLS cells, which an upsert leaves as stored), config overrides, drift policy.',
        tags,
        querystring: Type.Object({ selector: DeviceListQuery.properties.selector }),
        produces: ['text/csv'],
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const csv = await inventory.exportCsv(request.query.selector, scopeOf(request));
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="devices.csv"');
      return csv;
    },
  );

  app.get(
    '/v1/devices/:id',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'getDevice',
        summary: 'A device: inventory, effective desired config, observed status',
        tags,
        params: IdParams,
        response: { 200: Type.Ref(DeviceView), ...errors(404) },
      },
    },
    async (request, reply) => {
      const detail = await inventory.get(request.params.id, scopeOf(request));
      reply.header('etag', etag(detail.device.version));
      return deviceView(detail.device, { ...detail, status: tracker.get(detail.device.id) });
    },
  );

  app.patch(
    '/v1/devices/:id',
    {
      config: { permission: 'devices:manage' },
      schema: {
        operationId: 'updateDevice',
        summary: 'Change a device (send If-Match with its ETag to refuse a stale write)',
        tags,
        params: IdParams,
        body: withExamples(DevicePatchBody, EXAMPLE_DEVICE_PATCH),
        response: { 200: Type.Ref(DeviceView), ...errors(400, 404, 409, 412, 422) },
      },
    },
    async (request, reply) => {
      const detail = await inventory.update(
        request.params.id,
        request.body,
        ifMatch(request),
        scopeOf(request),
      );
      reply.header('etag', etag(detail.device.version));
      return deviceView(detail.device, { ...detail, status: tracker.get(detail.device.id) });
    },
  );

  app.delete(
    '/v1/devices/:id',
    {
      config: { permission: 'devices:manage' },
      schema: {
        operationId: 'deleteDevice',
        summary: 'Remove a device from the inventory',
        tags,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(404) },
      },
    },
    async (request, reply) => {
      await inventory.remove(request.params.id, scopeOf(request));
      reply.code(204);
      return null;
    },
  );

  app.put(
    '/v1/devices/:id/config',
    {
      config: { permission: 'devices:operate' },
      schema: {
        operationId: 'setDeviceConfig',
        summary:
          "Make this exactly the device's config and apply it; returns what the device reports afterwards",
        tags,
        params: IdParams,
        querystring: WaitQuery,
        body: withExamples(DeviceConfigRequest, EXAMPLE_CONFIG),
        response: { 200: Outcome, 202: Outcome, ...errors(400, 404, 422, 502, 504) },
      },
    },
    async (request, reply) => {
      await inventory.get(request.params.id, scopeOf(request));
      const outcome = await operations.setConfig(
        request.params.id,
        request.body,
        request.query.wait * 1000,
        request.principal?.keyId,
      );
      noteAudit(request, { jobId: outcome.job.id });
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
        config: { permission: action === 'reboot' ? 'devices:reboot' : 'devices:operate' },
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
        await inventory.get(request.params.id, scopeOf(request));
        const outcome = await operations.act(
          request.params.id,
          action,
          request.query.wait * 1000,
          request.principal?.keyId,
        );
        noteAudit(request, { jobId: outcome.job.id });
        return (await respond(outcome, reply)) ?? { job: outcome.job };
      },
    );
  }

  app.get(
    '/v1/devices/:id/history',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'getDeviceHistory',
        summary: 'Recent bitrate samples and the last state changes (with errors) of a device',
        tags,
        params: IdParams,
        querystring: Type.Object({ changes: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
        response: { 200: HistoryView, ...errors(404) },
      },
    },
    async (request) => {
      const { device } = await inventory.get(request.params.id, scopeOf(request));
      const changes = await deps.stateChanges(device.id, request.query.changes);
      return {
        samples: samples.get(device.id),
        changes: changes.map(({ deviceId: _id, ...change }) => change),
      };
    },
  );

  app.get(
    '/v1/devices/:id/status',
    {
      config: { permission: 'fleet:read' },
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
      // A scoped key may only see devices in its scope; otherwise existence is enough (cheap).
      const scope = scopeOf(request);
      if (scope) await inventory.get(request.params.id, scope);
      else await inventory.mustExist(request.params.id);
      if (request.query.fresh) return operations.freshStatus(request.params.id);
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

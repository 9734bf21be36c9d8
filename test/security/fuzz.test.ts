/**
 * Property-based fuzzing from the route schemas: 10,000 malformed requests across every route —
 * unknown or wrongly typed fields, broken JSON, wrong content types, oversized ids, bad query
 * strings and headers, each request carrying at least one defect its route must refuse. No reply
 * is a 5xx, the service keeps running, and the stored data is exactly what it was (the audit log
 * records each refused state-changing request, and nothing else is written).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

const TABLES = [
  'devices',
  'device_labels',
  'profiles',
  'profile_versions',
  'jobs',
  'job_tasks',
  'webhooks',
  'webhook_deliveries',
  'api_keys',
  'device_observed',
] as const; // (the event log is written behind the seeding job's events; jobs and tasks cover it)

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

type Route = { method: string; url: string; schema?: Record<string, any> };

/** Values of the wrong type for a schema, or outside its bounds. */
function wrongValue(schema: any): fc.Arbitrary<unknown> {
  if (schema?.type === 'integer' || schema?.type === 'number') {
    // Text that is no number at all (an empty value would be coerced to 0), or one out of range.
    const outOfRange = [
      ...(schema.minimum !== undefined ? [String(schema.minimum - 1)] : []),
      ...(schema.maximum !== undefined ? [String(schema.maximum + 1)] : []),
      '1.5',
    ];
    return fc.oneof(
      fc.string({ maxLength: 12 }).map((s) => `x${s}`),
      fc.constantFrom(...outOfRange),
    );
  }
  if (schema?.type === 'boolean') return fc.constantFrom('maybe', '2', 'yes please');
  if (schema?.anyOf || schema?.enum) return fc.string({ minLength: 1, maxLength: 12 }).map((s) => `x${s}`);
  return fc.constant('y'.repeat((schema?.maxLength ?? 4096) + 1));
}

/** A request to `route` with random field values and at least one defect the route must refuse. */
function malformed(route: Route, ids: Record<string, string>): fc.Arbitrary<FuzzRequest> {
  const { schema = {} } = route;
  const bodySchema = schema.body;
  const query = schema.querystring;
  const hasParams = route.url.includes(':');
  const isSse = route.url === '/v1/events';

  const idArb = fc.oneof(
    fc.constantFrom(...Object.values(ids)),
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ minLength: 129, maxLength: 300 }),
    fc.string({ minLength: 1, maxLength: 128 }),
  );
  const pathArb = hasParams
    ? idArb.map((id) => route.url.replace(/:\w+/g, encodeURIComponent(id)))
    : fc.constant(route.url);

  const queryProps = Object.keys(query?.properties ?? {});
  const validQuery = fc.constant<Record<string, string>>({});
  const badQuery: fc.Arbitrary<Record<string, string>> = fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }).map((k) => ({ [`zz${k}`]: '1' })),
    ...(queryProps.length
      ? [
          fc
            .constantFrom(...queryProps)
            .chain((k) => wrongValue(query.properties[k]).map((v) => ({ [k]: String(v) }))),
        ]
      : []),
  );

  const bodyProps = Object.keys(bodySchema?.properties ?? {});
  const randomFields = fc.record(
    Object.fromEntries(
      bodyProps.map((k) => [k, fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })]),
    ),
  );
  const badBody: fc.Arbitrary<{ payload: string; type: string }> = fc.oneof(
    // Declared fields with random values, plus one the schema does not know.
    fc
      .tuple(randomFields, fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }))
      .map(([fields, k, v]) => ({
        payload: JSON.stringify({ ...fields, [`zz${k}`]: v }),
        type: 'application/json',
      })),
    fc
      .oneof(
        fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
        fc.integer(),
        fc.string(),
        fc.constant(null),
      )
      .map((v) => ({ payload: JSON.stringify(v), type: 'application/json' })),
    fc.string({ maxLength: 40 }).map((s) => ({ payload: `{"${s}`, type: 'application/json' })),
    fc.jsonValue().map((v) => ({ payload: JSON.stringify(v), type: 'application/x-www-form-urlencoded' })),
  );

  const headerDefects: fc.Arbitrary<Record<string, string>>[] = [];
  if (schema.headers?.properties?.['idempotency-key'])
    headerDefects.push(fc.constant({ 'idempotency-key': 'k'.repeat(201) }));
  if (schema.headers?.properties?.['last-event-id'])
    headerDefects.push(fc.string({ minLength: 1, maxLength: 10 }).map((s) => ({ 'last-event-id': `x${s}` })));

  // The defects this route has; at least one is always applied.
  const defects: fc.Arbitrary<Partial<FuzzRequest> & { query?: Record<string, string> }>[] = [];
  if (hasParams && !isSse)
    defects.push(
      fc
        .string({ minLength: 129, maxLength: 260 })
        .map((id) => ({ url: route.url.replace(/:\w+/g, encodeURIComponent(id)) })),
    );
  if (query) defects.push(badQuery.map((q) => ({ query: q })));
  if (bodySchema && bodySchema.type === 'object')
    defects.push(badBody.map(({ payload, type }) => ({ payload, headers: { 'content-type': type } })));
  if (bodySchema && bodySchema.type === 'string')
    defects.push(fc.constant({ payload: 'a,b', headers: { 'content-type': 'application/xml' } }));
  for (const h of headerDefects) defects.push(h.map((headers) => ({ headers })));
  if (!defects.length) defects.push(badQuery.map((q) => ({ query: q }))); // read-only routes without inputs

  return fc
    .tuple(pathArb, isSse ? badQuery : fc.oneof(validQuery, badQuery), fc.oneof(...defects))
    .map(([path, q, defect]) => {
      const url = defect.url ?? path;
      const search = new URLSearchParams({ ...q, ...defect.query }).toString();
      return {
        method: route.method,
        url: search ? `${url}?${search}` : url,
        headers: defect.headers ?? {},
        ...(defect.payload !== undefined ? { payload: defect.payload } : {}),
      };
    });
}

describe('fuzzing every route with malformed requests', () => {
  let svc: TestService;
  const ids: Record<string, string> = {};

  const snapshot = async () => {
    const db = svc.app.store.db.kysely;
    const out: Record<string, unknown> = {};
    for (const table of TABLES) out[table] = await db.selectFrom(table).selectAll().execute();
    return JSON.stringify(out);
  };

  beforeAll(async () => {
    svc = await startService({ start: false });
    const device = await svc.request('POST', '/v1/devices', {
      name: 'fuzz-cam',
      vendor: 'osprey-talon',
      host: '127.0.0.1',
      port: 1,
      labels: { site: 'fuzz' },
      credentials: { username: 'admin', password: 'pw' },
    });
    ids.device = device.body.id as string;
    ids.profile = (await svc.request('POST', '/v1/profiles', { name: 'fuzz', config: {} })).body.id;
    ids.webhook = (
      await svc.request('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook' })
    ).body.webhook.id;
    ids.key = (await svc.request('POST', '/v1/keys', { name: 'fuzz', role: 'viewer' })).body.key.id;
    ids.job = (
      await svc.request('POST', '/v1/jobs', {
        action: 'stop',
        deviceIds: [ids.device!],
        options: { dryRun: true, retries: 0 },
      })
    ).body.id;
    const job = await svc.app.engine.waitFor(ids.job!, 10_000);
    expect(job?.state).toBe('failed'); // the device is on a closed port; the job is over either way
  });
  afterAll(() => svc.close());

  it('10,000 malformed requests: no 5xx, no crash, stored data unchanged', async () => {
    const routes = svc.app.server.routeTable.filter((r) => r.method !== 'HEAD' && r.access !== 'public');
    expect(routes.length).toBeGreaterThan(30);
    const before = await snapshot();
    const db = svc.app.store.db.kysely;
    const lastAuditId = async () =>
      Number(
        (
          await db
            .selectFrom('audit_log')
            .select((eb) => eb.fn.max('id').as('id'))
            .executeTakeFirst()
        )?.id ?? 0,
      );
    const auditBefore = await lastAuditId();
    const statuses = new Map<number, number>();
    let stateChanging = 0;

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes).chain((r) => malformed(r, ids)),
        async (req) => {
          // A request the service never answers is a failure too, reported with its counterexample.
          const res = await Promise.race([
            svc.app.server.inject({
              method: req.method as 'GET',
              url: req.url,
              headers: { ...svc.headers, ...req.headers },
              ...(req.payload !== undefined ? { payload: req.payload } : {}),
            }),
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error(`no answer to ${req.method} ${req.url}`)), 5000).unref(),
            ),
          ]);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          const body = res.json();
          const label = `${req.method} ${req.url} ${req.payload ?? ''}: ${res.body}`;
          // Each state-changing request the router matched is audited before its reply leaves
          // (the router's own "no route" 404 and too-long paths never reach a route).
          const routed = body.error !== 'uri_too_long' && !String(body.message).startsWith('no route ');
          if (routed && !['GET', 'HEAD'].includes(req.method)) {
            stateChanging++;
            const failed = svc.logs.filter((l) => l.includes('audit log write failed')).slice(-1);
            expect(await lastAuditId(), `not audited: ${label} ${failed}`).toBe(auditBefore + stateChanging);
          }
          expect(
            res.statusCode,
            `${req.method} ${req.url} ${req.payload ?? ''}: ${res.body}`,
          ).toBeGreaterThanOrEqual(400);
          expect(res.statusCode, `${req.method} ${req.url} ${req.payload ?? ''}: ${res.body}`).toBeLessThan(
            500,
          );
          expect(typeof body.error).toBe('string');
          expect(typeof body.message).toBe('string');
        },
      ),
      { numRuns: 10_000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000) },
    );

    expect(await snapshot()).toBe(before);
    // Every refused state-changing request is in the audit log, and nothing else was written there.
    const written = await db
      .selectFrom('audit_log')
      .select(['status'])
      .where('id', '>', auditBefore)
      .execute();
    expect(written.length).toBe(stateChanging);
    expect(stateChanging).toBeGreaterThan(2000);
    expect(written.every((e) => e.status >= 400 && e.status < 500)).toBe(true);
    expect(svc.logs.some((l) => l.includes('unhandled error'))).toBe(false);
    expect((await svc.request('GET', '/healthz')).status).toBe(200);
    // Refusals of many kinds, not one kind over and over.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 414, 415]));
  }, 120_000);
});

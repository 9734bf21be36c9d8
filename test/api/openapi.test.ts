/**
 * The OpenAPI document is complete: every route the service registers is in it, every error
 * response has the one error shape, and every request body has an example that the route accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

/** Routes that are not part of the API: the document itself, its viewer, the dashboard. */
const NOT_API = [/^\/docs(\/|$)/, /^\/openapi\.json$/, /^\/$/, /^\/index\.html$/, /^\/assets\//];

describe('OpenAPI document', () => {
  let svc: TestService;
  let doc: any;
  beforeAll(async () => {
    // Not started: no polling, no webhook deliveries (an example webhook is created below).
    svc = await startService({ start: false });
    doc = (await svc.request('GET', '/openapi.json')).body;
  });
  afterAll(() => svc.close());

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
    );

  it('has every registered route', () => {
    const documented = new Set(
      operations().map(({ method, path }) => `${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    // Every route as fastify registered it (the auth layer records each one with its access).
    const routes = svc.app.server.routeTable
      .filter((r) => r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url}`);
    expect(routes.length).toBeGreaterThan(25);
    const api = routes.filter((r) => !NOT_API.some((p) => p.test(r.split(' ')[1]!)));
    expect(api.filter((r) => !documented.has(r))).toEqual([]);
    expect(routes).toContain('GET /v1/devices/:id/status');
  });

  it('gives every operation an id, a summary, and the error shape for each 4xx it can return', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect(op.operationId, where).toBeTruthy();
      expect(op.summary, where).toBeTruthy();
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        if (Number(status) < 400 || Number(status) >= 500) continue;
        expect(response.content?.['application/json']?.schema?.$ref, `${where} ${status}`).toBe(
          '#/components/schemas/ErrorReply',
        );
      }
      const statuses = Object.keys(op.responses);
      if (op.requestBody) expect(statuses, where).toEqual(expect.arrayContaining(['400', '413', '415']));
      if (op.parameters?.length) expect(statuses, where).toContain('400');
    }
  });

  it('declares the bearer scheme for the whole API', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });

  it('has an example for every request body, and the route accepts it', async () => {
    // Profiles first, then devices: the later examples refer to them.
    const order = (path: string) => ['/v1/profiles', '/v1/devices'].indexOf(path) >>> 0;
    const bodies = operations()
      .filter(({ op }) => op.requestBody)
      .sort((a, b) => order(a.path) - order(b.path));
    expect(bodies.length).toBeGreaterThanOrEqual(9);
    for (const { path, method, op } of bodies) {
      for (const [type, media] of Object.entries(op.requestBody.content as Record<string, any>)) {
        const examples =
          media.example !== undefined
            ? [media.example]
            : Object.values(media.examples ?? {}).map((e: any) => e.value);
        expect(examples.length, `${method} ${path} ${type}`).toBeGreaterThan(0);
        for (const example of examples) {
          const url = path.replace(/\{\w+\}/g, 'no-such-id');
          const res = await svc.request(method, url, example, { 'content-type': type });
          // Validation runs before the handler: anything but 400/415 means the body was accepted.
          expect([400, 415], `${method} ${path} ${JSON.stringify(res.body)}`).not.toContain(res.status);
        }
      }
    }
  });
});

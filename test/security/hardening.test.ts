/**
 * Hardening: strict schemas on every route, body size limits, security headers, rate limit per key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startService, type TestService } from '../helpers/service.js';

/** Paths of object schemas (in request parts) that accept properties they do not declare. */
function looseObjects(schema: any, path: string, out: string[] = []): string[] {
  if (!schema || typeof schema !== 'object') return out;
  if (Array.isArray(schema)) {
    for (const [i, s] of schema.entries()) looseObjects(s, `${path}[${i}]`, out);
    return out;
  }
  const isObject = schema.type === 'object' || (schema.properties && !schema.type);
  // A record (map of names to values) declares its values with additionalProperties/patternProperties.
  const isRecord = schema.patternProperties || typeof schema.additionalProperties === 'object';
  if (isObject && schema.properties && !isRecord && schema.additionalProperties !== false) out.push(path);
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'examples' || key === 'default') continue;
    looseObjects(value, `${path}/${key}`, out);
  }
  return out;
}

describe('hardening', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService({ start: false, env: { RATE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(() => svc.close());

  it('every body, query string and path schema refuses unknown properties (additionalProperties: false)', () => {
    const loose: string[] = [];
    for (const route of svc.app.server.routeTable) {
      for (const part of ['body', 'querystring', 'params']) {
        const schema = route.schema?.[part];
        if (schema) looseObjects(schema, `${route.method} ${route.url} ${part}`, loose);
      }
    }
    expect(svc.app.server.routeTable.length).toBeGreaterThan(30);
    // The one deliberate exception: nanoStream's webhook form is a third party's payload, whose
    // extra fields are tolerated rather than refused (a new field must not stop broadcasts).
    expect(loose).toEqual(['POST /v1/ingest/nanostream/webhook body']);
  });

  it('an unknown query parameter is a 400 naming it', async () => {
    // A fresh key: the limit of this service is 5 requests per minute per key.
    const key = (await svc.request('POST', '/v1/keys', { name: 'q', role: 'viewer' })).body.secret;
    const res = await svc.request('GET', '/v1/devices?limit=5&colour=red', undefined, bearer(key));
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'querystring/colour', reason: 'is not a known field' }]);
  });

  it('refuses a JSON body over 256 KB with 413', async () => {
    const key = (await svc.request('POST', '/v1/keys', { name: 'big', role: 'admin' })).body.secret;
    const res = await svc.request(
      'POST',
      '/v1/profiles',
      { name: 'big', description: 'x'.repeat(300 * 1024), config: {} },
      bearer(key),
    );
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
  });

  it('sends security headers on API replies, refusals and the docs', async () => {
    const api = await svc.request('GET', '/v1/devices', undefined, { authorization: '' });
    expect(api.status).toBe(401);
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(api.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(api.headers.get('www-authenticate')).toBe('Bearer realm="encoder-fleet"');
    const docs = await fetch(`${svc.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
    expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
  });

  it('limits requests per key: the 6th in a minute is 429, another key is unaffected', async () => {
    const made = await svc.request('POST', '/v1/keys', { name: 'limited', role: 'viewer' });
    const other = await svc.request('POST', '/v1/keys', { name: 'other', role: 'viewer' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await svc.request('GET', '/v1/profiles', undefined, bearer(made.body.secret))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await svc.request('GET', '/v1/profiles', undefined, bearer(made.body.secret));
    expect(limited.body.error).toBe('rate_limited');
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect((await svc.request('GET', '/v1/profiles', undefined, bearer(other.body.secret))).status).toBe(200);
  });
});

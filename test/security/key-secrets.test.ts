/**
 * API keys and webhook secrets stay secret: a key appears only in the reply that makes it, never in
 * a list, a log line or the audit log — keys that work, keys that are refused, the admin key alike;
 * webhook HMAC secrets are write-only; pino's redaction covers the header and field names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startService, TEST_ADMIN_KEY, type TestService } from '../helpers/service.js';

describe('API key and webhook secrets', () => {
  let svc: TestService;
  const responses: string[] = [];
  const secrets: string[] = [TEST_ADMIN_KEY];
  const GUESSED = 'efk_guessed-key-that-is-not-real-000000000000';
  const HOOK_SECRET = 'webhook-hmac-secret-Zq9-000111';

  const call = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const res = await svc.request(method, path, body, headers);
    responses.push(JSON.stringify(res.body) ?? '');
    return res;
  };

  beforeAll(async () => {
    svc = await startService({ start: false });
    const made = await svc.request('POST', '/v1/keys', { name: 'ci', role: 'operator' });
    expect(made.body.secret).toMatch(/^efk_/);
    secrets.push(made.body.secret);
    const key = bearer(made.body.secret);
    await call('GET', '/v1/keys');
    await call('GET', `/v1/keys/${made.body.key.id}`);
    await call('GET', '/v1/devices', undefined, key);
    await call('POST', '/v1/devices', { name: 'x', vendor: 'videon', host: '10.0.0.1' }, key); // 403
    await call('POST', '/v1/jobs', { action: 'nope' }, key); // 400
    await call('GET', '/v1/devices/none', undefined, key); // 404
    await call('GET', '/v1/devices', undefined, bearer(GUESSED)); // 401
    await call('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', secret: HOOK_SECRET });
    const generated = await svc.request('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/other' });
    expect(generated.body.secret).toHaveLength(32);
    secrets.push(generated.body.secret);
    await call('GET', '/v1/webhooks');
    await call('PATCH', `/v1/webhooks/${generated.body.webhook.id}`, { secret: `${HOOK_SECRET}-2` });
    await call('GET', '/v1/audit');
    await call('DELETE', `/v1/keys/${made.body.key.id}`);
    await call('GET', '/v1/devices', undefined, key); // 401 revoked
  });
  afterAll(() => svc.close());

  it('webhook secrets come back only as { set: true }', async () => {
    const hooks = (await svc.request('GET', '/v1/webhooks')).body.items;
    expect(hooks.map((h: any) => h.secret)).toEqual([{ set: true }, { set: true }]);
  });

  it('no key or secret appears in any response but the one that made it', () => {
    for (const text of responses) {
      for (const secret of [...secrets, GUESSED, HOOK_SECRET]) expect(text).not.toContain(secret);
    }
  });

  it('no key or secret appears in any log line', () => {
    expect(svc.logs.length).toBeGreaterThan(5);
    for (const line of svc.logs) {
      for (const secret of [...secrets, GUESSED, HOOK_SECRET]) expect(line).not.toContain(secret);
    }
  });

  it('redacts authorization headers, API keys and secrets that code logs by mistake', () => {
    svc.app.logger.info(
      {
        req: { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'x-api-key': TEST_ADMIN_KEY } },
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
        apiKey: TEST_ADMIN_KEY,
        key: { secret: TEST_ADMIN_KEY },
        webhook: { secret: HOOK_SECRET },
      },
      'careless',
    );
    const line = svc.logs.at(-1)!;
    expect(line).toContain('careless');
    expect(line).not.toContain(TEST_ADMIN_KEY);
    expect(line).not.toContain(HOOK_SECRET);
    expect(line.match(/\[redacted\]/g)?.length).toBe(6);
  });
});

/**
 * POST /v1/ingest/nanostream/webhook over real HTTP: allow (200) for a stream a managed device is
 * configured to send, 403 otherwise; the form as nanoStream sends it; every kind of bad input a
 * 400 (never a 500); and the arrival recorded on the device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOPBACK_INGEST_ENV } from '../helpers/ingest.js';
import { startService, type TestService } from '../helpers/service.js';

const FORM = 'application/x-www-form-urlencoded';

describe('nanoStream webhook', () => {
  let svc: TestService;
  let deviceId: string;

  beforeAll(async () => {
    svc = await startService({ env: LOOPBACK_INGEST_ENV });
    const res = await svc.request('POST', '/v1/devices', {
      name: 'studio-a',
      vendor: 'osprey-talon',
      host: '127.0.0.1',
      port: 9,
      overrides: { target: { protocol: 'nanostream', ingest: 'srt', streamName: 'ABCDE-XYZ12' } },
    });
    expect(res.status).toBe(201);
    deviceId = res.body.id;
    // The index is kept from the store by the monitor's refresh.
    await svc.app.monitor.refresh();
  });
  afterAll(() => svc.close());

  const post = (body: string, contentType: string | undefined = FORM) =>
    fetch(`${svc.url}/v1/ingest/nanostream/webhook`, {
      method: 'POST',
      headers: contentType ? { 'content-type': contentType } : {},
      body,
    }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as any }));

  /** A call as nanoStream sends it: every documented field. */
  const form = (call: string, name: string, extra = '') =>
    `call=${call}&name=${encodeURIComponent(name)}&app=live&addr=127.0.0.1&clientid=4711&bytes_in=0&bytes_out=0&time=0&timestamp=1733000000${extra}`;

  it('200 for a stream a managed device is configured to send; the arrival shows on the device', async () => {
    const res = await post(form('publish', 'ABCDE-XYZ12'));
    expect(res).toEqual({ status: 200, body: { result: 'allowed' } });
    const status = await svc.request('GET', `/v1/devices/${deviceId}/status`);
    expect(status.body.ingest).toBe('confirmed');
    expect((await post(form('update_publish', 'ABCDE-XYZ12'))).status).toBe(200);
    expect((await post(form('publish_done', 'ABCDE-XYZ12'))).status).toBe(200);
    expect((await svc.request('GET', `/v1/devices/${deviceId}/status`)).body.ingest).toBe('unknown');
  });

  it('403 for a stream no managed device sends', async () => {
    const res = await post(form('publish', 'SOMEONE-ELSE'));
    expect(res).toEqual({
      status: 403,
      body: { error: 'forbidden', message: 'no managed device is configured to send this stream' },
    });
  });

  it('follows a change of the device: its new stream name is allowed, the old one not', async () => {
    await svc.request('PATCH', `/v1/devices/${deviceId}`, {
      overrides: { target: { protocol: 'nanostream', ingest: 'rtmp', streamName: 'NEW-NAME-1' } },
    });
    await svc.app.monitor.refresh();
    expect((await post(form('publish', 'NEW-NAME-1'))).status).toBe(200);
    expect((await post(form('publish', 'ABCDE-XYZ12'))).status).toBe(403);
  });

  it('takes fields in any order, extra fields, and a charset in the content type', async () => {
    const res = await post(
      `name=NEW-NAME-1&flashver=FMLE%2F3.0&call=update_publish&tcurl=rtmp%3A%2F%2Fx`,
      `${FORM}; charset=utf-8`,
    );
    expect(res.status).toBe(200);
  });

  it.each([
    ['no name', 'call=publish', 'body/name', 'is required'],
    ['no call', 'name=NEW-NAME-1', 'body/call', 'is required'],
    [
      'an unknown call',
      'call=play&name=NEW-NAME-1',
      'body/call',
      'must be one of "publish", "update_publish", "publish_done"',
    ],
    ['an empty name', 'call=publish&name=', 'body/name', 'must NOT have fewer than 1 characters'],
    [
      'a name with junk characters',
      `call=publish&name=${encodeURIComponent('x\u0000y<script>')}`,
      'body/name',
      'must match pattern',
    ],
    [
      'a counter that is not a number',
      'call=publish&name=NEW-NAME-1&bytes_in=lots',
      'body/bytes_in',
      'must match pattern',
    ],
    ['binary junk', '\u00ff\u00fe\u0000\u0001%%%&&&===', 'body/call', 'is required'],
  ])('400 for %s', async (_what, body, field, reason) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('bad_request');
    expect(res.body.details).toContainEqual({ field, reason: expect.stringContaining(reason) });
  });

  it('400 for a field given twice', async () => {
    const res = await post('call=publish&name=NEW-NAME-1&name=OTHER');
    expect(res).toEqual({
      status: 400,
      body: { error: 'bad_request', message: 'field "name" is given more than once' },
    });
  });

  it.each([
    ['JSON', 'application/json', JSON.stringify({ call: 'publish', name: 'NEW-NAME-1' })],
    ['text', 'text/plain', 'call=publish&name=NEW-NAME-1'],
    ['multipart', 'multipart/form-data; boundary=x', '--x--'],
  ])('400 for a %s body (wrong content type)', async (_what, contentType, body) => {
    const res = await post(body, contentType);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: 'bad_request',
      message: expect.stringContaining(`content-type must be ${FORM}`),
    });
  });

  it('400 for no body at all', async () => {
    const res = await post('', undefined);
    expect(res.status).toBe(400);
  });

  it('413 for a body beyond 16 KiB, not a 500', async () => {
    const res = await post(`call=publish&name=NEW-NAME-1&pad=${'x'.repeat(20_000)}`);
    expect(res.status).toBe(413);
  });
});

describe('nanoStream webhook with NANOSTREAM_WEBHOOK_TOKEN', () => {
  const TOKEN = 'webhook-token-0123456789abcdef';
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService({ env: { ...LOOPBACK_INGEST_ENV, NANOSTREAM_WEBHOOK_TOKEN: TOKEN } });
  });
  afterAll(() => svc.close());

  const call = (query: string) =>
    fetch(`${svc.url}/v1/ingest/nanostream/webhook${query}`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'call=publish&name=NOBODY',
    });

  it('refuses a call without the token or with a wrong one (401), answers one with it', async () => {
    expect((await call('')).status).toBe(401);
    expect((await call('?token=wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await call(`?token=${TOKEN}`)).status).toBe(403); // authenticated; no device sends NOBODY
  });

  it('never logs the token', () => {
    for (const line of svc.logs) expect(line).not.toContain(TOKEN);
  });
});

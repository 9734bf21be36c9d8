/**
 * Bad input of every kind gets a clear 4xx naming the field and the reason: never a 500, never a
 * crash, and nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../helpers/service.js';

describe('API refuses bad input with the field named', () => {
  let svc: TestService;
  let deviceId: string;
  const rtmp = { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'k' };

  beforeAll(async () => {
    svc = await startService({ start: false });
    deviceId = (
      await svc.request('POST', '/v1/devices', {
        name: 'd1',
        vendor: 'osprey-talon',
        host: '127.0.0.1',
        port: 9,
      })
    ).body.id;
  });
  afterAll(() => svc.close());

  const device = { name: 'x', vendor: 'osprey-talon', host: '10.1.1.1' };
  it.each([
    ['missing name', '/v1/devices', { vendor: 'videon', host: '10.0.0.1' }, 'body/name', 'is required'],
    ['wrong type for port', '/v1/devices', { ...device, port: '80' }, 'body/port', 'must be integer'],
    [
      'unknown vendor, with the list',
      '/v1/devices',
      { ...device, vendor: 'acme' },
      'body/vendor',
      'must be one of "osprey-talon", "videon", "teradek-vidiu", "teradek-prism", "teradek"',
    ],
    ['unknown field', '/v1/devices', { ...device, colour: 'red' }, 'body/colour', 'is not a known field'],
    [
      'host with a scheme',
      '/v1/devices',
      { ...device, host: 'http://10.0.0.1' },
      'body/host',
      'must match format "host"',
    ],
    [
      'label key with spaces',
      '/v1/devices',
      { ...device, labels: { 'my site': 'x' } },
      'body/labels/my site',
      'is not a valid key (must match ^[A-Za-z0-9._/-]{1,63}$)',
    ],
  ])('POST /v1/devices: %s', async (_name, path, body, field, reason) => {
    const res = await svc.request('POST', path, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('bad_request');
    expect(res.body.details).toContainEqual({ field, reason });
    expect(res.body.message).toContain(field);
  });

  it.each([
    [
      'SRT port out of range',
      { target: { protocol: 'srt', host: '127.0.0.1', port: 70000 } },
      'body/target/port',
      'must be <= 65535',
    ],
    [
      'SRT mode other than caller',
      { target: { protocol: 'srt', host: '127.0.0.1', mode: 'listener' } },
      'body/target/mode',
      'must be equal to constant',
    ],
    [
      'RTMP URL with a non-rtmp scheme',
      { target: { ...rtmp, url: 'http://127.0.0.1/live' } },
      'body/target/url',
      'must match format "rtmp-url"',
    ],
    [
      'fps 0',
      { target: rtmp, video: { codec: 'h264', bitrateKbps: 1000, fps: 0 } },
      'body/video/fps',
      'must be > 0',
    ],
    [
      'negative bitrate',
      { target: rtmp, video: { codec: 'h264', bitrateKbps: -5 } },
      'body/video/bitrateKbps',
      'must be >= 50',
    ],
    [
      'unknown protocol, with the list',
      { target: { protocol: 'ftp', url: 'x' } },
      'body/target/protocol',
      'must be one of "rtmp", "srt", "whip", "nanostream"',
    ],
    ['missing target', { video: { codec: 'h264', bitrateKbps: 1000 } }, 'body/target', 'is required'],
    [
      'width without height',
      { target: rtmp, video: { codec: 'h264', bitrateKbps: 1000, width: 1280 } },
      'body/video/height',
      'is required when width is given',
    ],
    [
      'sample rate not in the list',
      { target: rtmp, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 22050 } },
      'body/audio/sampleRate',
      'must be one of 32000, 44100, 48000',
    ],
    [
      'string where a number goes',
      { target: rtmp, video: { codec: 'h264', bitrateKbps: '1000' } },
      'body/video/bitrateKbps',
      'must be integer',
    ],
  ])('PUT config: %s', async (_name, body, field, reason) => {
    const res = await svc.request('PUT', `/v1/devices/${deviceId}/config`, body);
    expect(res.status).toBe(400);
    expect(res.body.details).toContainEqual({ field, reason });
  });

  it('a body over the size limit is refused as too large (413), not a 500', async () => {
    const res = await svc.request('POST', '/v1/devices', { ...device, name: 'x'.repeat(300_000) });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
  });

  it('an over-long field inside the limit names the field', async () => {
    const res = await svc.request('POST', '/v1/devices', { ...device, name: 'x'.repeat(129) });
    expect(res.status).toBe(400);
    expect(res.body.details).toContainEqual({
      field: 'body/name',
      reason: 'must NOT have more than 128 characters',
    });
  });

  it.each([
    ['malformed JSON', '{"name": "x",', 400],
    ['JSON that is not an object', '[1,2,3]', 400],
    [
      'a prototype-polluting key',
      '{"__proto__": {"admin": true}, "name": "x", "vendor": "videon", "host": "10.0.0.9"}',
      400,
    ],
  ])('%s → %i', async (_name, raw, status) => {
    const res = await svc.request('POST', '/v1/devices', raw);
    expect(res.status).toBe(status);
    expect(res.body.error).toBeTypeOf('string');
  });

  it('a bad query string names the parameter', async () => {
    const res = await svc.request('GET', '/v1/devices?limit=0&sort=colour');
    expect(res.status).toBe(400);
    expect(res.body.details).toContainEqual({ field: 'querystring/limit', reason: 'must be >= 1' });
  });

  it('a malformed selector says where', async () => {
    const res = await svc.request('GET', '/v1/devices?selector=site%3D%3D%3D');
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/selector: .* at position/);
  });

  it('nothing was stored by any of the refused requests', async () => {
    const list = await svc.request('GET', '/v1/devices');
    expect(list.body.items.map((d: { name: string }) => d.name)).toEqual(['d1']);
  });

  it('unknown routes and ids are 404s in the same error shape', async () => {
    expect((await svc.request('GET', '/v1/nothing')).body).toMatchObject({ error: 'not_found' });
    expect((await svc.request('GET', '/v1/devices/nope')).status).toBe(404);
    expect((await svc.request('PUT', '/v1/devices/nope/config', { target: rtmp })).status).toBe(404);
  });
});

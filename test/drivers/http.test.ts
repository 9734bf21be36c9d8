/**
 * The shared device HTTP layer against a real loopback server: the time limit covers the whole
 * exchange (a device trickling its reply is cut off), a caller's cancel wins with its own reason,
 * an endless reply is refused, and a connection is reused across requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceProtocolError, DeviceTimeoutError, DeviceUnreachableError } from '../../drivers/contract.js';
import { DeviceHttp } from '../../drivers/http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('DeviceHttp', () => {
  let server: Server;
  let port: number;
  const routes = new Map<string, Handler>();
  const sockets = new Set<unknown>();

  beforeAll(async () => {
    server = createServer((req, res) => routes.get(req.url ?? '')?.(req, res));
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const http = (timeoutMs = 300) =>
    new DeviceHttp({
      endpoint: { id: 'dev-1', vendor: 'osprey-talon', host: '127.0.0.1', port },
      defaultPort: 80,
      timeoutMs,
    });

  it('returns status, headers and text, over one kept-alive connection', async () => {
    routes.set('/ok', (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-thing': 'a' });
      res.end(JSON.stringify({ ok: 'ü' }));
    });
    const client = http();
    const before = sockets.size;
    for (let i = 0; i < 3; i++) {
      const reply = await client.request({ method: 'GET', path: '/ok' });
      expect(reply).toMatchObject({ status: 201, text: '{"ok":"ü"}' });
      expect(reply.headers['x-thing']).toBe('a');
    }
    expect(sockets.size - before).toBe(1);
    await client.close();
  });

  it('times out a device that answers headers but trickles its body past the limit', async () => {
    routes.set('/trickle', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const client = http(300);
    const started = Date.now();
    const err = await client.request({ method: 'GET', path: '/trickle' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect((err as Error).message).toContain('300 ms');
    expect(Date.now() - started).toBeLessThan(1500);
    await client.close();
  });

  it("rejects with the caller's own reason when the caller cancels", async () => {
    routes.set('/slow', (_req, res) => {
      setTimeout(() => res.end('late'), 1000).unref();
    });
    const client = http(5000);
    const controller = new AbortController();
    const reason = new Error('job canceled');
    setTimeout(() => controller.abort(reason), 50);
    await expect(client.request({ method: 'GET', path: '/slow', signal: controller.signal })).rejects.toBe(
      reason,
    );
    const aborted = AbortSignal.abort(reason);
    await expect(client.request({ method: 'GET', path: '/ok', signal: aborted })).rejects.toBe(reason);
    await client.close();
  });

  it('refuses a reply larger than 8 MB as a protocol error', async () => {
    routes.set('/huge', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      let sent = 0;
      const more = () => {
        while (sent < 20 && res.write(chunk)) sent++;
        if (sent < 20) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => {});
      more();
    });
    const client = http(5000);
    await expect(client.request({ method: 'GET', path: '/huge' })).rejects.toBeInstanceOf(
      DeviceProtocolError,
    );
    await client.close();
  });

  it('reports a closed port as unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = new DeviceHttp({
      endpoint: { id: 'dev-2', vendor: 'osprey-talon', host: '127.0.0.1', port: deadPort },
      defaultPort: 80,
      timeoutMs: 1000,
    });
    await expect(client.request({ method: 'GET', path: '/' })).rejects.toBeInstanceOf(DeviceUnreachableError);
    await client.close();
  });
});

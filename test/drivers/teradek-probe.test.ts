/**
 * probeTeradek against both simulators served by SimServer (the CGI VidiU and the MQTT Prism), a
 * web server that speaks neither, a silent one and a closed port.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceProtocolError, DeviceTimeoutError, DeviceUnreachableError } from '../../drivers/contract.js';
import { SimServer } from '../../drivers/sim/server.js';
import { PrismSim } from '../../drivers/teradek/prism/simulator.js';
import { probeTeradek } from '../../drivers/teradek/probe.js';
import { VidiuSim } from '../../drivers/teradek/vidiu/simulator.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulated(sim: VidiuSim | PrismSim) {
  const server = new SimServer();
  cleanups.push(() => server.close());
  return server.listen(sim);
}

async function listening(server: Server | NetServer): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

describe('probeTeradek', () => {
  it('a CGI unit (sentinel answer without a session) → teradek-vidiu, without logging in', async () => {
    const sim = new VidiuSim({ id: 'probe-vidiu' });
    const { host, port } = await simulated(sim);
    expect(await probeTeradek({ id: 'p1', host, port }, { timeoutMs: 1000 })).toBe('teradek-vidiu');
    expect(sim.requestLog.map((r) => `${r.path}?${r.query}`)).toEqual([
      '/cgi-bin/json.cgi?command=geti&q=System.Info.Product',
    ]);
    expect(sim.count('login')).toBe(0);
  });

  it('a Prism (404 on the CGI, WebSocket upgrade at /mqtt) → teradek-prism, no MQTT login', async () => {
    const sim = new PrismSim({ id: 'probe-prism' });
    const { host, port } = await simulated(sim);
    expect(await probeTeradek({ id: 'p2', host, port }, { timeoutMs: 1000 })).toBe('teradek-prism');
    expect(sim.count('login')).toBe(0);
    expect(sim.count('login-refused')).toBe(0);
  });

  it('a web server that speaks neither → DeviceProtocolError naming the vendor teradek', async () => {
    const server = createHttpServer((_req, res) => res.writeHead(404).end('<h1>Not Found</h1>'));
    server.on('upgrade', (_req, socket: Socket) =>
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'),
    );
    const port = await listening(server);
    const err = await probeTeradek({ id: 'p3', host: '127.0.0.1', port }, { timeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceProtocolError);
    expect(err).toMatchObject({ vendor: 'teradek', deviceId: 'p3' });
  });

  it('JSON that is not the product tree is not taken for a CGI unit', async () => {
    const server = createHttpServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'),
    );
    const port = await listening(server);
    await expect(
      probeTeradek({ id: 'p4', host: '127.0.0.1', port }, { timeoutMs: 1000 }),
    ).rejects.toBeInstanceOf(DeviceProtocolError);
  });

  it('a device that never answers → DeviceTimeoutError', async () => {
    const port = await listening(createServer(() => undefined));
    const err = await probeTeradek({ id: 'p5', host: '127.0.0.1', port }, { timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceTimeoutError);
  });

  it('nothing listening → DeviceUnreachableError', async () => {
    const port = await listening(createServer());
    await cleanups.pop()!(); // close it again: the port is now free and refuses connections
    await expect(
      probeTeradek({ id: 'p6', host: '127.0.0.1', port }, { timeoutMs: 500 }),
    ).rejects.toBeInstanceOf(DeviceUnreachableError);
  });

  it('the SSRF guard refuses before any connection', async () => {
    const sim = new VidiuSim({ id: 'probe-guarded' });
    const { host, port } = await simulated(sim);
    const checkAddress = (a: string) => {
      throw new Error(`address ${a} refused`);
    };
    await expect(
      probeTeradek({ id: 'p7', host, port }, { timeoutMs: 500, checkAddress }),
    ).rejects.toBeInstanceOf(DeviceUnreachableError);
    expect(sim.requestCount).toBe(0);
  });
});

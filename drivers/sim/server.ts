/**
 * Serves simulated devices over real HTTP on loopback. Two ways to give a device an address:
 *
 * - `listen(device)`: its own listener on 127.0.0.1 and a port of its own (tests; a few devices).
 * - `listenShared(port)` + `attach(device, '127.0.x.y')`: one listener for thousands of devices, each
 *   dialled on its own loopback address and told apart by the local address of the connection.
 *   A process may hold only 20,000 descriptors here, so 10,000 devices cannot each have a listener.
 *   The shared listener binds 0.0.0.0 (the only way to accept all of 127.0.0.0/8 on one socket) and
 *   drops every connection that does not come from loopback.
 *
 * Fault knobs are applied here, around each device's vendor handler, so vendor files hold only
 * vendor behaviour.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionDropped, type SimDevice, type SimReply, type SimRequest } from './device.js';

export interface SimAddress {
  readonly host: string;
  readonly port: number;
}

/** Devices that speak something other than plain HTTP (MQTT over WebSocket) take over the upgrade. */
export interface UpgradeHandler {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

const MAX_BODY_BYTES = 1024 * 1024;

export class SimServer {
  private readonly http: Server;
  private readonly byAddress = new Map<string, SimDevice>();
  private readonly listeners: NetServer[] = [];
  /**
   * Every socket accepted, upgraded or not. The HTTP server only tracks connections when it listens
   * itself, and ours is fed sockets from other listeners, so close() must end them.
   */
  private readonly sockets = new Set<Duplex>();
  private sharedPort: number | undefined;

  constructor() {
    // A long keep-alive, as embedded web servers tend to have; the service reuses connections.
    this.http = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      this.serve(req, res).catch(() => res.socket?.destroy());
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const device = this.deviceFor(req.socket);
      if (device?.online && isUpgradeHandler(device)) {
        this.track(socket);
        device.upgrade(req, socket, head);
      } else socket.destroy();
    });
  }

  /** Gives `device` a listener of its own on `host` (default 127.0.0.1) and `port` (default: any free one). */
  async listen(device: SimDevice, at: { host?: string; port?: number } = {}): Promise<SimAddress> {
    const host = at.host ?? '127.0.0.1';
    const listener = createNetServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(at.port ?? 0, host, () => resolve());
    });
    this.listeners.push(listener);
    const { port } = listener.address() as { port: number };
    this.byAddress.set(`${host}:${port}`, device);
    return { host, port };
  }

  /** Opens the one listener that `attach` uses. */
  async listenShared(port = 0): Promise<number> {
    const listener = createNetServer((socket) => {
      if (!isLoopback(socket.remoteAddress)) socket.destroy();
      else this.accept(socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => resolve());
    });
    this.listeners.push(listener);
    this.sharedPort = (listener.address() as { port: number }).port;
    return this.sharedPort;
  }

  /** Serves `device` at `host` (a 127.x.y.z address) on the shared port. */
  attach(device: SimDevice, host: string): SimAddress {
    if (this.sharedPort === undefined) throw new Error('call listenShared() first');
    if (!isLoopback(host)) throw new Error(`${host} is not a loopback address`);
    this.byAddress.set(`${host}:${this.sharedPort}`, device);
    return { host, port: this.sharedPort };
  }

  devices(): SimDevice[] {
    return [...new Set(this.byAddress.values())];
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    this.http.close();
  }

  private accept(socket: Socket): void {
    this.track(socket);
    this.http.emit('connection', socket);
  }

  private track(socket: Duplex): void {
    if (this.sockets.has(socket)) return;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private deviceFor(socket: Socket): SimDevice | undefined {
    const address = socket.localAddress?.replace(/^::ffff:/, '');
    return this.byAddress.get(`${address}:${socket.localPort}`);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const device = this.deviceFor(req.socket);
    if (!device) {
      res.writeHead(404).end('no simulated device at this address');
      return;
    }
    if (!device.online) {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://device');
    const simReq: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      cookies: parseCookies(req.headers.cookie),
      body,
    };
    device.logRequest(simReq);
    const { faults } = device;
    if (device.strikes(faults.resetRate)) {
      req.socket.destroy();
      return;
    }
    if (device.strikes(faults.timeoutRate)) return; // never answer; the client gives up
    const delay = faults.latencyMs + (faults.jitterMs ? device.random() * faults.jitterMs : 0);
    if (delay > 0) await sleep(delay);
    if (device.strikes(faults.errorRate)) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
      return;
    }
    let reply: SimReply;
    try {
      reply = device.handleArrived(simReq, receivedAt);
    } catch (err) {
      if (err instanceof ConnectionDropped) {
        req.socket.destroy();
        return;
      }
      throw err;
    }
    if (!device.online) {
      req.socket.destroy(); // rebooted while handling the request
      return;
    }
    send(res, reply, device.strikes(faults.malformedRate));
  }
}

function send(res: ServerResponse, reply: SimReply, garble: boolean): void {
  const headers: Record<string, string | string[]> = { ...reply.headers };
  let text: string;
  if (typeof reply.body === 'string') {
    text = reply.body;
    headers['content-type'] ??= 'text/plain';
  } else if (reply.body === undefined) {
    text = '';
  } else {
    text = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json';
  }
  if (garble) text = text.slice(0, Math.floor(text.length / 2));
  res.writeHead(reply.status ?? 200, headers).end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return cookies;
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.replace(/^::ffff:/, '');
  return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}

function isUpgradeHandler(device: SimDevice): device is SimDevice & UpgradeHandler {
  return typeof (device as Partial<UpgradeHandler>).upgrade === 'function';
}

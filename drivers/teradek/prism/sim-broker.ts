/**
 * The MQTT-over-WebSocket half of a simulated device: a real aedes broker behind the WebSocket upgrade
 * of the device's web server, with hooks through which the device decides logins, handles commands and
 * may tamper with outgoing messages (fault injection).
 *
 * The broker exists only while someone is connected: it is created on the first connection, filled
 * with the device's retained state, and closed when the last connection goes. A fleet of thousands of
 * simulated units then costs a broker only for the units being talked to, and no broker timers outlive
 * the connections (they would keep a test process alive). The device object is the source of truth
 * for its state; a client cannot tell a fresh broker from a long-lived one, since sessions are clean
 * and commands are not retained.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client } from 'aedes';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';

export type LoginVerdict = 'ok' | 'refused' | 'unavailable';

export interface SimBrokerHooks {
  /** A CONNECT arrived. Call `answer` once, later, or never (the client then times out). */
  authenticate(
    client: Client,
    username: string | undefined,
    password: string | undefined,
    answer: (v: LoginVerdict) => void,
  ): void;
  /** Clients may publish only commands; anything else closes their connection. */
  isCommand(topic: string): boolean;
  /** A client published a command (after the broker accepted it). */
  onCommand(client: Client, topic: string, payload: Buffer): void;
  /** Every message on its way to a client passes here; return the payload to send. */
  outgoing(payload: Buffer): Buffer;
  /** The retained state to load into a fresh broker, in publish order. */
  retained(): readonly (readonly [topic: string, payload: Buffer])[];
  /** A client's session is up. */
  onSession(client: Client): void;
}

/** WebSocket handshakes hold no per-device state, so every simulated device shares one helper. */
let handshakes: WebSocketServer | undefined;
function handshaker(): WebSocketServer {
  handshakes ??= new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: 256 * 1024 });
  return handshakes;
}

export class SimBroker {
  private broker: Aedes | undefined;
  private ready: Promise<Aedes> | undefined;
  /** Bumped whenever the broker is retired, so a broker still being created knows it came too late. */
  private generation = 0;
  private readonly sockets = new Map<Duplex, WebSocket>();

  constructor(private readonly hooks: SimBrokerHooks) {}

  get connections(): number {
    return this.sockets.size;
  }

  /** Completes the WebSocket handshake and hands the stream to the broker. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    handshaker().handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      // aedes listens for stream errors once it has the stream; until then a reset must not throw.
      stream.on('error', () => undefined);
      this.sockets.set(stream, ws);
      ws.on('close', () => {
        this.sockets.delete(stream);
        if (this.sockets.size === 0) this.retire();
      });
      this.ensureBroker().then(
        (broker) => {
          if (ws.readyState === ws.OPEN) broker.handle(stream);
        },
        () => ws.terminate(),
      );
    });
  }

  /** Publishes to every subscriber; retained messages are also kept for later subscribers. */
  publish(topic: string, payload: Buffer, retain: boolean): Promise<void> {
    const broker = this.broker;
    if (!broker) return Promise.resolve(); // nobody connected; the state is loaded on the next connect
    return new Promise((resolve) => {
      broker.publish({ cmd: 'publish', topic, payload, qos: 0, retain, dup: false }, () => resolve());
    });
  }

  /** Cuts one client's WebSocket without a word, as a device that resets the connection. */
  drop(client: Client): void {
    this.sockets.get(client.conn as Duplex)?.terminate();
  }

  /** Cuts every connection and retires the broker (device going down). */
  dropAll(): void {
    for (const ws of this.sockets.values()) ws.terminate();
    this.retire();
  }

  private ensureBroker(): Promise<Aedes> {
    if (this.ready) return this.ready;
    const generation = this.generation;
    const ready = this.create(generation).catch((err: unknown) => {
      // Let the next connection try again rather than inherit this failure.
      if (this.ready === ready) this.ready = undefined;
      throw err;
    });
    this.ready = ready;
    return ready;
  }

  private async create(generation: number): Promise<Aedes> {
    const hooks = this.hooks;
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) =>
        hooks.authenticate(client, username, password?.toString('utf8'), (verdict) => {
          if (verdict === 'ok') return done(null, true);
          // CONNACK 4 "bad user name or password" or 3 "server unavailable".
          const returnCode = (verdict === 'refused' ? 4 : 3) as AuthenticateError['returnCode'];
          done(Object.assign(new Error(verdict), { returnCode }), false);
        }),
      authorizePublish: (client, packet, callback) => {
        if (!client) return callback(null);
        if (!hooks.isCommand(packet.topic)) return callback(new Error(`${packet.topic} is not writable`));
        // The web UI publishes commands retained; a device that kept them would only pile them up.
        packet.retain = false;
        callback(null);
      },
      published: (packet, client, callback) => {
        callback(null);
        if (client && hooks.isCommand(packet.topic))
          hooks.onCommand(client, packet.topic, packet.payload as Buffer);
      },
      authorizeForward: (_client, packet): AedesPublishPacket => {
        const payload = hooks.outgoing(packet.payload as Buffer);
        return payload === packet.payload ? packet : { ...packet, payload };
      },
    });
    broker.on('clientReady', (client) => hooks.onSession(client));
    if (generation !== this.generation) {
      broker.close();
      throw new Error('device went away while its broker started');
    }
    this.broker = broker;
    for (const [topic, payload] of hooks.retained()) await this.publish(topic, payload, true);
    return broker;
  }

  private retire(): void {
    this.generation++;
    const broker = this.broker;
    this.broker = undefined;
    this.ready = undefined;
    broker?.close();
  }
}

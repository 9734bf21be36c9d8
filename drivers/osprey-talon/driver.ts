/**
 * Osprey Talon driver: the contract in terms of the (provisional) channel API of `wire.ts`.
 */
import {
  type ApplyOptions,
  type ApplyResult,
  type CallOptions,
  type Capabilities,
  type ConfigReadOptions,
  DeviceAuthError,
  type DeviceConfig,
  type DeviceInfo,
  type DeviceRef,
  type DeviceStatus,
  type DriverContext,
  type DriverModule,
  type EncoderConfig,
  type EncoderDriver,
  type Rendition,
} from '../contract.js';
import { convergeConfig } from '../converge.js';
import { DeviceHttp, type HttpReply, parseWire, type SessionScheme } from '../http.js';
import {
  ActionReply,
  API,
  CHANNEL_COUNT,
  ChannelListReply,
  ChannelReply,
  type ChannelState,
  type ChannelUpdate,
  configFromWire,
  DEFAULT_CREDENTIALS,
  infoFromWire,
  type ListedChannel,
  LoginReply,
  PRIMARY_CHANNEL,
  SESSION_COOKIE,
  StatsReply,
  StatusReply,
  SystemReply,
  statusFromWire,
  updateToWire,
} from './wire.js';

export const capabilities: Capabilities = {
  vendor: 'osprey-talon',
  family: 'Osprey Talon (4K, 4K-SC, UHD-SC, G2)',
  models: ['Talon 4K', 'Talon 4K-SC', 'Talon UHD-SC', 'Talon G2'],
  targets: ['rtmp', 'srt', 'whip'],
  video: {
    configurable: true,
    codecs: ['h264', 'h265'],
    maxWidth: 3840,
    maxHeight: 2160,
    fps: [23.98, 24, 25, 29.97, 30, 50, 59.94, 60],
    bitrateKbps: { min: 100, max: 40_000 },
    keyframeInterval: true,
  },
  audio: {
    configurable: true,
    codecs: ['aac', 'opus'],
    bitrateKbps: { min: 32, max: 320 },
    sampleRates: [44100, 48000],
    channels: [1, 2],
  },
  reboot: true,
  // [DOC] channels are the unit of configuration ("Add Channel"); each carries one rendition.
  outputs: CHANNEL_COUNT,
  minPollIntervalMs: 500,
  provisional: ['login', 'getInfo', 'getConfig', 'applyConfig', 'start', 'stop', 'getStatus', 'reboot'],
};

function talonSession(ref: DeviceRef, credentials: { username: string; password: string }): SessionScheme {
  return {
    async login(send, signal) {
      const reply = await send({ method: 'POST', path: `${API}/login`, json: credentials, signal });
      if (reply.status === 401 || reply.status === 403) {
        throw new DeviceAuthError(ref, `login refused: ${errorText(reply) ?? `HTTP ${reply.status}`}`);
      }
      if (reply.status !== 200) throw new DeviceAuthError(ref, `login failed with HTTP ${reply.status}`);
      const { token } = parseWire(ref, LoginReply, reply.text);
      return { cookie: `${SESSION_COOKIE}=${token}` };
    },
    isExpired: (reply) => reply.status === 401,
  };
}

/** The device's own words from an error reply: `{ error, field?, message? }`. */
function errorText(reply: HttpReply): string | undefined {
  try {
    const body = JSON.parse(reply.text) as { error?: unknown; field?: unknown; message?: unknown };
    const parts = [body.field, body.message ?? body.error].filter((p) => typeof p === 'string');
    return parts.length ? parts.join(': ') : undefined;
  } catch {
    return undefined;
  }
}

class TalonDriver implements EncoderDriver {
  readonly capabilities = capabilities;
  private readonly http: DeviceHttp;
  private readonly channel = `${API}/channels/${PRIMARY_CHANNEL}`;

  constructor(ctx: DriverContext) {
    const ref = { deviceId: ctx.endpoint.id, vendor: ctx.endpoint.vendor };
    this.http = new DeviceHttp({
      endpoint: ctx.endpoint,
      defaultPort: talon.defaultPort,
      timeoutMs: ctx.timeoutMs,
      dispatcher: ctx.dispatcher,
      checkAddress: ctx.checkAddress,
      lookup: ctx.lookup,
      onFirstCertificate: ctx.onFirstCertificate,
      session: talonSession(ref, ctx.endpoint.credentials ?? DEFAULT_CREDENTIALS),
      errorMessage: errorText,
    });
  }

  login(opts?: CallOptions): Promise<void> {
    return this.http.login(opts?.signal);
  }

  async getInfo(opts?: CallOptions): Promise<DeviceInfo> {
    return infoFromWire(
      await this.http.json({ method: 'GET', path: `${API}/system`, signal: opts?.signal }, SystemReply),
    );
  }

  async getConfig(opts?: ConfigReadOptions): Promise<DeviceConfig> {
    if (opts?.renditions) return configOfChannels(await this.channels(opts));
    return configFromWire(
      await this.http.json({ method: 'GET', path: this.channel, signal: opts?.signal }, ChannelReply),
    );
  }

  applyConfig(config: EncoderConfig, opts?: ApplyOptions): Promise<ApplyResult> {
    let listed: ListedChannel[] = [];
    return convergeConfig(config, {
      ref: this.http.ref,
      capabilities,
      onWrite: opts?.onWrite,
      read: async (renditions) => {
        if (!renditions) return this.getConfig(opts);
        listed = await this.channels(opts);
        return configOfChannels(listed);
      },
      // The reply echoes the channel, but the read-back that follows is what counts.
      write: async (sections) => {
        const { renditions, ...main } = sections;
        if (main.target || main.video || main.audio)
          await this.put(PRIMARY_CHANNEL, updateToWire(main), opts);
        if (renditions) await this.writeRenditions(renditions, listed, opts);
      },
    });
  }

  /**
   * Each rendition is a channel of its own (rendition i = channel i + 2). While the main channel is
   * live, a newly configured rendition is started and a cleared one stopped, so the set of live
   * renditions always matches the config.
   */
  private async writeRenditions(
    renditions: ReadonlyMap<number, Rendition | null>,
    listed: readonly ListedChannel[],
    opts?: CallOptions,
  ): Promise<void> {
    const live = (state: ChannelState | undefined) => state === 'RUNNING' || state === 'STARTING';
    const mainLive = live(listed[0]?.state);
    for (const [index, rendition] of renditions) {
      const id = index + 2;
      const state = listed[id - 1]?.state;
      if (rendition) {
        await this.put(id, updateToWire(rendition), opts);
        if (mainLive && !live(state)) await this.action(id, 'start', opts);
      } else {
        if (live(state)) await this.action(id, 'stop', opts);
        await this.put(id, { output: { upstream_protocol: 'NONE' } }, opts);
      }
    }
  }

  /**
   * Starts the main channel, then every further configured channel (the renditions). The device
   * answers a start of a running channel with its current state, so this is idempotent.
   */
  async start(opts?: CallOptions): Promise<void> {
    await this.action(PRIMARY_CHANNEL, 'start', opts);
    for (const c of (await this.channels(opts)).slice(1)) {
      if (c.output.upstream_protocol !== 'NONE' && (c.state === 'IDLE' || c.state === 'ERROR'))
        await this.action(c.id, 'start', opts);
    }
  }

  /** Stops the main channel and every further channel still running. */
  async stop(opts?: CallOptions): Promise<void> {
    await this.action(PRIMARY_CHANNEL, 'stop', opts);
    for (const c of (await this.channels(opts)).slice(1)) {
      if (c.state === 'RUNNING' || c.state === 'STARTING') await this.action(c.id, 'stop', opts);
    }
  }

  async getStatus(opts?: CallOptions): Promise<DeviceStatus> {
    const signal = opts?.signal;
    const status = await this.http.json(
      { method: 'GET', path: `${this.channel}/status`, signal },
      StatusReply,
    );
    // Stats only mean something while the encoder runs; skip the second request otherwise.
    const stats =
      status.state === 'RUNNING'
        ? await this.http.json({ method: 'GET', path: `${this.channel}/stats`, signal }, StatsReply)
        : undefined;
    return statusFromWire(status, stats);
  }

  async reboot(opts?: CallOptions): Promise<void> {
    await this.http.ok({ method: 'POST', path: `${API}/system/restart`, signal: opts?.signal });
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async channels(opts?: CallOptions): Promise<ListedChannel[]> {
    return (
      await this.http.json({ method: 'GET', path: `${API}/channels`, signal: opts?.signal }, ChannelListReply)
    ).channels;
  }

  private async put(channel: number, update: ChannelUpdate, opts?: CallOptions): Promise<void> {
    await this.http.ok({
      method: 'PUT',
      path: `${API}/channels/${channel}`,
      json: update,
      signal: opts?.signal,
    });
  }

  private async action(channel: number, verb: 'start' | 'stop', opts?: CallOptions): Promise<void> {
    await this.http.json(
      { method: 'POST', path: `${API}/channels/${channel}/${verb}`, signal: opts?.signal },
      ActionReply,
    );
  }
}

/** The main channel's config, with every further channel as a rendition. */
function configOfChannels(channels: readonly ListedChannel[]): DeviceConfig {
  const [main, ...rest] = channels;
  return { ...configFromWire(main!), renditions: rest.map((c) => configFromWire(c)) };
}

export const talon: DriverModule = {
  vendor: 'osprey-talon',
  capabilities,
  defaultPort: 80,
  create: (ctx) => new TalonDriver(ctx),
};

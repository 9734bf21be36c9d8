/**
 * Osprey Talon driver: the contract in terms of the (provisional) channel API of `wire.ts`.
 */
import {
  type ApplyOptions,
  type ApplyResult,
  type CallOptions,
  type Capabilities,
  DeviceAuthError,
  type DeviceConfig,
  type DeviceInfo,
  type DeviceRef,
  type DeviceStatus,
  type DriverContext,
  type DriverModule,
  type EncoderConfig,
  type EncoderDriver,
} from '../contract.js';
import { convergeConfig } from '../converge.js';
import { DeviceHttp, type HttpReply, parseWire, type SessionScheme } from '../http.js';
import {
  ActionReply,
  API,
  ChannelReply,
  configFromWire,
  DEFAULT_CREDENTIALS,
  infoFromWire,
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
  outputs: 4,
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

  async getConfig(opts?: CallOptions): Promise<DeviceConfig> {
    return configFromWire(
      await this.http.json({ method: 'GET', path: this.channel, signal: opts?.signal }, ChannelReply),
    );
  }

  applyConfig(config: EncoderConfig, opts?: ApplyOptions): Promise<ApplyResult> {
    return convergeConfig(config, {
      ref: this.http.ref,
      capabilities,
      onWrite: opts?.onWrite,
      read: () => this.getConfig(opts),
      // The reply echoes the channel, but the read-back that follows is what counts.
      write: async (sections) => {
        await this.http.ok({
          method: 'PUT',
          path: this.channel,
          json: updateToWire(sections),
          signal: opts?.signal,
        });
      },
    });
  }

  async start(opts?: CallOptions): Promise<void> {
    // The device answers a start of a running channel with its current state, so this is idempotent.
    await this.http.json(
      { method: 'POST', path: `${this.channel}/start`, signal: opts?.signal },
      ActionReply,
    );
  }

  async stop(opts?: CallOptions): Promise<void> {
    await this.http.json({ method: 'POST', path: `${this.channel}/stop`, signal: opts?.signal }, ActionReply);
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
}

export const talon: DriverModule = {
  vendor: 'osprey-talon',
  capabilities,
  defaultPort: 80,
  create: (ctx) => new TalonDriver(ctx),
};

/**
 * Teradek VidiU / VidiU Pro / VidiU Go / Cube driver: the contract in terms of the legacy CGI API of
 * `wire.ts`. Every reply comes with HTTP 200, refusals included, so each one is judged by its body
 * here: the shared HTTP layer only looks at the status.
 */

import type { Static, TSchema } from '@sinclair/typebox';
import {
  type ApplyOptions,
  type ApplyResult,
  type CallOptions,
  type Capabilities,
  DeviceAuthError,
  type DeviceConfig,
  type DeviceInfo,
  DeviceProtocolError,
  type DeviceRef,
  DeviceRejectedError,
  type DeviceStatus,
  type DriverContext,
  type DriverModule,
  type EncoderConfig,
  type EncoderDriver,
  UnsupportedConfigError,
} from '../../contract.js';
import { convergeConfig } from '../../converge.js';
import { DeviceHttp, type HttpReply, parseWire, type SessionScheme, type WireSchema } from '../../http.js';
import {
  ActionReply,
  APPLY_FORM,
  APPLY_OK,
  actionError,
  BroadcastReply,
  broadcastQuery,
  CGI,
  CodecStatusReply,
  configFromWire,
  DEFAULT_CREDENTIALS,
  EncoderReply,
  getiQuery,
  infoFromWire,
  loginForm,
  missingEchoes,
  ProductReply,
  parsePlainReply,
  QUERY,
  SENTINEL,
  SESSION_COOKIE,
  SETTINGS_QUERY,
  STATUS_QUERY,
  StatusReply,
  Stream1Status,
  sentinelMessage,
  sessionFromLogin,
  setForm,
  settingsToWire,
  statusFromWire,
} from './wire.js';

export const capabilities: Capabilities = {
  vendor: 'teradek-vidiu',
  family: 'Teradek VidiU / VidiU Pro / VidiU Go / Cube (legacy CGI)',
  models: ['VidiU', 'VidiU Pro', 'VidiU Go', 'Cube'],
  // [SRC, marketing] RTMP (rtmps:// on newer firmware); SRT on some units is not reachable over any
  // documented API, WHIP not at all.
  targets: ['rtmp'],
  video: {
    configurable: true,
    // H.265 exists on the VidiU Go only; the family is treated as H.264 to stay safe on older units.
    codecs: ['h264'],
    maxWidth: 1920,
    maxHeight: 1080,
    resolutions: [
      { width: 1920, height: 1080 },
      { width: 1280, height: 720 },
      { width: 854, height: 480 },
      { width: 640, height: 360 },
    ],
    fps: [23.98, 24, 25, 29.97, 30, 50, 59.94, 60],
    bitrateKbps: { min: 100, max: 10_000 },
    keyframeInterval: true,
  },
  audio: {
    configurable: true,
    codecs: ['aac'],
    bitrateKbps: { min: 32, max: 320 },
    sampleRates: [44100, 48000],
    channels: [1, 2],
  },
  // No reboot call in any public source.
  reboot: false,
  outputs: 1,
  // [SRC] The VidiU Go stops answering when polled faster than once a second.
  minPollIntervalMs: 1000,
  // Settings keys and the set/apply exchange are inferred (wire.ts); the rest is seen in working code.
  provisional: ['getConfig', 'applyConfig'],
};

/**
 * [SRC] Login posts the form; the session is the `serenity-session` cookie (or the `Session=` body).
 * The device says "expired" with a body, not a status: `##Access denied#` with HTTP 200.
 */
function vidiuSession(ref: DeviceRef, credentials: { username: string; password: string }): SessionScheme {
  return {
    async login(send, signal) {
      const reply = await send({ method: 'POST', path: CGI.api, form: loginForm(credentials), signal });
      const body = reply.text.trim();
      if (body === SENTINEL.invalidPassword)
        throw new DeviceAuthError(ref, 'login refused: invalid password');
      if (reply.status === 401 || reply.status === 403)
        throw new DeviceAuthError(ref, `login refused: HTTP ${reply.status}`);
      if (reply.status !== 200) {
        throw new DeviceRejectedError(ref, `login failed with HTTP ${reply.status}`, {
          retryable: reply.status >= 500,
        });
      }
      const session = sessionFromLogin(reply.headers['set-cookie'], body);
      if (!session) {
        const refusal = sentinelMessage(body);
        if (refusal !== undefined) throw new DeviceAuthError(ref, `login refused: ${refusal}`);
        throw new DeviceProtocolError(
          ref,
          `login reply carries no session: ${JSON.stringify(body.slice(0, 80))}`,
        );
      }
      return { cookie: `${SESSION_COOKIE}=${session}` };
    },
    isExpired: (reply) => reply.text.trim() === SENTINEL.accessDenied,
  };
}

class VidiuDriver implements EncoderDriver {
  readonly capabilities = capabilities;
  private readonly http: DeviceHttp;

  constructor(ctx: DriverContext) {
    const ref = { deviceId: ctx.endpoint.id, vendor: ctx.endpoint.vendor };
    this.http = new DeviceHttp({
      endpoint: ctx.endpoint,
      defaultPort: teradekVidiu.defaultPort,
      timeoutMs: ctx.timeoutMs,
      dispatcher: ctx.dispatcher,
      checkAddress: ctx.checkAddress,
      lookup: ctx.lookup,
      onFirstCertificate: ctx.onFirstCertificate,
      session: vidiuSession(ref, ctx.endpoint.credentials ?? DEFAULT_CREDENTIALS),
    });
  }

  login(opts?: CallOptions): Promise<void> {
    return this.http.login(opts?.signal);
  }

  async getInfo(opts?: CallOptions): Promise<DeviceInfo> {
    return infoFromWire(await this.geti(QUERY.product, ProductReply, opts));
  }

  async getConfig(opts?: CallOptions): Promise<DeviceConfig> {
    const { Broadcast } = await this.geti(SETTINGS_QUERY.broadcast, BroadcastReply, opts);
    const { Encoder } = await this.geti(SETTINGS_QUERY.encoder, EncoderReply, opts);
    return configFromWire(Broadcast, Encoder);
  }

  applyConfig(config: EncoderConfig, opts?: ApplyOptions): Promise<ApplyResult> {
    return convergeConfig(config, {
      ref: this.http.ref,
      capabilities,
      onWrite: opts?.onWrite,
      read: () => this.getConfig(opts),
      write: async (sections) => {
        // One `set` stages every changed key; nothing takes effect until `apply` [INF].
        const form = setForm(settingsToWire(sections));
        const staged = parsePlainReply(await this.post(form, opts));
        if (!staged.ok) throw new DeviceRejectedError(this.http.ref, staged.message);
        const missing = missingEchoes(form, staged.lines);
        if (missing.length)
          throw new DeviceProtocolError(this.http.ref, `set reply does not confirm ${missing.join(', ')}`);
        const applied = parsePlainReply(await this.post(APPLY_FORM, opts));
        if (!applied.ok) throw new DeviceRejectedError(this.http.ref, applied.message);
        if (!applied.lines.has(APPLY_OK))
          throw new DeviceProtocolError(this.http.ref, 'apply reply is not OK');
      },
    });
  }

  async start(opts?: CallOptions): Promise<void> {
    // The device is not known to ignore a repeated start, so ask first: starting or live = done.
    const state = (await this.readStatus(opts)).status['Broadcast-State'];
    if (state === 'Live' || state === 'Starting') return;
    await this.broadcast('start', opts);
  }

  async stop(opts?: CallOptions): Promise<void> {
    const state = (await this.readStatus(opts)).status['Broadcast-State'];
    if (state === 'Ready' || state === 'Stopping') return;
    await this.broadcast('stop', opts);
  }

  async getStatus(opts?: CallOptions): Promise<DeviceStatus> {
    const status = await this.readStatus(opts);
    // The encoder bitrate means something only on air; spare the (slow) device a second request.
    const bitrate = status.status['Broadcast-State'] === 'Live' ? await this.liveBitrate(opts) : undefined;
    return statusFromWire(status, bitrate);
  }

  async reboot(): Promise<void> {
    throw new UnsupportedConfigError(this.http.ref, [
      { field: 'reboot', reason: 'the legacy CGI API has no documented reboot call' },
    ]);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async geti<T extends TSchema>(
    key: string,
    wire: WireSchema<T>,
    opts?: CallOptions,
  ): Promise<Static<T>> {
    const reply = await this.http.ok({
      method: 'GET',
      path: CGI.json,
      query: getiQuery(key),
      signal: opts?.signal,
    });
    return parseWire(this.http.ref, wire, this.jsonBody(reply));
  }

  private async readStatus(opts?: CallOptions): Promise<StatusReply> {
    const reply = await this.http.ok({
      method: 'GET',
      path: CGI.system,
      query: STATUS_QUERY,
      signal: opts?.signal,
    });
    return parseWire(this.http.ref, StatusReply, this.jsonBody(reply));
  }

  /** [SRC] `stream1` is JSON inside a JSON string: parse twice, both checked. */
  private async liveBitrate(opts?: CallOptions): Promise<number> {
    const codec = await this.geti(QUERY.codecStatus, CodecStatusReply, opts);
    return parseWire(this.http.ref, Stream1Status, codec.Codec.Status.stream1).encoder.current_bitrate;
  }

  private async broadcast(action: 'start' | 'stop', opts?: CallOptions): Promise<void> {
    const reply = await this.http.ok({
      method: 'GET',
      path: CGI.system,
      query: broadcastQuery(action),
      signal: opts?.signal,
    });
    const error = actionError(parseWire(this.http.ref, ActionReply, this.jsonBody(reply)));
    if (error !== undefined) throw new DeviceRejectedError(this.http.ref, `broadcast ${action}: ${error}`);
  }

  private async post(form: Readonly<Record<string, string>>, opts?: CallOptions): Promise<string> {
    const reply = await this.http.ok({ method: 'POST', path: CGI.api, form, signal: opts?.signal });
    return reply.text;
  }

  /** A JSON endpoint that answers with a `##…#` sentinel refused the request in plain text. */
  private jsonBody(reply: HttpReply): string {
    const refusal = sentinelMessage(reply.text);
    if (refusal !== undefined) throw new DeviceRejectedError(this.http.ref, refusal);
    return reply.text;
  }
}

export const teradekVidiu: DriverModule = {
  vendor: 'teradek-vidiu',
  capabilities,
  defaultPort: 80,
  create: (ctx) => new VidiuDriver(ctx),
};

/**
 * Videon EdgeCaster / LiveEdge driver: the contract in terms of the local REST API v2 of `wire.ts`.
 *
 * The API has no sessions. Outputs are pre-existing out_stream slots: the driver manages the first
 * RTMP and the first SRT slot, keeps at most one of them configured, and starts/stops by writing the
 * slot's `enable` flag. Every write is a read-modify-write of the whole object.
 */

import type { Static, TSchema } from '@sinclair/typebox';
import {
  type ApplyOptions,
  type ApplyResult,
  type CallOptions,
  type Capabilities,
  type DeviceConfig,
  type DeviceInfo,
  type DeviceStatus,
  type DriverContext,
  type DriverModule,
  type EncoderConfig,
  type EncoderDriver,
  type Target,
  UnsupportedConfigError,
} from '../contract.js';
import { type ConfigWrite, convergeConfig } from '../converge.js';
import { DeviceHttp, type WireSchema } from '../http.js';
import {
  API,
  AUDIO_BITRATE_KBPS,
  type AudioEncoder,
  AudioEncoderReply,
  activeSlot,
  audioEncoderBody,
  configFromWire,
  DEFAULT_PORT,
  hasDestination,
  infoFromWire,
  type OutStream,
  OutStreamReply,
  OutStreamsReply,
  outStreamBody,
  outStreamCleared,
  outStreamWithTarget,
  RESOLUTIONS,
  SystemReply,
  slotIds,
  sourcesOf,
  statusFromWire,
  VIDEO_BITRATE_KBPS,
  type VideoEncoder,
  VideoEncoderReply,
  videoEncoderBody,
} from './wire.js';

export const capabilities: Capabilities = {
  vendor: 'videon',
  family: 'Videon EdgeCaster / VersaStreamer / LiveEdge (REST API v2)',
  models: ['EdgeCaster', 'EdgeCaster 4K', 'VersaStreamer', 'LiveEdge Node'],
  // [DOC] RTMP; [INF] SRT sub-object keys. No WHIP output in any Videon source.
  targets: ['rtmp', 'srt'],
  video: {
    configurable: true,
    codecs: ['h264', 'h265'],
    maxWidth: 1920,
    maxHeight: 1080,
    resolutions: RESOLUTIONS,
    // Only `limit_to_30_fps` exists: the output follows the input rate.
    fps: [],
    bitrateKbps: VIDEO_BITRATE_KBPS,
    keyframeInterval: true,
  },
  audio: {
    configurable: true,
    codecs: ['aac'],
    bitrateKbps: AUDIO_BITRATE_KBPS,
    // No sample-rate field in any vendor body.
    sampleRates: [],
    channels: [1, 2],
  },
  // No public reboot call on the local API (the cloud API has commands).
  reboot: false,
  // Three SRT and several RTMP slots exist, but the contract drives one target.
  outputs: 1,
  minPollIntervalMs: 1000,
  // Basic auth on :2020, the SRT keys, the status enum and slot selection are inferred (wire.ts).
  provisional: ['login', 'getConfig', 'applyConfig', 'getStatus', 'start', 'stop'],
};

/** What one read of the device returned, kept so a write can send back whole objects. */
interface Snapshot {
  rtmp?: OutStream;
  srt?: OutStream;
  active?: OutStream;
  video?: VideoEncoder;
  audio?: AudioEncoder;
}

class VideonDriver implements EncoderDriver {
  readonly capabilities = capabilities;
  private readonly http: DeviceHttp;

  constructor(ctx: DriverContext) {
    const creds = ctx.endpoint.credentials;
    this.http = new DeviceHttp({
      endpoint: ctx.endpoint,
      defaultPort: DEFAULT_PORT,
      timeoutMs: ctx.timeoutMs,
      dispatcher: ctx.dispatcher,
      checkAddress: ctx.checkAddress,
      // [INF] Whether :2020 enforces auth once UI auth is on is undocumented; send Basic when given.
      ...(creds
        ? {
            headers: {
              authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`,
            },
          }
        : {}),
    });
  }

  /** No sessions on this API: credentials go with every request, so there is nothing to open. */
  login(opts?: CallOptions): Promise<void> {
    return this.http.login(opts?.signal);
  }

  async getInfo(opts?: CallOptions): Promise<DeviceInfo> {
    return infoFromWire(await this.get(`${API}/system`, SystemReply, opts));
  }

  async getConfig(opts?: CallOptions): Promise<DeviceConfig> {
    const s = await this.read(opts, true);
    return configFromWire(s.active, s.video, s.audio);
  }

  async applyConfig(config: EncoderConfig, opts?: ApplyOptions): Promise<ApplyResult> {
    const t = config.target;
    // The device keeps URL and key as one string split at the last '/'; such a key cannot round-trip.
    if (t.protocol === 'rtmp' && t.streamKey.includes('/')) {
      throw new UnsupportedConfigError(this.http.ref, [
        {
          field: 'target.streamKey',
          reason: 'videon stores url/key as one URL: the key must not contain "/"',
        },
      ]);
    }
    let last: Snapshot = {};
    return convergeConfig(config, {
      ref: this.http.ref,
      capabilities,
      onWrite: opts?.onWrite,
      read: async () => {
        last = await this.read(opts, true);
        return configFromWire(last.active, last.video, last.audio);
      },
      write: (sections) => this.write(sections, last, opts),
    });
  }

  async start(opts?: CallOptions): Promise<void> {
    const { active } = await this.read(opts, false);
    if (!active) throw this.noSlot('rtmp');
    if (active.enable) return; // already on: no PUT
    await this.put(
      `${API}/out_streams/${active.out_stream_id}`,
      outStreamBody(active, { enable: true }),
      opts,
    );
  }

  async stop(opts?: CallOptions): Promise<void> {
    const { rtmp, srt } = await this.read(opts, false);
    // Stop every managed slot that is on, so nothing keeps streaming after a stop.
    for (const slot of [rtmp, srt]) {
      if (slot?.enable) {
        await this.put(
          `${API}/out_streams/${slot.out_stream_id}`,
          outStreamBody(slot, { enable: false }),
          opts,
        );
      }
    }
  }

  async getStatus(opts?: CallOptions): Promise<DeviceStatus> {
    return statusFromWire((await this.read(opts, false)).active);
  }

  async reboot(): Promise<void> {
    throw new UnsupportedConfigError(this.http.ref, [
      { field: 'reboot', reason: 'the Videon local API v2 has no documented reboot call' },
    ]);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  /** Reads the managed slots and, when asked, the encoders the active slot draws from. */
  private async read(opts: CallOptions | undefined, withEncoders: boolean): Promise<Snapshot> {
    const ids = slotIds(await this.get(`${API}/out_streams`, OutStreamsReply, opts));
    const s: Snapshot = {};
    if (ids.rtmp !== undefined)
      s.rtmp = await this.get(`${API}/out_streams/${ids.rtmp}`, OutStreamReply, opts);
    if (ids.srt !== undefined) s.srt = await this.get(`${API}/out_streams/${ids.srt}`, OutStreamReply, opts);
    s.active = activeSlot(s.rtmp, s.srt);
    if (withEncoders && s.active) {
      const src = sourcesOf(s.active);
      if (src.video !== undefined)
        s.video = await this.get(`${API}/encoders/vid_encoders/${src.video}`, VideoEncoderReply, opts);
      if (src.audio !== undefined)
        s.audio = await this.get(`${API}/encoders/aud_encoders/${src.audio}`, AudioEncoderReply, opts);
    }
    return s;
  }

  private async write(sections: ConfigWrite, s: Snapshot, opts?: CallOptions): Promise<void> {
    if (sections.target) await this.writeTarget(sections.target, s, opts);
    const src = s.active ? sourcesOf(s.active) : {};
    if (sections.video) {
      if (src.video === undefined) throw this.noEncoder('video');
      const path = `${API}/encoders/vid_encoders/${src.video}`;
      // Re-read only when a target switch moved us to a slot fed by another encoder.
      const enc =
        s.video && (s.video.vid_encoder_id ?? src.video) === src.video
          ? s.video
          : await this.get(path, VideoEncoderReply, opts);
      await this.put(path, videoEncoderBody(enc, sections.video), opts);
    }
    if (sections.audio) {
      if (src.audio === undefined) throw this.noEncoder('audio');
      const path = `${API}/encoders/aud_encoders/${src.audio}`;
      const enc =
        s.audio && (s.audio.aud_encoder_id ?? src.audio) === src.audio
          ? s.audio
          : await this.get(path, AudioEncoderReply, opts);
      await this.put(path, audioEncoderBody(enc, sections.audio), opts);
    }
  }

  /**
   * Writes the target into its protocol's slot. The other managed slot is emptied and disabled first
   * (never two live outputs), and a stream that was live there stays live on the new slot.
   */
  private async writeTarget(target: Target, s: Snapshot, opts?: CallOptions): Promise<void> {
    const protocol = target.protocol === 'srt' ? 'srt' : 'rtmp';
    const slot = s[protocol];
    if (!slot) throw this.noSlot(protocol);
    const other = s[protocol === 'rtmp' ? 'srt' : 'rtmp'];
    let live = slot.enable;
    if (other && (other.enable || hasDestination(other))) {
      live ||= other.enable;
      await this.put(`${API}/out_streams/${other.out_stream_id}`, outStreamCleared(other), opts);
    }
    await this.put(`${API}/out_streams/${slot.out_stream_id}`, outStreamWithTarget(slot, target, live), opts);
    // Encoders follow the slot now carrying the target (both slots normally share them).
    s.active = slot;
  }

  private get<T extends TSchema>(path: string, wire: WireSchema<T>, opts?: CallOptions): Promise<Static<T>> {
    return this.http.json({ method: 'GET', path, signal: opts?.signal }, wire);
  }

  private async put(path: string, json: unknown, opts?: CallOptions): Promise<void> {
    await this.http.ok({ method: 'PUT', path, json, signal: opts?.signal });
  }

  private noSlot(protocol: string): UnsupportedConfigError {
    return new UnsupportedConfigError(this.http.ref, [
      { field: 'target.protocol', reason: `this unit has no ${protocol} out_stream slot` },
    ]);
  }

  private noEncoder(kind: 'video' | 'audio'): UnsupportedConfigError {
    return new UnsupportedConfigError(this.http.ref, [
      { field: kind, reason: `the output references no ${kind} encoder` },
    ]);
  }
}

export const videon: DriverModule = {
  vendor: 'videon',
  capabilities,
  defaultPort: DEFAULT_PORT,
  create: (ctx) => new VideonDriver(ctx),
};

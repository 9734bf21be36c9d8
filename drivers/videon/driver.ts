/**
 * Videon EdgeCaster / LiveEdge driver: the contract in terms of the local REST API v2 of `wire.ts`.
 *
 * The API has no sessions. Outputs are pre-existing out_stream slots: the driver manages the first
 * RTMP and the first SRT slot for the main stream, keeps at most one of them configured, puts
 * multi-bitrate renditions on the further SRT slots (each with its own video encoder), and
 * starts/stops by writing the slots' `enable` flags. Every write is a read-modify-write of the whole
 * object.
 */

import { isDeepStrictEqual } from 'node:util';
import type { Static, TSchema } from '@sinclair/typebox';
import {
  type ApplyOptions,
  type ApplyResult,
  type CallOptions,
  type Capabilities,
  type ConfigReadOptions,
  type DeviceConfig,
  type DeviceInfo,
  type DeviceStatus,
  type DriverContext,
  type DriverModule,
  type EncoderConfig,
  type EncoderDriver,
  type Rendition,
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
  CreatedReply,
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
  renditionSlotIds,
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
  // The main stream (first RTMP or SRT slot) and two renditions on SRT outputs 2 and 3, each with a
  // video encoder of its own [DOC: encoders are created with POST; DOC, UI: three SRT outputs].
  outputs: 3,
  renditionTargets: ['srt'],
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
  /** The rendition slots, when read: rendition i = `renditions[i]`. */
  renditions?: RenditionSlot[];
}

interface RenditionSlot {
  slot: OutStream;
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
      lookup: ctx.lookup,
      onFirstCertificate: ctx.onFirstCertificate,
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

  async getConfig(opts?: ConfigReadOptions): Promise<DeviceConfig> {
    return configOf(await this.read(opts, true, opts?.renditions ?? false));
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
    // Renditions draw on the main stream's audio encoder: they cannot have audio of their own.
    const ownAudio = (config.renditions ?? []).findIndex(
      (r) => r.audio && !isDeepStrictEqual(r.audio, config.audio),
    );
    if (ownAudio >= 0) {
      throw new UnsupportedConfigError(this.http.ref, [
        {
          field: `renditions.${ownAudio}.audio`,
          reason: "videon renditions share the main stream's audio encoder: give the same audio (or none)",
        },
      ]);
    }
    let last: Snapshot = {};
    return convergeConfig(config, {
      ref: this.http.ref,
      capabilities,
      onWrite: opts?.onWrite,
      read: async (renditions) => {
        last = await this.read(opts, true, renditions);
        return configOf(last);
      },
      write: (sections) => this.write(sections, last, opts),
    });
  }

  /** Enables the main slot, then every rendition slot that has a destination. */
  async start(opts?: CallOptions): Promise<void> {
    const { active, renditions = [] } = await this.read(opts, false, true);
    if (!active) throw this.noSlot('rtmp');
    const off = [active, ...renditions.map((r) => r.slot).filter(hasDestination)].filter(
      (slot) => !slot.enable,
    );
    for (const slot of off)
      await this.put(`${API}/out_streams/${slot.out_stream_id}`, outStreamBody(slot, { enable: true }), opts);
  }

  async stop(opts?: CallOptions): Promise<void> {
    const { rtmp, srt, renditions = [] } = await this.read(opts, false, true);
    // Stop every managed slot that is on, so nothing keeps streaming after a stop.
    for (const slot of [rtmp, srt, ...renditions.map((r) => r.slot)]) {
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

  /**
   * Reads the managed slots and, when asked, the encoders the active slot draws from, and the
   * rendition slots (with their encoders when `withEncoders`).
   */
  private async read(
    opts: CallOptions | undefined,
    withEncoders: boolean,
    withRenditions = false,
  ): Promise<Snapshot> {
    const list = await this.get(`${API}/out_streams`, OutStreamsReply, opts);
    const ids = slotIds(list);
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
    if (withRenditions)
      s.renditions = await this.renditionSlots(opts, withEncoders, s, renditionSlotIds(list));
    return s;
  }

  /** The rendition slots (read after the main ones; encoders the main slot shares are not read twice). */
  private async renditionSlots(
    opts: CallOptions | undefined,
    withEncoders: boolean,
    main: Snapshot,
    ids: readonly number[],
  ): Promise<RenditionSlot[]> {
    const mainSrc = main.active ? sourcesOf(main.active) : {};
    const slots: RenditionSlot[] = [];
    for (const id of ids) {
      const r: RenditionSlot = { slot: await this.get(`${API}/out_streams/${id}`, OutStreamReply, opts) };
      const src = sourcesOf(r.slot);
      if (withEncoders && src.video !== undefined)
        r.video =
          src.video === mainSrc.video && main.video
            ? main.video
            : await this.get(`${API}/encoders/vid_encoders/${src.video}`, VideoEncoderReply, opts);
      if (withEncoders && src.audio !== undefined)
        r.audio =
          src.audio === mainSrc.audio && main.audio
            ? main.audio
            : await this.get(`${API}/encoders/aud_encoders/${src.audio}`, AudioEncoderReply, opts);
      slots.push(r);
    }
    return slots;
  }

  private async write(sections: ConfigWrite, s: Snapshot, opts?: CallOptions): Promise<void> {
    // Whether the stream is live, as read before any write (a target switch keeps it so).
    const live = !!(s.rtmp?.enable || s.srt?.enable);
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
    if (sections.renditions)
      await this.writeRenditions(
        sections.renditions,
        s,
        { live, mainVideo: src.video, mainAudio: src.audio },
        opts,
      );
  }

  /**
   * Each rendition on its SRT slot with a video encoder of its own (created when the slot still
   * draws from the main encoder) and the main audio encoder. While the main stream is live a
   * written rendition goes live too; a cleared one is emptied and disabled.
   */
  private async writeRenditions(
    renditions: ReadonlyMap<number, Rendition | null>,
    s: Snapshot,
    main: { live: boolean; mainVideo?: number; mainAudio?: number },
    opts?: CallOptions,
  ): Promise<void> {
    for (const [index, rendition] of renditions) {
      const r = s.renditions?.[index];
      if (!r) throw this.noSlot(`srt (rendition ${index} needs SRT output ${index + 2})`);
      const path = `${API}/out_streams/${r.slot.out_stream_id}`;
      if (!rendition) {
        if (r.slot.enable || hasDestination(r.slot)) await this.put(path, outStreamCleared(r.slot), opts);
        continue;
      }
      let encoderId = sourcesOf(r.slot).video;
      let encoder = r.video;
      if (encoderId === undefined || encoderId === main.mainVideo || !encoder) {
        const created = await this.http.json(
          { method: 'POST', path: `${API}/encoders/vid_encoders`, signal: opts?.signal },
          CreatedReply,
        );
        encoderId = created.id;
        encoder = await this.get(`${API}/encoders/vid_encoders/${encoderId}`, VideoEncoderReply, opts);
      }
      await this.put(
        `${API}/encoders/vid_encoders/${encoderId}`,
        videoEncoderBody(encoder, rendition.video),
        opts,
      );
      const body = outStreamWithTarget(r.slot, rendition.target, main.live);
      body.video_sources = { video_source_ids: [encoderId] };
      if (main.mainAudio !== undefined) body.audio_sources = { audio_source_ids: [main.mainAudio] };
      await this.put(path, body, opts);
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

/** The main config from the active slot and its encoders; renditions from their slots, when read. */
function configOf(s: Snapshot): DeviceConfig {
  return {
    ...configFromWire(s.active, s.video, s.audio),
    ...(s.renditions
      ? { renditions: s.renditions.map((r) => configFromWire(r.slot, r.video, r.audio)) }
      : {}),
  };
}

export const videon: DriverModule = {
  vendor: 'videon',
  capabilities,
  defaultPort: DEFAULT_PORT,
  create: (ctx) => new VideonDriver(ctx),
};

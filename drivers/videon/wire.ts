/**
 * Videon EdgeCaster / VersaStreamer / LiveEdge local REST API v2 (port 2020) — wire schemas and the
 * whole vendor ↔ contract mapping. The driver calls only what this file exports.
 *
 * Sources (see /work/shared/vendor-apis.md §2 and Addendum A):
 *  - [DOC-sample] `VideonLabs/liveedge-compute-code-examples`: `videon-restful/videon_restful.py`
 *    (every URL), `custom-ui/app.py` (RTMP configure + go-live, single-quoted service.data),
 *    `custom-ui/config/*.json` (full encoder bodies), `ad-insertion-button/input.py` (POST create →
 *    201 {"id":n}; strip `status`, `seconds_in_status`, `data_encoder_id` before PUT).
 *  - [SRC] Touchstream monitoring script: `GET /v2/out_streams/` then `/v2/out_streams/{id}`,
 *    `output_type.rtmp.status == "STREAM_RUNNING"` (anything else = down).
 *  - [DOC] "Videon Streaming REST API" HTML, System section only: two `/v2/system` shapes (older
 *    `xml` + `static_network.dns_address`; fw 10.3.0 `network` + `dns_addresses[]`).
 *  - [DOC, UI] Videon SRT article: Caller/Listener, URL (host), port, Stream ID, passphrase,
 *    latency as separate fields; three pre-existing SRT output slots.
 *
 * Everything marked [INF] is inferred: the SRT sub-object keys, the status enum beyond
 * STREAM_RUNNING, the `generic_rtmp` service name, the RES_640X360 value, value ranges, Basic auth
 * on :2020 and which fields are read-only. The simulator serves what this file describes; correct
 * both together when the full vendor document is obtained.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type {
  AudioSettings,
  DeviceConfig,
  DeviceInfo,
  DeviceStatus,
  StreamState,
  Target,
  VideoSettings,
} from '../contract.js';
import { wireSchema } from '../http.js';
import { encodeServiceData, parseServiceData } from './service-data.js';

export { encodeServiceData, parseServiceData } from './service-data.js';

/** [DOC] Everything lives under this prefix, on port 2020. */
export const API = '/v2';
export const DEFAULT_PORT = 2020;

// ----- enums and limits (shared with the simulator so both tell the same story) --------------------

/** [DOC] H264 and H265 seen in vendor configs. */
export const VIDEO_CODECS = { h264: 'H264', h265: 'H265' } as const;
/** [DOC] `mpeg4_aac` is the only audio codec in any sample. */
export const AAC = 'mpeg4_aac';
/** [DOC] RES_1920X1080, RES_1280X720 seen; RES_640X360 from the UI's 640x360 entry [INF]. */
export const RESOLUTIONS = [
  { width: 1920, height: 1080 },
  { width: 1280, height: 720 },
  { width: 640, height: 360 },
] as const;
/** [DOC] Keyframe interval units. */
export const KEYFRAME_UNITS = ['FRAMES', 'MILLISECONDS'] as const;
/** [DOC] STEREO seen; MONO [INF]. Maps to contract channels 2 / 1. */
export const MIX_MODES = { 1: 'MONO', 2: 'STEREO' } as const;
/** [INF] Service name for a plain RTMP destination (only `aws_ivs` is seen in public code). */
export const GENERIC_RTMP = 'generic_rtmp';
/** [INF] SRT encryption enum; AES_128 proposed by the research notes. */
export const SRT_ENCRYPTION = ['NONE', 'AES_128', 'AES_256'] as const;
/** [INF] Limits; the vendor says enums and ranges vary per model. */
export const VIDEO_BITRATE_KBPS = { min: 100, max: 20_000 } as const;
export const AUDIO_BITRATE_KBPS = { min: 32, max: 320 } as const;
export const KEYFRAME_FRAMES = { min: 1, max: 1000 } as const;

/**
 * Keys the device owns and refuses on PUT [DOC-sample strips them; the full list is INF]. An object's
 * own `<kind>_id` is stripped too; references such as `in_channel_id` and `sync_group_id` are kept,
 * because the vendor's own full PUT bodies carry them. `possible_values` (the v1 enum wrapper's
 * option list, maybe still returned by v2) is informational [INF].
 */
export const READ_ONLY_KEYS = ['status', 'seconds_in_status', 'possible_values'] as const;

// ----- replies ---------------------------------------------------------------------------------------

const Enum = <T extends TSchema>(value: T) => Type.Object({ value });

/**
 * [DOC] GET /v2/system. Two firmware shapes are accepted: older `xml{…}` + `static_network.dns_address`
 * (string), 10.3.0 `network{…}` + `dns_addresses` (array). No model field is documented.
 */
export const SystemReply = wireSchema(
  'videon system',
  Type.Object({
    device_name: Type.Optional(Type.String()),
    version: Type.String(),
    device_id: Type.Optional(Type.String()),
    mac_address: Type.Optional(Type.String()),
    ip_address: Type.Optional(Type.String()),
    ip_scheme: Type.Optional(Type.String()),
    net_connected: Type.Optional(Type.Boolean()),
    network: Type.Optional(Type.Object({ dns_addresses: Type.Optional(Type.Array(Type.String())) })),
    static_network: Type.Optional(
      Type.Object({
        dns_address: Type.Optional(Type.String()),
        dns_addresses: Type.Optional(Type.Array(Type.String())),
      }),
    ),
    xml: Type.Optional(Type.Object({})),
  }),
);
export type WireSystem = Static<typeof SystemReply.schema>;

/** [DOC] GET /v2/encoders */
export const EncodersReply = wireSchema(
  'videon encoders',
  Type.Object({
    vid_encoders: Type.Array(Type.Object({ vid_encoder_id: Type.Integer() })),
    aud_encoders: Type.Array(Type.Object({ aud_encoder_id: Type.Integer() })),
  }),
);

/** [DOC] 201 on POST create. */
export const CreatedReply = wireSchema('videon created', Type.Object({ id: Type.Integer() }));

const Profile = Type.Object({ profile: Enum(Type.String()) });

/** [DOC] GET/PUT /v2/encoders/vid_encoders/{id}. Video bitrate is a number (kbps). */
export const VideoEncoder = Type.Object({
  vid_encoder_id: Type.Optional(Type.Integer()),
  name: Type.Optional(Type.String()),
  in_channel_id: Type.Optional(Type.Integer()),
  sync_group_id: Type.Optional(Type.Integer()),
  bitrate: Enum(Type.Number({ minimum: 0 })),
  bitrate_mode: Type.Optional(Enum(Type.String())),
  latency_mode: Type.Optional(Enum(Type.String())),
  keyframe_interval: Type.Object({
    interval: Type.Integer({ minimum: 0 }),
    unit: Type.Union(KEYFRAME_UNITS.map((u) => Type.Literal(u))),
  }),
  // A string, not a union: an unknown scaler value (passthrough [INF]) is reported as "no size".
  scaling_resolution: Enum(Type.String()),
  limit_to_30_fps: Type.Optional(Type.Boolean()),
  klv_timestamp_enabled: Type.Optional(Type.Boolean()),
  codec: Type.Object({
    value: Type.String(),
    h264: Type.Optional(Profile),
    h265: Type.Optional(Profile),
  }),
  status: Type.Optional(Type.String()),
  seconds_in_status: Type.Optional(Type.Number()),
});
export type VideoEncoder = Static<typeof VideoEncoder>;
export const VideoEncoderReply = wireSchema('videon video encoder', VideoEncoder);

/**
 * [DOC] GET/PUT /v2/encoders/aud_encoders/{id}. The bitrate is a STRING ("128") on the wire; a number
 * is accepted on read too so a firmware that fixes the quirk does not break reads [INF].
 */
export const AudioEncoder = Type.Object({
  aud_encoder_id: Type.Optional(Type.Integer()),
  name: Type.Optional(Type.String()),
  in_channel_id: Type.Optional(Type.Integer()),
  codec: Enum(Type.String()),
  mix_mode: Type.Optional(Enum(Type.String())),
  bitrate: Enum(Type.Union([Type.String({ pattern: '^\\d+$' }), Type.Integer({ minimum: 0 })])),
  bitrate_mode: Type.Optional(Enum(Type.String())),
  status: Type.Optional(Type.String()),
  seconds_in_status: Type.Optional(Type.Number()),
});
export type AudioEncoder = Static<typeof AudioEncoder>;
export const AudioEncoderReply = wireSchema('videon audio encoder', AudioEncoder);

/** [DOC] `output_type.rtmp`: destination dictionary JSON-encoded in `service.data`. */
const RtmpOutput = Type.Object({
  status: Type.Optional(Type.String()),
  /** [INF] as on encoder objects: how long the output has been in `status`. */
  seconds_in_status: Type.Optional(Type.Number({ minimum: 0 })),
  service: Type.Object({ value: Type.String(), data: Type.String() }),
});

/** [INF] Every key of `output_type.srt` is inferred; no public source shows this object. */
const SrtOutput = Type.Object({
  status: Type.Optional(Type.String()),
  seconds_in_status: Type.Optional(Type.Number({ minimum: 0 })),
  mode: Enum(Type.String()),
  /** "srt://host" — the port is a separate field (UI and Mux notes: host, port, stream id apart). */
  url: Type.String(),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  stream_id: Type.Optional(Type.String()),
  latency_ms: Type.Integer({ minimum: 0 }),
  passphrase: Type.Optional(Type.String()),
  encryption: Type.Optional(Enum(Type.String())),
});
export type WireSrt = Static<typeof SrtOutput>;

/** [DOC] GET/PUT /v2/out_streams/{id}: in the detail `output_type` is `{value, <type>: {…}}`. */
export const OutStream = Type.Object({
  out_stream_id: Type.Integer(),
  enable: Type.Boolean(),
  video_sources: Type.Optional(Type.Object({ video_source_ids: Type.Array(Type.Integer()) })),
  audio_sources: Type.Optional(Type.Object({ audio_source_ids: Type.Array(Type.Integer()) })),
  output_type: Type.Object({
    value: Type.String(),
    rtmp: Type.Optional(RtmpOutput),
    srt: Type.Optional(SrtOutput),
  }),
});
export type OutStream = Static<typeof OutStream>;
export const OutStreamReply = wireSchema('videon out_stream', OutStream);

/**
 * [DOC] GET /v2/out_streams: in the LIST `output_type` is a plain string ("rtmp"). The detail's
 * `{value}` form is accepted too, in case a firmware unifies them [INF].
 */
export const OutStreamsReply = wireSchema(
  'videon out_streams',
  Type.Object({
    out_streams: Type.Array(
      Type.Object({
        out_stream_id: Type.Integer(),
        output_type: Type.Union([Type.String(), Enum(Type.String())]),
      }),
    ),
  }),
);
export type OutStreamList = Static<typeof OutStreamsReply.schema>;

// ----- slots -------------------------------------------------------------------------------------------

/** The out_streams the driver manages: the first RTMP and the first SRT slot (slots pre-exist). */
export interface SlotIds {
  rtmp?: number;
  srt?: number;
}

export function slotIds(list: OutStreamList): SlotIds {
  const ids: SlotIds = {};
  for (const item of list.out_streams) {
    const type = typeof item.output_type === 'string' ? item.output_type : item.output_type.value;
    if ((type === 'rtmp' || type === 'srt') && ids[type] === undefined) ids[type] = item.out_stream_id;
  }
  return ids;
}

/**
 * The slots renditions go to: the SRT outputs after the first (SRT 2 and 3 on a 4K unit [DOC, UI]),
 * in list order. The first RTMP and SRT slots carry the main stream.
 */
export function renditionSlotIds(list: OutStreamList): number[] {
  const srt = list.out_streams.filter(
    (item) => (typeof item.output_type === 'string' ? item.output_type : item.output_type.value) === 'srt',
  );
  return srt.slice(1).map((item) => item.out_stream_id);
}

/** True when the slot holds a destination (an RTMP URL or an SRT host). */
export function hasDestination(os: OutStream): boolean {
  if (os.output_type.value === 'rtmp') return rtmpFullUrl(os) !== '';
  if (os.output_type.value === 'srt') return srtHost(os.output_type.srt) !== '';
  return false;
}

/**
 * Which managed slot carries "the" target. The driver keeps at most one slot configured (it clears
 * the other when switching protocol), so normally there is no choice; on a unit set up by hand, an
 * enabled slot wins over a disabled one, and RTMP over SRT.
 */
export function activeSlot(rtmp?: OutStream, srt?: OutStream): OutStream | undefined {
  const slots = [rtmp, srt].filter((s): s is OutStream => s !== undefined);
  const configured = slots.filter(hasDestination);
  return configured.find((s) => s.enable) ?? configured[0] ?? slots.find((s) => s.enable) ?? slots[0];
}

// ----- mapping: wire → contract --------------------------------------------------------------------

/** [INF] No model field exists in /v2/system; the family name stands in for it. */
export const UNREPORTED_MODEL = 'Videon EdgeCaster/LiveEdge';

export function infoFromWire(system: WireSystem): DeviceInfo {
  return {
    model: UNREPORTED_MODEL,
    firmware: system.version,
    ...(system.device_id ? { serial: system.device_id } : {}),
    ...(system.device_name ? { name: system.device_name } : {}),
  };
}

export function configFromWire(
  active: OutStream | undefined,
  video: VideoEncoder | undefined,
  audio: AudioEncoder | undefined,
): DeviceConfig {
  const target = active ? targetFromWire(active) : undefined;
  return {
    ...(target ? { target } : {}),
    ...(video ? { video: videoFromWire(video) } : {}),
    ...(audio ? { audio: audioFromWire(audio) } : {}),
  };
}

function rtmpFullUrl(os: OutStream): string {
  const service = os.output_type.rtmp?.service;
  if (!service) return '';
  const url = parseServiceData(service.data)?.url;
  return typeof url === 'string' ? url : '';
}

/**
 * The device stores `<stream url>/<stream key>` as one URL. On read the LAST path segment is the key
 * and everything before the last `/` is the URL. A key that itself contains `/` cannot round-trip,
 * which is why the driver refuses such keys before writing.
 */
export function splitRtmpUrl(full: string): { url: string; streamKey: string } {
  const slash = full.lastIndexOf('/');
  const afterScheme = full.indexOf('://') + 3;
  if (slash < afterScheme) return { url: full, streamKey: '' };
  return { url: full.slice(0, slash), streamKey: full.slice(slash + 1) };
}

/** Joins URL and key with exactly one `/`. */
export function joinRtmpUrl(url: string, streamKey: string): string {
  return `${url.replace(/\/+$/, '')}/${streamKey.replace(/^\/+/, '')}`;
}

function srtHost(srt: WireSrt | undefined): string {
  if (!srt) return '';
  const rest = srt.url.replace(/^srt:\/\//i, '');
  // Tolerate "host:port" in the URL field; the separate `port` field stays authoritative.
  const withPort = /^(\[[^\]]*\]|[^:]*):\d+$/.exec(rest);
  return withPort ? withPort[1]! : rest;
}

export function targetFromWire(os: OutStream): Target | undefined {
  const { output_type: type } = os;
  if (type.value === 'rtmp') {
    const service = type.rtmp?.service;
    // A non-generic service (aws_ivs carries a channel ARN, not a URL) is not a target we manage.
    if (!service || service.value !== GENERIC_RTMP) return undefined;
    const full = rtmpFullUrl(os);
    return full ? { protocol: 'rtmp', ...splitRtmpUrl(full) } : undefined;
  }
  if (type.value === 'srt' && type.srt) {
    const srt = type.srt;
    const host = srtHost(srt);
    // Listener mode is never set by us; report it as no usable target so a diff rewrites it.
    if (!host || srt.mode.value.toLowerCase() !== 'caller') return undefined;
    const encrypted = srt.encryption !== undefined && srt.encryption.value !== 'NONE';
    return {
      protocol: 'srt',
      mode: 'caller',
      host,
      port: srt.port,
      latencyMs: srt.latency_ms,
      ...(srt.stream_id ? { streamId: srt.stream_id } : {}),
      ...(encrypted && srt.passphrase ? { passphrase: srt.passphrase } : {}),
    };
  }
  return undefined;
}

export function videoFromWire(enc: VideoEncoder): Partial<VideoSettings> {
  const codec = Object.entries(VIDEO_CODECS).find(([, wire]) => wire === enc.codec.value)?.[0];
  const size = /^RES_(\d+)X(\d+)$/.exec(enc.scaling_resolution.value);
  const kf = enc.keyframe_interval;
  return {
    ...(codec ? { codec: codec as VideoSettings['codec'] } : {}),
    bitrateKbps: Math.round(enc.bitrate.value),
    ...(size ? { width: Number(size[1]), height: Number(size[2]) } : {}),
    // A millisecond interval has no frame count while the frame rate follows the input: left out, so
    // a config that names a frame count rewrites it in frames.
    ...(kf.unit === 'FRAMES' ? { keyframeIntervalFrames: kf.interval } : {}),
  };
}

export function audioFromWire(enc: AudioEncoder): Partial<AudioSettings> {
  const mix = enc.mix_mode?.value;
  const channels = mix === MIX_MODES[1] ? 1 : mix === MIX_MODES[2] ? 2 : undefined;
  return {
    ...(enc.codec.value === AAC ? { codec: 'aac' as const } : {}),
    bitrateKbps: Number(enc.bitrate.value),
    ...(channels ? { channels } : {}),
  };
}

/**
 * [INF] Output status → stream state. Only STREAM_RUNNING is confirmed; the rest are guesses kept in
 * one table. A disabled output is idle whatever its status says; an enabled one with a status not in
 * the table is "starting" unless the word says it failed.
 */
export const OUTPUT_STATUS: Readonly<Record<string, StreamState>> = {
  STREAM_RUNNING: 'streaming',
  STREAM_CONNECTING: 'starting',
  STREAM_STARTING: 'starting',
  STREAM_STOPPED: 'starting',
  STREAM_ERROR: 'error',
  STREAM_FAILED: 'error',
  STREAM_DISCONNECTED: 'error',
};

export function statusFromWire(active: OutStream | undefined): DeviceStatus {
  if (!active?.enable) return { state: 'idle' };
  const sub = active.output_type.value === 'srt' ? active.output_type.srt : active.output_type.rtmp;
  const status = sub?.status ?? '';
  const state = OUTPUT_STATUS[status] ?? (/ERROR|FAIL/i.test(status) ? 'error' : 'starting');
  return {
    state,
    ...(state === 'streaming' && sub?.seconds_in_status !== undefined
      ? { uptimeSec: sub.seconds_in_status }
      : {}),
    ...(state === 'error' && status ? { lastError: status } : {}),
  };
}

// ----- mapping: contract → wire (read-modify-write bodies) -------------------------------------------

type Json = Record<string, unknown>;

/** A deep copy of `obj` without the read-only keys and without the object's own id key. */
export function stripReadOnly(obj: object, ownIdKey: string): Json {
  const copy = structuredClone(obj) as Json;
  delete copy[ownIdKey];
  const strip = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(strip);
    else if (value && typeof value === 'object') {
      const record = value as Json;
      for (const key of READ_ONLY_KEYS) delete record[key];
      Object.values(record).forEach(strip);
    }
  };
  strip(copy);
  return copy;
}

/**
 * The whole out_stream as it goes back to the device: read-only keys stripped, and RTMP service data
 * re-encoded as proper JSON (the device may hold the single-quoted form a vendor sample wrote).
 */
export function outStreamBody(os: OutStream, changes: { enable?: boolean } = {}): Json {
  const body = stripReadOnly(os, 'out_stream_id');
  if (changes.enable !== undefined) body.enable = changes.enable;
  const service = (body.output_type as { rtmp?: { service?: { data?: unknown } } }).rtmp?.service;
  if (service && typeof service.data === 'string') {
    const parsed = parseServiceData(service.data);
    if (parsed && service.data.trim() !== '') service.data = encodeServiceData(parsed);
  }
  return body;
}

/** The slot's whole object with `target` written into it (the slot's type matches the protocol). */
export function outStreamWithTarget(os: OutStream, target: Target, enable: boolean): Json {
  const body = outStreamBody(os, { enable });
  const type = body.output_type as Json;
  if (target.protocol === 'rtmp') {
    const rtmp = (type.rtmp ?? {}) as Json;
    const old = (rtmp.service ?? {}) as Json;
    // Keep unknown keys of a generic service's data; another service's keys (e.g. an IVS ARN) go.
    const keep = old.value === GENERIC_RTMP ? (parseServiceData(String(old.data ?? '')) ?? {}) : {};
    const data = { ...keep, url: joinRtmpUrl(target.url, target.streamKey) };
    type.rtmp = { ...rtmp, service: { ...old, value: GENERIC_RTMP, data: encodeServiceData(data) } };
  } else if (target.protocol === 'srt') {
    type.srt = {
      ...((type.srt ?? {}) as Json),
      mode: { value: 'caller' },
      url: `srt://${target.host}`,
      port: target.port,
      stream_id: target.streamId ?? '',
      latency_ms: target.latencyMs,
      passphrase: target.passphrase ?? '',
      encryption: { value: target.passphrase ? 'AES_128' : 'NONE' },
    };
  } else {
    throw new Error(`videon has no ${target.protocol} output`); // refused by capabilities first
  }
  return body;
}

/** The slot's whole object with its destination emptied and output disabled. */
export function outStreamCleared(os: OutStream): Json {
  const body = outStreamBody(os, { enable: false });
  const type = body.output_type as Json;
  if (os.output_type.value === 'rtmp' && type.rtmp) {
    const rtmp = type.rtmp as Json;
    rtmp.service = { ...(rtmp.service as Json), data: encodeServiceData({ url: '' }) };
  } else if (os.output_type.value === 'srt' && type.srt) {
    Object.assign(type.srt as Json, {
      url: '',
      stream_id: '',
      passphrase: '',
      encryption: { value: 'NONE' },
    });
  }
  return body;
}

export function videoEncoderBody(enc: VideoEncoder, v: VideoSettings): Json {
  const body = stripReadOnly(enc, 'vid_encoder_id');
  const codec = body.codec as Json;
  codec.value = VIDEO_CODECS[v.codec];
  // The variant sub-object sits beside `value`; give it the vendor default when it is missing [INF].
  codec[v.codec] ??= { profile: { value: 'PROFILE_MAIN' } };
  body.bitrate = { ...(body.bitrate as Json), value: v.bitrateKbps };
  if (v.width !== undefined && v.height !== undefined) {
    body.scaling_resolution = { ...(body.scaling_resolution as Json), value: `RES_${v.width}X${v.height}` };
  }
  if (v.keyframeIntervalFrames !== undefined) {
    body.keyframe_interval = { interval: v.keyframeIntervalFrames, unit: 'FRAMES' };
  }
  return body;
}

export function audioEncoderBody(enc: AudioEncoder, a: AudioSettings): Json {
  const body = stripReadOnly(enc, 'aud_encoder_id');
  body.codec = { ...(body.codec as Json), value: AAC };
  // [DOC] quirk: the audio bitrate goes out as a string.
  body.bitrate = { ...(body.bitrate as Json), value: String(a.bitrateKbps) };
  if (a.channels !== undefined) body.mix_mode = { ...(body.mix_mode as Json), value: MIX_MODES[a.channels] };
  return body;
}

/** The encoders an out_stream draws from: the first referenced video and audio source. */
export function sourcesOf(os: OutStream): { video?: number; audio?: number } {
  const video = os.video_sources?.video_source_ids[0];
  const audio = os.audio_sources?.audio_source_ids[0];
  return { ...(video !== undefined ? { video } : {}), ...(audio !== undefined ? { audio } : {}) };
}

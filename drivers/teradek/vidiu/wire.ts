/**
 * Teradek legacy "Serenity" CGI API (VidiU, VidiU Pro, VidiU Go, Cube) — wire schemas and the whole
 * vendor ↔ contract mapping. The driver and the simulator speak only in what this file exports.
 *
 * Sources (see /work/shared/vendor-apis.md §1A):
 *  - [SRC] bitfocus/companion-module-teradek-vidiu `index.js` (HEAD a898ed7; VidiU Go in b6dea71):
 *    login, session cookie, `##Access denied#` re-login, status poll, Codec.Status JSON-in-string,
 *    broadcast start/stop and the `result === "success"` criterion.
 *  - [SRC] madeddie/teradek `NOTES.md`: form POST or query GET on all three CGIs; api.cgi = login +
 *    settings with plain-text output, json.cgi = the same with JSON output, system.cgi = actions and
 *    needs the session cookie; `command=help` lists the commands; `Session=<n>` login body.
 *
 * Settings writes are NOT publicly documented. Everything marked [INF] below — every settings key,
 * the `set`/`apply` exchange and its plain-text replies — is PROVISIONAL: it follows the
 * `command=set&<key>=<value>` + `command=apply` pattern the notes suggest, with key names chosen
 * here. Verify with `command=help` on a real unit and correct this file (and the simulator, which
 * serves what this file describes) before trusting config writes in production.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { DeviceConfig, DeviceInfo, DeviceStatus, StreamState, Target } from '../../contract.js';
import type { ConfigWrite } from '../../converge.js';
import { wireSchema } from '../../http.js';

// ----- endpoints and fixed strings ---------------------------------------------------------------------

/** [SRC] The three CGIs. */
export const CGI = {
  api: '/cgi-bin/api.cgi',
  json: '/cgi-bin/json.cgi',
  system: '/cgi-bin/system.cgi',
} as const;

/** [SRC] Factory login (the Companion module sends `passwd=admin` when none is configured). */
export const DEFAULT_CREDENTIALS = { username: 'admin', password: 'admin' } as const;

/** [SRC] The one cookie the device needs; `fw_ver` and `passwordChanged` are web-UI cookies [INF]. */
export const SESSION_COOKIE = 'serenity-session';

/** [SRC] Exact plain-text bodies, sent with HTTP 200 [INF: status not checked by the module]. */
export const SENTINEL = {
  invalidPassword: '##Invalid password#',
  accessDenied: '##Access denied#',
} as const;

/** [SRC] `geti` subtrees the driver reads. */
export const QUERY = {
  product: 'System.Info.Product',
  codecStatus: 'Codec.Status',
} as const;

// ----- requests ----------------------------------------------------------------------------------------

/** [SRC] POST api.cgi form. */
export function loginForm(credentials: { username: string; password: string }): Record<string, string> {
  return { command: 'login', user: credentials.username, passwd: credentials.password };
}

/** [SRC] GET json.cgi query for one dotted key or subtree. */
export function getiQuery(key: string): Record<string, string> {
  return { command: 'geti', q: key };
}

/** [SRC] GET system.cgi queries. */
export const STATUS_QUERY = { command: 'status' } as const;
export function broadcastQuery(action: 'start' | 'stop'): Record<string, string> {
  return { command: 'broadcast', action };
}

// ----- login -------------------------------------------------------------------------------------------

/**
 * [SRC] The session number, from `Set-Cookie: serenity-session=<n>` (what the Companion module
 * parses) or, failing that, from the `Session=<n>` body (madeddie: the same number).
 */
export function sessionFromLogin(setCookie: string | string[] | undefined, body: string): string | undefined {
  for (const cookie of [setCookie ?? []].flat()) {
    const match = new RegExp(`(?:^|[;,]\\s*)${SESSION_COOKIE}=([^;,\\s]+)`).exec(cookie);
    if (match) return match[1];
  }
  return /^Session=(\S+)$/m.exec(body.trim())?.[1];
}

/** `##<message>#`: the plain-text CGIs' way of saying no [SRC for the two sentinels; INF beyond]. */
export function sentinelMessage(body: string): string | undefined {
  return /^##(.*)#$/s.exec(body.trim())?.[1];
}

// ----- device info -------------------------------------------------------------------------------------

/**
 * [SRC] `geti` answers nest along the dotted query path and carry no `result` field. Numbers come
 * back as strings (`"c":"52"` for the CPU temperature), so every value is read as a string.
 */
export const ProductReply = wireSchema(
  'vidiu System.Info.Product',
  Type.Object({
    System: Type.Object({
      Info: Type.Object({
        Product: Type.Object({
          productname: Type.String({ minLength: 1 }),
          serialnumber: Type.Optional(Type.String()),
          productversion: Type.Optional(Type.String()),
          /** [INF] The unit's label as set in the web UI. */
          devicename: Type.Optional(Type.String()),
        }),
      }),
    }),
  }),
);

export function infoFromWire(reply: Static<typeof ProductReply.schema>): DeviceInfo {
  const p = reply.System.Info.Product;
  return {
    model: p.productname,
    ...(p.serialnumber ? { serial: p.serialnumber } : {}),
    ...(p.productversion ? { firmware: p.productversion } : {}),
    ...(p.devicename ? { name: p.devicename } : {}),
  };
}

// ----- status ------------------------------------------------------------------------------------------

/** [SRC] States seen; anything else is reported as an error in the device's own word. */
export const BROADCAST_STATES = ['Ready', 'Starting', 'Live', 'Stopping'] as const;
export type BroadcastState = (typeof BROADCAST_STATES)[number];

/** [SRC] `system.cgi?command=status`. Fields beyond these are left alone (Codec-State is free text). */
export const StatusReply = wireSchema(
  'vidiu status',
  Type.Object({
    result: Type.Literal('success'),
    status: Type.Object({
      'Broadcast-State': Type.String({ minLength: 1 }),
      'Broadcast-Error': Type.String(),
      /** [SRC] `<input>:<format>` e.g. `HDMI:1080p30`; format spellings beyond that are [INF]. */
      'Video-Input': Type.Optional(Type.String()),
      /** [SRC] `<1|0>:…`; not part of the contract, kept for the shape check only. */
      'Record-Status': Type.Optional(Type.String()),
      /** [SRC] `<source>:<battery %>:<?>:<charging>`; not part of the contract. */
      'System-Power': Type.Optional(Type.String()),
      'Network-Uplink': Type.Optional(Type.String()),
      'Codec-State': Type.Optional(Type.String()),
    }),
  }),
);
export type StatusReply = Static<typeof StatusReply.schema>;

/** [SRC] Codec.Status: `stream1` is a JSON document serialised into a string. */
export const CodecStatusReply = wireSchema(
  'vidiu Codec.Status',
  Type.Object({ Codec: Type.Object({ Status: Type.Object({ stream1: Type.String() }) }) }),
);

/** [SRC] What `stream1` holds once parsed; `current_bitrate` in kbps [INF]. */
export const Stream1Status = wireSchema(
  'vidiu Codec.Status.stream1',
  Type.Object({ encoder: Type.Object({ current_bitrate: Type.Number({ minimum: 0 }) }) }),
);

const STATE: Record<BroadcastState, StreamState> = {
  Ready: 'idle',
  Starting: 'starting',
  Live: 'streaming',
  Stopping: 'stopping',
};

export function isBroadcastState(value: string): value is BroadcastState {
  return (BROADCAST_STATES as readonly string[]).includes(value);
}

/** `"none"` (or nothing) means no error [SRC]. */
function broadcastError(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed === '' || trimmed.toLowerCase() === 'none' ? undefined : trimmed;
}

export function statusFromWire(reply: StatusReply, bitrateKbps: number | undefined): DeviceStatus {
  const s = reply.status;
  const raw = s['Broadcast-State'];
  const error =
    broadcastError(s['Broadcast-Error']) ??
    (isBroadcastState(raw) ? undefined : `unrecognised broadcast state "${raw}"`);
  const input = s['Video-Input'] === undefined ? undefined : parseVideoInput(s['Video-Input']);
  return {
    state: error || !isBroadcastState(raw) ? 'error' : STATE[raw],
    ...(error ? { lastError: error } : {}),
    ...(bitrateKbps !== undefined ? { bitrateKbps } : {}),
    ...(input ? { input } : {}),
  };
}

/** Frame heights of the formats the unit names, and the width each implies [INF for SD sizes]. */
const WIDTH_OF_HEIGHT: Readonly<Record<number, number>> = {
  2160: 3840,
  1080: 1920,
  720: 1280,
  576: 720,
  480: 720,
};

/**
 * `HDMI:1080p30` → { width: 1920, height: 1080, fps: 30 }; `HDMI:720p59.94` likewise; no signal
 * (`HDMI:No Signal`, `HDMI:`, anything unparsed) → undefined. Field [0] is the input, [1] the format
 * [SRC for the split; INF for the format spellings]. Interlaced formats report the field rate.
 */
export function parseVideoInput(packed: string): DeviceStatus['input'] {
  const format = packed.split(':')[1]?.trim() ?? '';
  const match = /^(\d{3,4})[pi]([\d.]+)$/.exec(format);
  if (!match) return undefined;
  const height = Number(match[1]);
  const width = WIDTH_OF_HEIGHT[height];
  if (!width) return undefined;
  return { width, height, fps: Number(match[2]) };
}

// ----- settings: PROVISIONAL [INF] -----------------------------------------------------------------------

/**
 * [INF] Settings keys, dotted like the documented `geti` paths. The stream key is `stream`, as the
 * newer Teradek control plane names it (`Session/0/Stream/0/RTMP` → `stream`, §1B).
 */
export const KEYS = {
  mode: 'Broadcast.mode',
  rtmpUrl: 'Broadcast.RTMP.url',
  rtmpStream: 'Broadcast.RTMP.stream',
  videoCodec: 'Encoder.Video.codec',
  videoBitrate: 'Encoder.Video.bitrate',
  videoResolution: 'Encoder.Video.resolution',
  videoFramerate: 'Encoder.Video.framerate',
  videoGop: 'Encoder.Video.gop',
  audioCodec: 'Encoder.Audio.codec',
  audioBitrate: 'Encoder.Audio.bitrate',
  audioSampleRate: 'Encoder.Audio.samplerate',
  audioChannels: 'Encoder.Audio.channels',
} as const;
export type SettingKey = (typeof KEYS)[keyof typeof KEYS];

/** [INF] The `geti` subtrees that hold the settings above: the target, and the encoder. */
export const SETTINGS_QUERY = { broadcast: 'Broadcast', encoder: 'Encoder' } as const;

/** [INF] Broadcast modes: the platform presets of the web UI plus manual RTMP, the only one we set. */
export const MODE_RTMP = 'RTMP';
export const BROADCAST_MODES = [MODE_RTMP, 'YouTube', 'Facebook', 'Livestream', 'Twitch'] as const;
export const VIDEO_CODEC_H264 = 'H.264';
export const AUDIO_CODEC_AAC = 'AAC';

/** Numbers as strings (`"4000"`, `"29.97"`), as the documented `geti` answers give them [SRC: `"c":"52"`]. */
const NumericString = Type.String({ pattern: '^\\d+(\\.\\d+)?$' });

/** [INF] `geti&q=Broadcast` */
export const BroadcastReply = wireSchema(
  'vidiu Broadcast',
  Type.Object({
    Broadcast: Type.Object({
      mode: Type.String(),
      RTMP: Type.Object({ url: Type.String(), stream: Type.String() }),
    }),
  }),
);

/** [INF] `geti&q=Encoder` */
export const EncoderReply = wireSchema(
  'vidiu Encoder',
  Type.Object({
    Encoder: Type.Object({
      Video: Type.Object({
        codec: Type.String(),
        bitrate: NumericString,
        /** "1920x1080" */
        resolution: Type.String({ pattern: '^\\d+x\\d+$' }),
        framerate: NumericString,
        /** Keyframe interval in frames. */
        gop: NumericString,
      }),
      Audio: Type.Object({
        codec: Type.String(),
        bitrate: NumericString,
        samplerate: NumericString,
        channels: NumericString,
      }),
    }),
  }),
);
export type BroadcastSettings = Static<typeof BroadcastReply.schema>['Broadcast'];
export type EncoderSettings = Static<typeof EncoderReply.schema>['Encoder'];

export function configFromWire(broadcast: BroadcastSettings, encoder: EncoderSettings): DeviceConfig {
  const v = encoder.Video;
  const a = encoder.Audio;
  const [width, height] = v.resolution.split('x').map(Number) as [number, number];
  const sampleRate = Number(a.samplerate);
  const channels = Number(a.channels);
  return {
    ...targetFromWire(broadcast),
    video: {
      // Only H.264 is written; another codec is reported as absent so a diff rewrites it.
      ...(v.codec === VIDEO_CODEC_H264 ? { codec: 'h264' as const } : {}),
      bitrateKbps: Number(v.bitrate),
      width,
      height,
      fps: Number(v.framerate),
      keyframeIntervalFrames: Number(v.gop),
    },
    audio: {
      ...(a.codec === AUDIO_CODEC_AAC ? { codec: 'aac' as const } : {}),
      bitrateKbps: Number(a.bitrate),
      ...(sampleRate === 32000 || sampleRate === 44100 || sampleRate === 48000 ? { sampleRate } : {}),
      ...(channels === 1 || channels === 2 ? { channels } : {}),
    },
  };
}

/** A platform preset or an empty URL is no target we manage: the diff then writes the whole target. */
function targetFromWire(broadcast: BroadcastSettings): { target?: Target } {
  if (broadcast.mode !== MODE_RTMP || !broadcast.RTMP.url) return {};
  return { target: { protocol: 'rtmp', url: broadcast.RTMP.url, streamKey: broadcast.RTMP.stream } };
}

/**
 * [INF] The `set` form for the sections to write: every key of a section, so a section is written
 * whole. Sent as a POST form, never a query, so the stream key stays out of URLs and access logs.
 * Only RTMP reaches here (capabilities refuse the rest first).
 */
export function settingsToWire(write: ConfigWrite): Partial<Record<SettingKey, string>> {
  const form: Partial<Record<SettingKey, string>> = {};
  const { target, video, audio } = write;
  if (target?.protocol === 'rtmp') {
    form[KEYS.mode] = MODE_RTMP;
    form[KEYS.rtmpUrl] = target.url;
    form[KEYS.rtmpStream] = target.streamKey;
  }
  if (video) {
    form[KEYS.videoCodec] = VIDEO_CODEC_H264;
    form[KEYS.videoBitrate] = String(video.bitrateKbps);
    if (video.width !== undefined && video.height !== undefined)
      form[KEYS.videoResolution] = `${video.width}x${video.height}`;
    if (video.fps !== undefined) form[KEYS.videoFramerate] = String(video.fps);
    if (video.keyframeIntervalFrames !== undefined)
      form[KEYS.videoGop] = String(video.keyframeIntervalFrames);
  }
  if (audio) {
    form[KEYS.audioCodec] = AUDIO_CODEC_AAC;
    form[KEYS.audioBitrate] = String(audio.bitrateKbps);
    if (audio.sampleRate !== undefined) form[KEYS.audioSampleRate] = String(audio.sampleRate);
    if (audio.channels !== undefined) form[KEYS.audioChannels] = String(audio.channels);
  }
  return form;
}

/** [INF] POST api.cgi: stage values, then make them active (and persistent). */
export function setForm(settings: Partial<Record<SettingKey, string>>): Record<string, string> {
  return { command: 'set', ...settings };
}
export const APPLY_FORM = { command: 'apply' } as const;

/**
 * [INF] api.cgi plain-text replies: `set` echoes one `key=value` line per key it staged; `apply`
 * answers `OK`; a refusal is `##<message>#` with HTTP 200, like the documented sentinels.
 */
export type PlainReply = { ok: true; lines: Map<string, string> } | { ok: false; message: string };

export function parsePlainReply(body: string): PlainReply {
  const message = sentinelMessage(body);
  if (message !== undefined) return { ok: false, message };
  const lines = new Map<string, string>();
  for (const line of body.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq > 0) lines.set(line.slice(0, eq), line.slice(eq + 1));
    else if (line.trim()) lines.set(line.trim(), '');
  }
  return { ok: true, lines };
}

/** [INF] What `set` must echo back: every key it was sent. Keys missing = a garbled or foreign reply. */
export function missingEchoes(sent: Readonly<Record<string, string>>, lines: Map<string, string>): string[] {
  return Object.keys(sent).filter((key) => key !== 'command' && lines.get(key) !== sent[key]);
}

/** [INF] `apply` success body. */
export const APPLY_OK = 'OK';

// ----- actions -----------------------------------------------------------------------------------------

/**
 * [SRC] `system.cgi` action replies: success is `result === "success"`. The error text field is
 * [INF]; `message` is taken when present, else the `result` value itself.
 */
export const ActionReply = wireSchema(
  'vidiu action',
  Type.Object({ result: Type.String(), message: Type.Optional(Type.String()) }),
);

export function actionError(reply: Static<typeof ActionReply.schema>): string | undefined {
  if (reply.result === 'success') return undefined;
  return reply.message ? `${reply.result}: ${reply.message}` : reply.result;
}

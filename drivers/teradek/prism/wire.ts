/**
 * Teradek Prism / Prism Flex / VidiU X ("Core" generation) — MQTT-over-WebSocket wire format:
 * topic names, TypeBox schemas of the JSON payloads, and the whole vendor ↔ contract mapping.
 *
 * PROVISIONAL. Sources (see /work/shared/vendor-apis.md §1B):
 *  - [SRC] bitfocus/companion-module-teradek-prism `src/index.js`, `src/actions.js`: connect to
 *    `ws://<host>/mqtt` with the web UI's username/password (default admin/admin); a refused login is a
 *    CONNACK error; subscribes to the retained state topics below; sends commands by publishing JSON
 *    (QoS 2, retain) to `<topic>/<Date.now()>` after subscribing to `<topic>/<Date.now()>/+`. Topic
 *    names and bodies of publish/unpublish, `Session/0/Stream/0/set` and `.../RTMP/set` were captured
 *    from the device's own web UI.
 *  - [SRC] bitfocus/companion-module-teradek-vidiux `src/api.js` and phelfenbein/companion-module-
 *    teradek-vidiux `src/mqtts.js`: the same transport on VidiU X. The latter skips payloads that are
 *    the plain text `ok` before JSON-parsing, which hints that some replies are that bare text.
 *
 * Everything marked [INF] is inferred, by analogy with the known topics, and is served by our
 * simulator exactly as written here: the command reply (suffix and payload), the retained mirrors of
 * the RTMP/SRT settings, the SRT/VideoEncoder/AudioEncoder/reboot commands, the field names inside
 * `Session/0/VideoEncoder` and `Session/0/AudioEncoder`, and the optional fields of `System/Product`.
 * Correct this file (and the simulator follows) when a real unit has been sniffed; the driver speaks
 * only through the names and functions exported here.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  type AudioSettings,
  type DeviceConfig,
  type DeviceInfo,
  DeviceProtocolError,
  type DeviceRef,
  DeviceRejectedError,
  type DeviceStatus,
  type StreamState,
  type Target,
  type VideoCodec,
  type VideoSettings,
} from '../../contract.js';
import type { ConfigWrite } from '../../converge.js';
import { checkWire, type WireSchema, wireSchema } from '../../http.js';

/** [SRC] The broker lives at this path of the device's web server (port 80). */
export const MQTT_PATH = '/mqtt';
/** [SRC] Factory login of the web UI, which the broker shares. */
export const DEFAULT_CREDENTIALS = { username: 'admin', password: 'admin' } as const;

// ----- topics ---------------------------------------------------------------------------------------

/** Retained state topics. The device pushes each whenever it changes; subscribers get the last one. */
export const TOPICS = {
  /** [SRC] { name } */
  product: 'System/Product',
  /** [SRC] { State, Uptime, "State Details" } */
  streamInfo: 'Session/0/Stream/0/Info',
  /** [SRC] { Bitrate (bps), Format, Profile, Codec } */
  streamStats: 'Session/0/Stream/0/Info/stream/0',
  /** [SRC] { "mode-h264", "mode-hevc" }: the streaming mode selected for each codec. */
  streamModes: 'Session/0/Stream/0',
  /** [INF] Retained mirror of what `.../RTMP/set` wrote. */
  rtmp: 'Session/0/Stream/0/RTMP',
  /** [INF] Retained mirror of what `.../SRT/set` wrote. */
  srt: 'Session/0/Stream/0/SRT',
  /** [SRC] topic; [INF] contents (the Companion module subscribes but never parses it). */
  videoEncoder: 'Session/0/VideoEncoder',
  /** [SRC] topic; [INF] contents. */
  audioEncoder: 'Session/0/AudioEncoder',
  /** [SRC] { Format, Resolution, Framerate } */
  videoInput: 'Input/Video/Info',
} as const;
export type StateTopic = (typeof TOPICS)[keyof typeof TOPICS];
export const STATE_TOPICS: readonly StateTopic[] = Object.values(TOPICS);

/** Command topics; the sender appends `/<epoch ms>` and listens on `<that>/+` for the reply. */
export const COMMANDS = {
  /** [SRC] {} — go live with the selected mode. */
  start: 'Session/0/Stream/0/publish',
  /** [SRC] {} — stop streaming. */
  stop: 'Session/0/Stream/0/unpublish',
  /** [SRC] { "mode-h264": "RTMP" } — select the streaming mode per codec. */
  selectMode: 'Session/0/Stream/0/set',
  /** [SRC] { url, stream, username, password, channel_name } */
  setRtmp: 'Session/0/Stream/0/RTMP/set',
  /** [INF] SRT settings, see SrtSettings. */
  setSrt: 'Session/0/Stream/0/SRT/set',
  /** [INF] any subset of VideoEncoderSettings. */
  setVideo: 'Session/0/VideoEncoder/set',
  /** [INF] any subset of AudioEncoderSettings. */
  setAudio: 'Session/0/AudioEncoder/set',
  /** [INF] {} — restart the unit. */
  reboot: 'System/reboot',
} as const;
export type CommandTopic = (typeof COMMANDS)[keyof typeof COMMANDS];
export const COMMAND_TOPICS: readonly CommandTopic[] = Object.values(COMMANDS);

/** [INF] The suffix the device replies on under `<command>/<ts>/`; the driver accepts any suffix. */
export const REPLY_SUFFIX = 'response';

/** `Session/0/Stream/0/set/1655583009171` → `Session/0/Stream/0/set`; undefined for non-commands. */
export function commandOf(topic: string): CommandTopic | undefined {
  const match = /^(.+)\/\d+$/.exec(topic);
  const base = match?.[1];
  return COMMAND_TOPICS.find((c) => c === base);
}

// ----- state payloads ---------------------------------------------------------------------------------
// State schemas leave additional properties allowed: the device sends more fields than we read.

export const ProductState = wireSchema(
  `prism ${TOPICS.product}`,
  Type.Object({
    /** [SRC] the product's name, e.g. "Prism Flex"; the only field the Companion module reads. */
    name: Type.String({ minLength: 1 }),
    /** [INF] */
    serial: Type.Optional(Type.String()),
    /** [INF] firmware version */
    version: Type.Optional(Type.String()),
  }),
);

/** [SRC] Live, Ready, Playing, Invalid; [INF] Starting and Stopping (shown by the web UI). */
export const WireStreamState = Type.Union([
  Type.Literal('Ready'),
  Type.Literal('Starting'),
  Type.Literal('Live'),
  Type.Literal('Playing'),
  Type.Literal('Stopping'),
  Type.Literal('Invalid'),
]);
export type WireStreamState = Static<typeof WireStreamState>;

export const StreamInfoState = wireSchema(
  `prism ${TOPICS.streamInfo}`,
  Type.Object({
    State: WireStreamState,
    /** "HH:MM:SS"; hours may exceed 24. */
    Uptime: Type.Optional(Type.String({ pattern: '^\\d+:\\d{2}:\\d{2}$' })),
    'State Details': Type.Optional(Type.String()),
  }),
);

export const StreamStatsState = wireSchema(
  `prism ${TOPICS.streamStats}`,
  Type.Object({
    /** Bits per second: the Companion module shows `Bitrate * 0.001` as kbps. */
    Bitrate: Type.Number({ minimum: 0 }),
    Format: Type.Optional(Type.String()),
    Profile: Type.Optional(Type.String()),
    /** "H.264" or "H.265" */
    Codec: Type.Optional(Type.String()),
  }),
);

/** [SRC] for RTMP; [INF] for SRT; any other value is a service we do not manage (YouTube, Core, …). */
export const MODE_RTMP = 'RTMP';
export const MODE_SRT = 'SRT';
/** [INF] how the UI spells "no streaming mode". */
export const MODE_DISABLED = 'Disabled';

export const StreamModesState = wireSchema(
  `prism ${TOPICS.streamModes}`,
  Type.Object({
    'mode-h264': Type.String(),
    'mode-hevc': Type.Optional(Type.String()),
  }),
);
export type StreamModes = Static<typeof StreamModesState.schema>;

const RtmpSettingsSchema = Type.Object(
  {
    url: Type.String({ maxLength: 2048 }),
    /** The stream key. Secret. */
    stream: Type.String({ maxLength: 512 }),
    /** RTMP authentication; the contract has none, so the driver writes both empty. Secret. */
    username: Type.String({ maxLength: 256 }),
    password: Type.String({ maxLength: 256 }),
    /** A label shown in the device's UI; kept as the device has it. */
    channel_name: Type.String({ maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type RtmpSettings = Static<typeof RtmpSettingsSchema>;
/** [INF] retained at `Session/0/Stream/0/RTMP`; [SRC] as the body of `.../RTMP/set`. */
export const RtmpState = wireSchema(`prism ${TOPICS.rtmp}`, RtmpSettingsSchema);
export const RtmpSetBody = wireSchema(`prism ${COMMANDS.setRtmp} body`, RtmpSettingsSchema);

const SrtSettingsSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('Caller'), Type.Literal('Listener')]),
    host: Type.String({ maxLength: 253 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    /** Empty = none. Secret (nanoStream puts the stream name here). */
    streamid: Type.String({ maxLength: 512 }),
    /** Milliseconds. */
    latency: Type.Integer({ minimum: 20, maximum: 8000 }),
    /** Empty = no encryption, else 10..79 characters (SRT spec). Secret. */
    passphrase: Type.String({ maxLength: 79 }),
  },
  { additionalProperties: false },
);
export type SrtSettings = Static<typeof SrtSettingsSchema>;
/** [INF] topic, fields and units. */
export const SrtState = wireSchema(`prism ${TOPICS.srt}`, SrtSettingsSchema);
export const SrtSetBody = wireSchema(`prism ${COMMANDS.setSrt} body`, SrtSettingsSchema);

const WireVideoCodec = Type.Union([Type.Literal('H.264'), Type.Literal('H.265')]);
const VideoEncoderSchema = Type.Object(
  {
    codec: WireVideoCodec,
    /** Bits per second, like the Bitrate the device reports in `Info/stream/0`. */
    bitrate: Type.Integer({ minimum: 0 }),
    /** "1920x1080" */
    resolution: Type.String({ pattern: '^\\d+x\\d+$' }),
    framerate: Type.Number({ exclusiveMinimum: 0 }),
    /** Keyframe interval in frames. */
    gop: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type VideoEncoderSettings = Static<typeof VideoEncoderSchema>;
/** [INF] contents of `Session/0/VideoEncoder`. */
export const VideoEncoderState = wireSchema(`prism ${TOPICS.videoEncoder}`, VideoEncoderSchema);
export const VideoSetBody = wireSchema(
  `prism ${COMMANDS.setVideo} body`,
  Type.Partial(VideoEncoderSchema, { additionalProperties: false, minProperties: 1 }),
);

const AudioEncoderSchema = Type.Object(
  {
    codec: Type.Literal('AAC'),
    /** Bits per second. */
    bitrate: Type.Integer({ minimum: 0 }),
    samplerate: Type.Integer(),
    channels: Type.Integer({ minimum: 1, maximum: 8 }),
  },
  { additionalProperties: false },
);
export type AudioEncoderSettings = Static<typeof AudioEncoderSchema>;
/** [INF] contents of `Session/0/AudioEncoder`. */
export const AudioEncoderState = wireSchema(`prism ${TOPICS.audioEncoder}`, AudioEncoderSchema);
export const AudioSetBody = wireSchema(
  `prism ${COMMANDS.setAudio} body`,
  Type.Partial(AudioEncoderSchema, { additionalProperties: false, minProperties: 1 }),
);

export const StreamModesSetBody = wireSchema(
  `prism ${COMMANDS.selectMode} body`,
  Type.Partial(Type.Object({ 'mode-h264': Type.String(), 'mode-hevc': Type.String() }), {
    additionalProperties: false,
    minProperties: 1,
  }),
);

/** Bodies of start, stop and reboot: an empty object [SRC for start/stop]. */
export const EmptyBody = wireSchema('prism command body', Type.Object({}, { additionalProperties: false }));

export const VideoInputState = wireSchema(
  `prism ${TOPICS.videoInput}`,
  Type.Object({
    Format: Type.Optional(Type.String()),
    /** "1920x1080"; anything else (e.g. empty with no signal) means no usable input. */
    Resolution: Type.Optional(Type.String()),
    /** "29.97" or 29.97 */
    Framerate: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  }),
);

/** [INF] Reply to a command on `<command>/<ts>/response`. The bare text `ok` is also accepted as success. */
export const CommandReply = wireSchema(
  'prism command reply',
  Type.Object({
    result: Type.Union([Type.Literal('success'), Type.Literal('error')]),
    message: Type.Optional(Type.String()),
  }),
);
export type CommandReply = Static<typeof CommandReply.schema>;
export const PLAIN_OK_REPLY = 'ok';

/**
 * Interprets the reply to `command`: returns on success.
 * @throws DeviceRejectedError with the device's message on `{ "result": "error" }`
 * @throws DeviceProtocolError on anything else
 */
export function checkReply(ref: DeviceRef, command: string, text: string): void {
  if (text.trim() === PLAIN_OK_REPLY) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DeviceProtocolError(ref, `${command}: reply is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const { result, message } = checkWire(ref, CommandReply, parsed);
  if (result === 'error') throw new DeviceRejectedError(ref, message || `${command} refused`);
}

/** The body schema each command is validated against (by the simulator, as the device would). */
export const COMMAND_BODIES: Readonly<Record<CommandTopic, WireSchema<TSchema>>> = {
  [COMMANDS.start]: EmptyBody,
  [COMMANDS.stop]: EmptyBody,
  [COMMANDS.reboot]: EmptyBody,
  [COMMANDS.selectMode]: StreamModesSetBody,
  [COMMANDS.setRtmp]: RtmpSetBody,
  [COMMANDS.setSrt]: SrtSetBody,
  [COMMANDS.setVideo]: VideoSetBody,
  [COMMANDS.setAudio]: AudioSetBody,
};

// ----- mapping: wire → contract -----------------------------------------------------------------------

const VIDEO_CODEC = { h264: 'H.264', h265: 'H.265' } as const satisfies Record<VideoCodec, string>;
/** The key of `Session/0/Stream/0` that holds the mode for each codec. */
export const MODE_KEY = { h264: 'mode-h264', h265: 'mode-hevc' } as const satisfies Record<
  VideoCodec,
  keyof StreamModes
>;

export function infoFromWire(product: Static<typeof ProductState.schema>): DeviceInfo {
  return {
    model: product.name,
    ...(product.serial ? { serial: product.serial } : {}),
    ...(product.version ? { firmware: product.version } : {}),
  };
}

export function codecFromWire(codec: VideoEncoderSettings['codec']): VideoCodec {
  return codec === 'H.265' ? 'h265' : 'h264';
}

/** The streaming mode in force: the one selected for the codec the encoder runs. */
export function activeMode(modes: StreamModes, video: VideoEncoderSettings): string | undefined {
  return modes[MODE_KEY[codecFromWire(video.codec)]];
}

/** The retained topic holding the settings of `mode`, when it is one we manage. */
export function settingsTopicOf(
  mode: string | undefined,
): typeof TOPICS.rtmp | typeof TOPICS.srt | undefined {
  if (mode === MODE_RTMP) return TOPICS.rtmp;
  if (mode === MODE_SRT) return TOPICS.srt;
  return undefined;
}

export interface WireConfig {
  readonly modes: StreamModes;
  readonly video: VideoEncoderSettings;
  readonly audio: AudioEncoderSettings;
  readonly rtmp?: RtmpSettings;
  readonly srt?: SrtSettings;
}

export function configFromWire(wire: WireConfig): DeviceConfig {
  const [width, height] = wire.video.resolution.split('x').map(Number) as [number, number];
  const target = targetFromWire(activeMode(wire.modes, wire.video), wire);
  return {
    ...(target ? { target } : {}),
    video: {
      codec: codecFromWire(wire.video.codec),
      bitrateKbps: Math.round(wire.video.bitrate / 1000),
      width,
      height,
      fps: wire.video.framerate,
      keyframeIntervalFrames: wire.video.gop,
    },
    audio: {
      codec: 'aac',
      bitrateKbps: Math.round(wire.audio.bitrate / 1000),
      sampleRate: wire.audio.samplerate as NonNullable<AudioSettings['sampleRate']>,
      channels: wire.audio.channels === 1 ? 1 : 2,
    },
  };
}

/** Only complete RTMP and SRT-caller settings are a target; anything else reads as none, so a diff rewrites it. */
function targetFromWire(mode: string | undefined, wire: WireConfig): Target | undefined {
  if (mode === MODE_RTMP && wire.rtmp?.url && wire.rtmp.stream) {
    return { protocol: 'rtmp', url: wire.rtmp.url, streamKey: wire.rtmp.stream };
  }
  const srt = wire.srt;
  if (mode === MODE_SRT && srt?.mode === 'Caller' && srt.host) {
    return {
      protocol: 'srt',
      mode: 'caller',
      host: srt.host,
      port: srt.port,
      latencyMs: srt.latency,
      ...(srt.streamid ? { streamId: srt.streamid } : {}),
      ...(srt.passphrase ? { passphrase: srt.passphrase } : {}),
    };
  }
  return undefined;
}

const STATE: Record<WireStreamState, StreamState> = {
  Ready: 'idle',
  Starting: 'starting',
  Live: 'streaming',
  // [INF] "Playing" follows a publish in the preview → broadcast → complete workflow of platform
  // services: the encoder is already pushing to the ingest, so for us it is streaming.
  Playing: 'streaming',
  Stopping: 'stopping',
  Invalid: 'error',
};

export function stateFromWire(state: WireStreamState): StreamState {
  return STATE[state];
}

export function statusFromWire(
  info: Static<typeof StreamInfoState.schema>,
  stats: Static<typeof StreamStatsState.schema> | undefined,
  input: Static<typeof VideoInputState.schema> | undefined,
): DeviceStatus {
  const state = STATE[info.State];
  const details = info['State Details']?.trim();
  const uptime = info.Uptime ? parseUptime(info.Uptime) : undefined;
  const signal = input ? inputFromWire(input) : undefined;
  return {
    state,
    ...(state === 'streaming' && uptime !== undefined ? { uptimeSec: uptime } : {}),
    ...(state === 'streaming' && stats ? { bitrateKbps: Math.round(stats.Bitrate / 1000) } : {}),
    ...(details ? { lastError: details } : {}),
    ...(signal ? { input: signal } : {}),
  };
}

/** "01:02:03" → 3723 */
export function parseUptime(text: string): number {
  return text.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

/** "1:02:03" style, hours unbounded: what the device shows. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function inputFromWire(input: Static<typeof VideoInputState.schema>): DeviceStatus['input'] {
  const match = /^(\d+)x(\d+)$/.exec(input.Resolution ?? '');
  if (!match) return undefined;
  const fps = Number.parseFloat(String(input.Framerate ?? ''));
  return {
    width: Number(match[1]),
    height: Number(match[2]),
    ...(Number.isFinite(fps) && fps > 0 ? { fps } : {}),
  };
}

// ----- mapping: contract → wire (commands) ------------------------------------------------------------

export interface Command {
  readonly topic: CommandTopic;
  readonly body: Record<string, unknown>;
}

/**
 * The commands that write `sections`, in the order the device should apply them: encoder settings
 * first (a codec change moves the stream to the other mode key), then the destination's settings,
 * then the mode selection, so a mode is never selected before its settings are complete.
 * `current` is the config read just before; `channelName` the RTMP label the device has.
 */
export function commandsFor(sections: ConfigWrite, current: DeviceConfig, channelName = ''): Command[] {
  const commands: Command[] = [];
  if (sections.video) commands.push({ topic: COMMANDS.setVideo, body: videoToWire(sections.video) });
  if (sections.audio) commands.push({ topic: COMMANDS.setAudio, body: audioToWire(sections.audio) });
  const target = sections.target ?? current.target;
  if (sections.target) commands.push(settingsCommand(sections.target, channelName));
  const codec = sections.video?.codec ?? current.video?.codec ?? 'h264';
  const codecChanged = sections.video !== undefined && sections.video.codec !== current.video?.codec;
  // The mode is per codec: select it when the target changes, or when a codec change makes the
  // device read the other codec's mode.
  if (target && (sections.target || codecChanged)) {
    commands.push({ topic: COMMANDS.selectMode, body: { [MODE_KEY[codec]]: modeOf(target) } });
  }
  return commands;
}

function modeOf(target: Target): string {
  if (target.protocol === 'rtmp') return MODE_RTMP;
  if (target.protocol === 'srt') return MODE_SRT;
  throw new Error(`${target.protocol} has no Prism streaming mode`); // refused by capabilities first
}

function settingsCommand(target: Target, channelName: string): Command {
  switch (target.protocol) {
    case 'rtmp': {
      const body: RtmpSettings = {
        url: target.url,
        stream: target.streamKey,
        username: '',
        password: '',
        channel_name: channelName,
      };
      return { topic: COMMANDS.setRtmp, body };
    }
    case 'srt': {
      const body: SrtSettings = {
        mode: 'Caller',
        host: target.host,
        port: target.port,
        streamid: target.streamId ?? '',
        latency: target.latencyMs,
        passphrase: target.passphrase ?? '',
      };
      return { topic: COMMANDS.setSrt, body };
    }
    case 'whip':
      throw new Error('WHIP has no Prism streaming mode'); // refused by capabilities first
  }
}

function videoToWire(v: VideoSettings): Partial<VideoEncoderSettings> {
  return {
    codec: VIDEO_CODEC[v.codec],
    bitrate: v.bitrateKbps * 1000,
    ...(v.width !== undefined && v.height !== undefined ? { resolution: `${v.width}x${v.height}` } : {}),
    ...(v.fps !== undefined ? { framerate: v.fps } : {}),
    ...(v.keyframeIntervalFrames !== undefined ? { gop: v.keyframeIntervalFrames } : {}),
  };
}

function audioToWire(a: AudioSettings): Partial<AudioEncoderSettings> {
  return {
    codec: 'AAC',
    bitrate: a.bitrateKbps * 1000,
    ...(a.sampleRate !== undefined ? { samplerate: a.sampleRate } : {}),
    ...(a.channels !== undefined ? { channels: a.channels } : {}),
  };
}

/**
 * Osprey Talon "Configuration and Control API" — wire schemas and the whole vendor ↔ contract mapping.
 *
 * PROVISIONAL. Sources (see ../shared/vendor-apis.md §3):
 *  - [DOC] "Osprey Talon Encoder Configuration and Control API User Guide" (v1.10.0 build 250), known
 *    only by its table of contents: Testing, Starting an Encoder, Stopping an Encoder, Delete Channel,
 *    Add Channel; the sibling decoder guide adds Clone Channel, Get Status, Get Stats, Restart Talon.
 *  - [DOC, UI] nanocosmos and THEOplayer (Dolby.io) setup guides: default login admin/osprey;
 *    Output → Upstream Protocol = RTMP/RTMPS (URL + Stream Key) | TS over SRT (mode Caller, Destination
 *    Address, Port 5000, Stream ID "URL-encoded", AES-128 passphrase) | WHIP (endpoint + token);
 *    Actions → Start.
 *  - [DOC, UI] Talon user guide: channels are the unit of configuration; per-channel Start/Stop.
 *
 * Everything below that is not in those sources is INFERRED [INF]: URL paths, JSON field names, the
 * session mechanism and the enum spellings. They follow the channel-resource model the research
 * proposes. When the real PDF is obtained, correct this file (and the simulator, which serves what
 * this file describes); the driver itself speaks only in the functions exported here.
 */
import { type Static, Type } from '@sinclair/typebox';
import type {
  AudioCodec,
  DeviceConfig,
  DeviceInfo,
  DeviceStatus,
  StreamState,
  Target,
  VideoCodec,
} from '../contract.js';
import type { ConfigWrite } from '../converge.js';
import { wireSchema } from '../http.js';

/** [INF] All calls live under this prefix. */
export const API = '/api/v1';
/** [INF] The driver manages the first channel; further channels carry extra renditions. */
export const PRIMARY_CHANNEL = 1;
/** [DOC] "Add Channel creates an additional channel"; the simulated 4K-SC has four [INF]. */
export const CHANNEL_COUNT = 4;
/** [DOC, UI] Factory login. */
export const DEFAULT_CREDENTIALS = { username: 'admin', password: 'osprey' } as const;
/** [INF] Session cookie name. */
export const SESSION_COOKIE = 'talon_session';

// ----- requests ------------------------------------------------------------------------------------

/** [INF] POST /api/v1/login */
export interface LoginRequest {
  username: string;
  password: string;
}

// ----- replies ---------------------------------------------------------------------------------------

/** [INF] 200 { token, expires_in } and Set-Cookie: talon_session=<token>; 401 { error } on bad login. */
export const LoginReply = wireSchema(
  'talon login',
  Type.Object({ token: Type.String({ minLength: 1 }), expires_in: Type.Optional(Type.Integer()) }),
);

/** [INF] GET /api/v1/system */
export const SystemReply = wireSchema(
  'talon system',
  Type.Object({
    model: Type.String(),
    serial_number: Type.String(),
    firmware_version: Type.String(),
    uptime_s: Type.Integer({ minimum: 0 }),
    hostname: Type.Optional(Type.String()),
  }),
);

/** [INF] Upstream protocol names as the Output menu spells them. */
export const UpstreamProtocol = Type.Union([
  Type.Literal('NONE'),
  Type.Literal('RTMP'),
  Type.Literal('TS_OVER_SRT'),
  Type.Literal('WHIP'),
]);

const WireVideo = Type.Object({
  codec: Type.Union([Type.Literal('H.264'), Type.Literal('HEVC')]),
  /** "1920x1080" */
  resolution: Type.String({ pattern: '^\\d+x\\d+$' }),
  frame_rate: Type.Number(),
  bitrate_kbps: Type.Integer(),
  /** Keyframe interval in frames. */
  gop_length: Type.Integer(),
});

const WireAudio = Type.Object({
  codec: Type.Union([Type.Literal('AAC-LC'), Type.Literal('OPUS')]),
  bitrate_kbps: Type.Integer(),
  sample_rate_hz: Type.Integer(),
  channels: Type.Integer(),
});

const WireOutput = Type.Object({
  upstream_protocol: UpstreamProtocol,
  rtmp: Type.Object({ url: Type.String(), stream_key: Type.String() }),
  srt: Type.Object({
    mode: Type.Union([Type.Literal('CALLER'), Type.Literal('LISTENER')]),
    destination_address: Type.String(),
    port: Type.Integer(),
    /** [DOC, UI] The UI asks for the stream id URL-encoded; we assume the API stores it that way too [INF]. */
    stream_id: Type.String(),
    latency_ms: Type.Integer(),
    encryption: Type.Union([Type.Literal('NONE'), Type.Literal('AES-128')]),
    passphrase: Type.String(),
  }),
  whip: Type.Object({ endpoint: Type.String(), bearer_token: Type.String() }),
});

/** [INF] GET /api/v1/channels/{id} */
export const Channel = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  video: WireVideo,
  audio: WireAudio,
  output: WireOutput,
});
export type Channel = Static<typeof Channel>;
export const ChannelReply = wireSchema('talon channel', Channel);

/** [INF] PUT /api/v1/channels/{id}: any subset of sections; within a section, any subset of fields. */
export interface ChannelUpdate {
  video?: Partial<Static<typeof WireVideo>>;
  audio?: Partial<Static<typeof WireAudio>>;
  output?: {
    upstream_protocol?: Static<typeof UpstreamProtocol>;
    rtmp?: Partial<Static<typeof WireOutput>['rtmp']>;
    srt?: Partial<Static<typeof WireOutput>['srt']>;
    whip?: Partial<Static<typeof WireOutput>['whip']>;
  };
}

/** [INF] 4xx { error, field?, message? } */
export const ErrorReply = Type.Object({
  error: Type.String(),
  field: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

export const ChannelState = Type.Union([
  Type.Literal('IDLE'),
  Type.Literal('STARTING'),
  Type.Literal('RUNNING'),
  Type.Literal('STOPPING'),
  Type.Literal('ERROR'),
]);
export type ChannelState = Static<typeof ChannelState>;

/**
 * [INF] GET /api/v1/channels: every channel with its settings and state, so one request shows
 * which outputs (renditions) are configured and running.
 */
export const ListedChannel = Type.Composite([Channel, Type.Object({ state: ChannelState })]);
export type ListedChannel = Static<typeof ListedChannel>;
export const ChannelListReply = wireSchema(
  'talon channel list',
  Type.Object({ channels: Type.Array(ListedChannel, { minItems: 1 }) }),
);

/** [INF] GET /api/v1/channels/{id}/status ("Get Encoder Status" exists per the guide's sibling TOC). */
export const StatusReply = wireSchema(
  'talon status',
  Type.Object({
    state: ChannelState,
    uptime_s: Type.Integer({ minimum: 0 }),
    error_message: Type.Union([Type.String(), Type.Null()]),
    /** "1920x1080p30", "1280x720p59.94" or "NO_SIGNAL" */
    input_signal: Type.String(),
  }),
);

/** [INF] GET /api/v1/channels/{id}/stats ("Get Stats" exists per the guide's sibling TOC). */
export const StatsReply = wireSchema(
  'talon stats',
  Type.Object({
    bitrate_kbps: Type.Number({ minimum: 0 }),
    frame_rate: Type.Number({ minimum: 0 }),
    frames_encoded: Type.Integer({ minimum: 0 }),
    frames_dropped: Type.Integer({ minimum: 0 }),
  }),
);

/** [INF] POST /channels/{id}/start|stop → { state } */
export const ActionReply = wireSchema('talon action', Type.Object({ state: ChannelState }));

// ----- mapping: contract ↔ wire ----------------------------------------------------------------------

const VIDEO_CODEC = { h264: 'H.264', h265: 'HEVC' } as const satisfies Record<VideoCodec, string>;
const AUDIO_CODEC = { aac: 'AAC-LC', opus: 'OPUS' } as const satisfies Record<AudioCodec, string>;

export function infoFromWire(system: Static<typeof SystemReply.schema>): DeviceInfo {
  return {
    model: system.model,
    serial: system.serial_number,
    firmware: system.firmware_version,
    uptimeSec: system.uptime_s,
    ...(system.hostname ? { name: system.hostname } : {}),
  };
}

export function configFromWire(channel: Channel): DeviceConfig {
  const [width, height] = channel.video.resolution.split('x').map(Number) as [number, number];
  return {
    ...targetFromWire(channel.output),
    video: {
      codec: channel.video.codec === 'HEVC' ? 'h265' : 'h264',
      bitrateKbps: channel.video.bitrate_kbps,
      width,
      height,
      fps: channel.video.frame_rate,
      keyframeIntervalFrames: channel.video.gop_length,
    },
    audio: {
      codec: channel.audio.codec === 'OPUS' ? 'opus' : 'aac',
      bitrateKbps: channel.audio.bitrate_kbps,
      sampleRate: channel.audio.sample_rate_hz as 32000 | 44100 | 48000,
      channels: channel.audio.channels === 1 ? 1 : 2,
    },
  };
}

function targetFromWire(output: Channel['output']): { target?: Target } {
  switch (output.upstream_protocol) {
    case 'RTMP':
      return { target: { protocol: 'rtmp', url: output.rtmp.url, streamKey: output.rtmp.stream_key } };
    case 'TS_OVER_SRT': {
      const { srt } = output;
      // Listener mode is never set by us; report it as no usable target so a diff rewrites it.
      if (srt.mode !== 'CALLER') return {};
      return {
        target: {
          protocol: 'srt',
          mode: 'caller',
          host: srt.destination_address,
          port: srt.port,
          latencyMs: srt.latency_ms,
          ...(srt.stream_id ? { streamId: decodeURIComponent(srt.stream_id) } : {}),
          ...(srt.encryption === 'AES-128' && srt.passphrase ? { passphrase: srt.passphrase } : {}),
        },
      };
    }
    case 'WHIP':
      return {
        target: {
          protocol: 'whip',
          url: output.whip.endpoint,
          ...(output.whip.bearer_token ? { bearerToken: output.whip.bearer_token } : {}),
        },
      };
    default:
      return {};
  }
}

export function updateToWire(write: ConfigWrite): ChannelUpdate {
  const update: ChannelUpdate = {};
  if (write.target) update.output = outputToWire(write.target);
  if (write.video) {
    const v = write.video;
    update.video = {
      codec: VIDEO_CODEC[v.codec],
      bitrate_kbps: v.bitrateKbps,
      ...(v.width !== undefined && v.height !== undefined ? { resolution: `${v.width}x${v.height}` } : {}),
      ...(v.fps !== undefined ? { frame_rate: v.fps } : {}),
      ...(v.keyframeIntervalFrames !== undefined ? { gop_length: v.keyframeIntervalFrames } : {}),
    };
  }
  if (write.audio) {
    const a = write.audio;
    update.audio = {
      codec: AUDIO_CODEC[a.codec],
      bitrate_kbps: a.bitrateKbps,
      ...(a.sampleRate !== undefined ? { sample_rate_hz: a.sampleRate } : {}),
      ...(a.channels !== undefined ? { channels: a.channels } : {}),
    };
  }
  return update;
}

function outputToWire(target: Target): NonNullable<ChannelUpdate['output']> {
  switch (target.protocol) {
    case 'rtmp':
      return { upstream_protocol: 'RTMP', rtmp: { url: target.url, stream_key: target.streamKey } };
    case 'srt':
      return {
        upstream_protocol: 'TS_OVER_SRT',
        srt: {
          mode: 'CALLER',
          destination_address: target.host,
          port: target.port,
          stream_id: target.streamId ? encodeURIComponent(target.streamId) : '',
          latency_ms: target.latencyMs,
          encryption: target.passphrase ? 'AES-128' : 'NONE',
          passphrase: target.passphrase ?? '',
        },
      };
    case 'whip':
      return {
        upstream_protocol: 'WHIP',
        whip: { endpoint: target.url, bearer_token: target.bearerToken ?? '' },
      };
  }
}

const STATE: Record<ChannelState, StreamState> = {
  IDLE: 'idle',
  STARTING: 'starting',
  RUNNING: 'streaming',
  STOPPING: 'stopping',
  ERROR: 'error',
};

export function statusFromWire(
  status: Static<typeof StatusReply.schema>,
  stats: Static<typeof StatsReply.schema> | undefined,
): DeviceStatus {
  const state = STATE[status.state];
  const input = parseInputSignal(status.input_signal);
  return {
    state,
    ...(state === 'streaming' ? { uptimeSec: status.uptime_s } : {}),
    ...(status.error_message ? { lastError: status.error_message } : {}),
    ...(stats
      ? { bitrateKbps: stats.bitrate_kbps, fps: stats.frame_rate, droppedFrames: stats.frames_dropped }
      : {}),
    ...(input ? { input } : {}),
  };
}

/** "1920x1080p29.97" → { width: 1920, height: 1080, fps: 29.97 }; "NO_SIGNAL" → undefined. */
export function parseInputSignal(signal: string): DeviceStatus['input'] {
  const match = /^(\d+)x(\d+)[pi]([\d.]+)$/.exec(signal);
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]), fps: Number(match[3]) };
}

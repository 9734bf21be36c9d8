/**
 * The vendor-neutral driver contract. Every driver translates its vendor's wire format into these
 * shapes at the edge and nowhere else; everything above `drivers/` speaks only this language.
 *
 * The schemas here are TypeBox, so the same definition types the code, validates API bodies and
 * import rows, and documents the OpenAPI contract.
 */
import type { LookupFunction } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import type { Dispatcher } from 'undici';
import type { ConfigProblem } from './errors.js';

export * from './errors.js';

// ---------------------------------------------------------------------------------------------
// Targets: where the encoder sends its stream.
// ---------------------------------------------------------------------------------------------

/** Custom string formats, registered with every validator the service builds (API, import). */
export const StringFormats = {
  /** `rtmp://host[:port]/app[/...]` or `rtmps://…`; the stream key is a separate field. */
  'rtmp-url': /^rtmps?:\/\/[A-Za-z0-9.\-[\]:]+(?::\d{1,5})?(?:\/[^\s]*)?$/,
  /** `http(s)://host[:port]/path` for WHIP endpoints and webhooks. */
  'http-url': /^https?:\/\/[A-Za-z0-9.\-[\]:]+(?::\d{1,5})?(?:\/[^\s]*)?$/,
  /** A DNS name or an IPv4/IPv6 literal, without scheme or port. */
  host: /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]+\]?)$/,
} as const;

export const RtmpTarget = Type.Object(
  {
    protocol: Type.Literal('rtmp'),
    url: Type.String({
      format: 'rtmp-url',
      maxLength: 2048,
      examples: ['rtmp://bintu-stream.nanocosmos.de/live'],
    }),
    streamKey: Type.String({ minLength: 1, maxLength: 512, description: 'Secret; never returned in full.' }),
  },
  { additionalProperties: false, title: 'RtmpTarget' },
);

export const SrtCallerTarget = Type.Object(
  {
    protocol: Type.Literal('srt'),
    host: Type.String({ format: 'host', minLength: 1, maxLength: 253 }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 5000 }),
    /** Only caller mode: the encoder dials out to the ingest; listener would need inbound firewall holes. */
    mode: Type.Literal('caller', { default: 'caller' }),
    streamId: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    /** Milliseconds. Some vendors take microseconds on the wire; drivers convert there, never here. */
    latencyMs: Type.Integer({ minimum: 20, maximum: 8000, default: 500 }),
    /** SRT AES passphrase: the SRT spec requires 10 to 79 characters. Secret. */
    passphrase: Type.Optional(Type.String({ minLength: 10, maxLength: 79 })),
  },
  { additionalProperties: false, title: 'SrtCallerTarget' },
);

export const WhipTarget = Type.Object(
  {
    protocol: Type.Literal('whip'),
    url: Type.String({ format: 'http-url', maxLength: 2048 }),
    bearerToken: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Secret.' })),
  },
  { additionalProperties: false, title: 'WhipTarget' },
);

export type RtmpTarget = Static<typeof RtmpTarget>;
export type SrtCallerTarget = Static<typeof SrtCallerTarget>;
export type WhipTarget = Static<typeof WhipTarget>;
export type Target = RtmpTarget | SrtCallerTarget | WhipTarget;

/**
 * A tagged union on `protocol` (JSON Schema `oneOf` + OpenAPI `discriminator`): validators pick the
 * branch by the tag, so errors name that branch's fields and its defaults (SRT port 5000, caller,
 * 500 ms) are filled in. Validated with Ajv (`discriminator: true`), not TypeBox's own checker.
 */
export function taggedUnion<T>(tag: string, variants: readonly object[]) {
  return Type.Unsafe<T>({
    type: 'object',
    required: [tag],
    discriminator: { propertyName: tag },
    oneOf: [...variants],
  });
}

export const Target = taggedUnion<Target>('protocol', [RtmpTarget, SrtCallerTarget, WhipTarget]);
export type Protocol = Target['protocol'];
export const PROTOCOLS: readonly Protocol[] = ['rtmp', 'srt', 'whip'];

// ---------------------------------------------------------------------------------------------
// Video and audio settings. A field left out means "leave it as the device has it"; a field given
// is managed: written when it differs and verified after the write.
// ---------------------------------------------------------------------------------------------

export const VideoCodec = Type.Union([Type.Literal('h264'), Type.Literal('h265')]);
export const AudioCodec = Type.Union([Type.Literal('aac'), Type.Literal('opus')]);
export type VideoCodec = Static<typeof VideoCodec>;
export type AudioCodec = Static<typeof AudioCodec>;

export const VideoSettings = Type.Object(
  {
    codec: VideoCodec,
    bitrateKbps: Type.Integer({ minimum: 50, maximum: 100_000 }),
    width: Type.Optional(Type.Integer({ minimum: 16, maximum: 7680 })),
    height: Type.Optional(Type.Integer({ minimum: 16, maximum: 4320 })),
    fps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 120 })),
    keyframeIntervalFrames: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  // width and height only make sense together.
  { additionalProperties: false, dependencies: { width: ['height'], height: ['width'] } },
);

export const AudioSettings = Type.Object(
  {
    codec: AudioCodec,
    bitrateKbps: Type.Integer({ minimum: 8, maximum: 512 }),
    sampleRate: Type.Optional(Type.Union([Type.Literal(32000), Type.Literal(44100), Type.Literal(48000)])),
    channels: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
  },
  { additionalProperties: false },
);
export type VideoSettings = Static<typeof VideoSettings>;
export type AudioSettings = Static<typeof AudioSettings>;

/**
 * One extra rendition for multi-bitrate: a further output of the device with its own stream
 * (target) and video settings, e.g. 500 kbit/s beside a 2000 kbit/s main stream. Rendition `i`
 * runs on the device's output `i + 2` (the main config is output 1).
 */
export const Rendition = Type.Object(
  {
    target: Target,
    video: VideoSettings,
    audio: Type.Optional(AudioSettings),
  },
  { additionalProperties: false, title: 'Rendition' },
);
export type Rendition = Static<typeof Rendition>;

/**
 * What the service asks a device to be.
 * @example
 * { target: { protocol: 'srt', host: 'bintu-srt.nanocosmos.de', port: 5000, mode: 'caller',
 *             streamId: 'push:ABCDE-XYZ12', latencyMs: 500 },
 *   video: { codec: 'h264', width: 1280, height: 720, fps: 30, bitrateKbps: 1500, keyframeIntervalFrames: 60 },
 *   audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000, channels: 2 } }
 */
export const EncoderConfig = Type.Object(
  {
    target: Target,
    video: Type.Optional(VideoSettings),
    audio: Type.Optional(AudioSettings),
    /**
     * Further outputs (multi-bitrate). Absent = the device's other outputs are left alone; given
     * (even empty) = they are managed: outputs beyond the list are cleared.
     */
    renditions: Type.Optional(Type.Array(Rendition, { maxItems: 15 })),
  },
  { additionalProperties: false, title: 'EncoderConfig' },
);
export type EncoderConfig = Static<typeof EncoderConfig>;

/**
 * What a device reports about itself. Same shape as EncoderConfig, but every part may be missing:
 * devices report what they know (a unit with no output configured has no target).
 */
export interface DeviceConfig {
  target?: Target;
  video?: Partial<VideoSettings>;
  audio?: Partial<AudioSettings>;
  /**
   * The device's further outputs, index `i` = output `i + 2`; an output with nothing configured has
   * no target. Absent when they were not read (see `ConfigReadOptions.renditions`).
   */
  renditions?: DeviceConfig[];
}

// ---------------------------------------------------------------------------------------------
// Status and info.
// ---------------------------------------------------------------------------------------------

export const StreamState = Type.Union(
  [
    Type.Literal('idle'),
    Type.Literal('starting'),
    Type.Literal('streaming'),
    Type.Literal('stopping'),
    Type.Literal('error'),
  ],
  { $id: 'StreamState' },
);
export type StreamState = Static<typeof StreamState>;

export const VideoInput = Type.Object({
  width: Type.Integer(),
  height: Type.Integer(),
  fps: Type.Optional(Type.Number()),
});

export const DeviceStatus = Type.Object(
  {
    state: StreamState,
    bitrateKbps: Type.Optional(Type.Number({ minimum: 0 })),
    fps: Type.Optional(Type.Number({ minimum: 0 })),
    droppedFrames: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Seconds the current stream has been up; absent when not streaming. */
    uptimeSec: Type.Optional(Type.Number({ minimum: 0 })),
    /** The device's own words for the last stream error, when it reports one. */
    lastError: Type.Optional(Type.String()),
    /** The capture signal as the device detects it; absent when the device does not say. */
    input: Type.Optional(VideoInput),
  },
  { $id: 'DeviceStatus' },
);
export type DeviceStatus = Static<typeof DeviceStatus>;

export const DeviceInfo = Type.Object(
  {
    model: Type.String(),
    serial: Type.Optional(Type.String()),
    firmware: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    /** Seconds since the device booted, when it says. */
    uptimeSec: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { $id: 'DeviceInfo' },
);
export type DeviceInfo = Static<typeof DeviceInfo>;

// ---------------------------------------------------------------------------------------------
// Capabilities: what a model family can do. Checked before any write reaches a device.
// ---------------------------------------------------------------------------------------------

/** `teradek` = a Teradek unit whose control plane is found on first contact (drivers/teradek/auto.ts). */
export const VENDOR_IDS = ['osprey-talon', 'videon', 'teradek-vidiu', 'teradek-prism', 'teradek'] as const;
export type VendorId = (typeof VENDOR_IDS)[number];

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface Capabilities {
  readonly vendor: VendorId;
  /** Human name of the model family, e.g. "Osprey Talon 4K-SC". */
  readonly family: string;
  readonly models: readonly string[];
  readonly targets: readonly Protocol[];
  readonly video: {
    /** False where the device's settings cannot be written over its API at all. */
    readonly configurable: boolean;
    readonly codecs: readonly VideoCodec[];
    readonly maxWidth: number;
    readonly maxHeight: number;
    /** When set, only these resolutions are accepted (devices with a fixed scaler menu). */
    readonly resolutions?: readonly { width: number; height: number }[];
    /** Frame rates the device can be set to; empty when the output follows the input rate. */
    readonly fps: readonly number[];
    readonly bitrateKbps: Range;
    readonly keyframeInterval: boolean;
  };
  readonly audio: {
    readonly configurable: boolean;
    readonly codecs: readonly AudioCodec[];
    readonly bitrateKbps: Range;
    readonly sampleRates: readonly number[];
    readonly channels: readonly (1 | 2)[];
  };
  readonly reboot: boolean;
  /**
   * Independent stream outputs the device can run at once: the main stream and `outputs - 1`
   * renditions for multi-bitrate (1 = no renditions).
   */
  readonly outputs: number;
  /** Protocols a rendition output takes, where narrower than `targets` (Videon: its SRT outputs). */
  readonly renditionTargets?: readonly Protocol[];
  /** The fastest the device tolerates being polled (VidiU Go stops answering below 1 s). */
  readonly minPollIntervalMs: number;
  /**
   * Operations whose wire format is inferred rather than publicly documented; they work against our
   * simulator and must be verified on a real unit before being trusted in production.
   */
  readonly provisional: readonly string[];
}

/**
 * Lists every part of `config` the device cannot do, in config-path terms. Empty when all is
 * supported. Drivers call this before their first write and throw UnsupportedConfigError.
 * @example checkCapabilities(videonCaps, { target: { protocol: 'whip', … } })
 *   // → [{ field: 'target.protocol', reason: 'videon supports rtmp, srt; not whip' }]
 */
export function checkCapabilities(caps: Capabilities, config: EncoderConfig): ConfigProblem[] {
  const problems = checkOutput(caps, config, '', caps.targets);
  const renditions = config.renditions ?? [];
  if (renditions.length > caps.outputs - 1) {
    problems.push({
      field: 'renditions',
      reason:
        caps.outputs > 1
          ? `${caps.vendor} runs at most ${caps.outputs} outputs at once (the main stream and ${caps.outputs - 1} renditions); asked for ${renditions.length} renditions`
          : `${caps.vendor} runs one output: multi-bitrate renditions are not supported`,
    });
  } else {
    renditions.forEach((r, i) => {
      problems.push(...checkOutput(caps, r, `renditions.${i}.`, caps.renditionTargets ?? caps.targets));
    });
  }
  return problems;
}

/** Problems of one output's settings; fields are prefixed with `prefix` (`renditions.0.`). */
function checkOutput(
  caps: Capabilities,
  config: Pick<EncoderConfig, 'target' | 'video' | 'audio'>,
  prefix: string,
  targets: readonly Protocol[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (field: string) => `${prefix}${field}`;
  const { target, video, audio } = config;
  if (!targets.includes(target.protocol)) {
    problems.push({
      field: at('target.protocol'),
      reason: `${caps.vendor} ${prefix ? 'renditions support' : 'supports'} ${targets.join(', ') || 'no configurable target'}; not ${target.protocol}`,
    });
  }
  if (video) {
    const v = caps.video;
    if (!v.configurable)
      problems.push({
        field: at('video'),
        reason: `${caps.vendor} video settings cannot be set over its API`,
      });
    else {
      if (!v.codecs.includes(video.codec))
        problems.push({ field: at('video.codec'), reason: `supported: ${v.codecs.join(', ')}` });
      if (!within(video.bitrateKbps, v.bitrateKbps))
        problems.push({
          field: at('video.bitrateKbps'),
          reason: `must be ${v.bitrateKbps.min}..${v.bitrateKbps.max}`,
        });
      if (video.width !== undefined && video.height !== undefined) {
        if (video.width > v.maxWidth || video.height > v.maxHeight)
          problems.push({
            field: at('video.width'),
            reason: `largest supported is ${v.maxWidth}x${v.maxHeight}`,
          });
        else if (
          v.resolutions &&
          !v.resolutions.some((r) => r.width === video.width && r.height === video.height)
        )
          problems.push({
            field: at('video.width'),
            reason: `supported resolutions: ${v.resolutions.map((r) => `${r.width}x${r.height}`).join(', ')}`,
          });
      }
      if (video.fps !== undefined && !v.fps.includes(video.fps))
        problems.push({
          field: at('video.fps'),
          reason: v.fps.length
            ? `supported: ${v.fps.join(', ')}`
            : 'frame rate follows the input and cannot be set',
        });
      if (video.keyframeIntervalFrames !== undefined && !v.keyframeInterval)
        problems.push({
          field: at('video.keyframeIntervalFrames'),
          reason: 'keyframe interval cannot be set',
        });
    }
  }
  if (audio) {
    const a = caps.audio;
    if (!a.configurable)
      problems.push({
        field: at('audio'),
        reason: `${caps.vendor} audio settings cannot be set over its API`,
      });
    else {
      if (!a.codecs.includes(audio.codec))
        problems.push({ field: at('audio.codec'), reason: `supported: ${a.codecs.join(', ')}` });
      if (!within(audio.bitrateKbps, a.bitrateKbps))
        problems.push({
          field: at('audio.bitrateKbps'),
          reason: `must be ${a.bitrateKbps.min}..${a.bitrateKbps.max}`,
        });
      if (audio.sampleRate !== undefined && !a.sampleRates.includes(audio.sampleRate))
        problems.push({ field: at('audio.sampleRate'), reason: `supported: ${a.sampleRates.join(', ')}` });
      if (audio.channels !== undefined && !a.channels.includes(audio.channels))
        problems.push({ field: at('audio.channels'), reason: `supported: ${a.channels.join(', ')}` });
    }
  }
  return problems;
}

function within(value: number, range: Range): boolean {
  return value >= range.min && value <= range.max;
}

// ---------------------------------------------------------------------------------------------
// The driver.
// ---------------------------------------------------------------------------------------------

export interface Credentials {
  username: string;
  password: string;
}

/**
 * How to reach a device over TLS. Encoders ship self-signed certificates, so plain verification is
 * rarely enough: pin the certificate's SHA-256 fingerprint, give the CA that signed it, or say
 * `insecure` explicitly (shown as such wherever the device is displayed).
 */
export const DeviceTls = Type.Union(
  [
    Type.Object({ mode: Type.Literal('off') }, { additionalProperties: false }),
    Type.Object(
      { mode: Type.Literal('verify'), ca: Type.Optional(Type.String({ maxLength: 65536 })) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        mode: Type.Literal('pin'),
        /**
         * SHA-256 of the DER certificate, hex with or without colons. Absent: trust on first use —
         * the first connection's certificate is recorded here and every later one must match it.
         */
        fingerprint256: Type.Optional(
          Type.String({
            pattern: '^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$',
            description:
              'SHA-256 of the DER certificate. Leave out to trust the first certificate seen (TOFU) and pin it.',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    Type.Object({ mode: Type.Literal('insecure') }, { additionalProperties: false }),
  ],
  { $id: 'DeviceTls' },
);
export type DeviceTls = Static<typeof DeviceTls>;

/** Everything a driver needs to find and talk to one device. */
export interface DeviceEndpoint {
  readonly id: string;
  readonly vendor: VendorId;
  readonly host: string;
  /** Absent = the vendor's default port. */
  readonly port?: number;
  readonly tls?: DeviceTls;
  readonly credentials?: Credentials;
}

export interface DriverContext {
  readonly endpoint: DeviceEndpoint;
  /** Per-request time limit; a device that does not answer in time raises DeviceTimeoutError. */
  readonly timeoutMs: number;
  /** Overrides the HTTP connection (tests inject undici's MockAgent here). */
  readonly dispatcher?: Dispatcher;
  /** Called for each address a device host resolves to, before connecting (SSRF guard). */
  readonly checkAddress?: (address: string) => void;
  /** Resolves host names for connecting (default: the system resolver); answers pass `checkAddress`. */
  readonly lookup?: LookupFunction;
  /**
   * Trust on first use: told the certificate fingerprint of the first TLS connection to a device in
   * `pin` mode without a fingerprint, to record it. Later connections must present the same one.
   */
  readonly onFirstCertificate?: (fingerprint256: string) => void;
}

/** Options every driver call accepts. An aborted signal stops the call with the signal's reason. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface ConfigReadOptions extends CallOptions {
  /**
   * Also read the further outputs into `renditions` (multi-output devices only). Off by default: it
   * costs requests, and only a config with renditions needs them.
   */
  readonly renditions?: boolean;
}

export interface ConfigChange {
  /** Dotted path, e.g. `video.bitrateKbps` or `target` (a whole-target change). */
  readonly path: string;
  /** Values as shown to people: secrets are masked (see `maskSecret`). */
  readonly from: unknown;
  readonly to: unknown;
}

/** Options of `applyConfig`. */
export interface ApplyOptions extends CallOptions {
  /**
   * Called once, just before the first write is sent, with what is about to change. The write may
   * still fail part-way; a caller that retries learns from this that the device may have been changed.
   */
  readonly onWrite?: (changes: readonly ConfigChange[]) => void;
}

export interface ApplyResult {
  /** What differed and was written; empty when the device already matched (nothing written). */
  readonly changes: readonly ConfigChange[];
  /** The device's config as read back after the write. */
  readonly readBack: DeviceConfig;
  /** Fields the device set differently from what was asked (clamped, rounded, ignored). */
  readonly deviations: readonly ConfigChange[];
}

/**
 * One connected device. Instances are cheap and hold the device's session and connection pool; the
 * engine keeps one per device and serialises calls on it, so drivers need no locking of their own.
 */
export interface EncoderDriver {
  readonly capabilities: Capabilities;

  /**
   * Opens a session where the device has one (a no-op for session-less APIs). Other calls log in by
   * themselves when needed and re-login once when a session expires.
   * @throws DeviceAuthError on wrong credentials
   */
  login(opts?: CallOptions): Promise<void>;

  /** @example → { model: 'Talon 4K-SC', serial: 'T4K-000123', firmware: '2.4.1', uptimeSec: 86400 } */
  getInfo(opts?: CallOptions): Promise<DeviceInfo>;

  /**
   * The device's current settings, normalised.
   * @example → { target: { protocol: 'rtmp', url: 'rtmp://ingest/live', streamKey: 'k' },
   *              video: { codec: 'h264', bitrateKbps: 2500, width: 1920, height: 1080, fps: 30 } }
   */
  getConfig(opts?: ConfigReadOptions): Promise<DeviceConfig>;

  /**
   * Converges the device to `config`: read → diff → write only what differs → read back → compare.
   * Writes nothing when the device already matches.
   * @throws UnsupportedConfigError before any write when the device cannot do what is asked
   * @throws DeviceRejectedError when the device refuses a value (with its message)
   */
  applyConfig(config: EncoderConfig, opts?: ApplyOptions): Promise<ApplyResult>;

  /** Starts streaming to the configured target. Idempotent: starting a live device is a no-op. */
  start(opts?: CallOptions): Promise<void>;

  /** Stops streaming. Idempotent. */
  stop(opts?: CallOptions): Promise<void>;

  /** @example → { state: 'streaming', bitrateKbps: 2480, fps: 30, droppedFrames: 0, uptimeSec: 312 } */
  getStatus(opts?: CallOptions): Promise<DeviceStatus>;

  /** Restarts the device. The device is unreachable for a while afterwards. */
  reboot(opts?: CallOptions): Promise<void>;

  /** Releases connections and sessions. */
  close(): Promise<void>;
}

/** What a vendor folder exports: its capabilities and a factory for connected drivers. */
export interface DriverModule {
  readonly vendor: VendorId;
  readonly capabilities: Capabilities;
  readonly defaultPort: number;
  /** Opens a driver for one device. Devices added without credentials get the vendor's factory login. */
  create(ctx: DriverContext): EncoderDriver;
}

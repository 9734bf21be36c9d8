/**
 * Setting guidance: nanoStream Cloud's encoder recommendations for ultra-low latency (see
 * ../shared/nanostream.md) as structured warnings, each with the config field, why, and the value
 * recommended instead. Warnings never block unless the caller asks for `strict`.
 *
 * The figures are nanoStream's; where the recommendation leaves a bound open ("1000 kbit/s and
 * more"), the bound used is named in the table below and in the message.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { AudioSettings, Target, VideoSettings } from '../../drivers/contract.js';
import { type NanoStreamHosts, nanoStreamNameOf } from './nanostream-target.js';
import { TrafficEstimate } from './traffic.js';

export const WARNING_CODES = [
  'frame_rate_high',
  'keyframe_interval',
  'bitrate_low',
  'bitrate_high',
  'bitrate_mobile',
  'resolution_nonstandard',
  'upscaling',
  'resolution_change_live',
  'h265_on_request',
  'srt_on_request',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export const SettingWarning = Type.Object(
  {
    code: Type.Union(WARNING_CODES.map((c) => Type.Literal(c))),
    /** Config path, e.g. `video.fps` or `renditions.0.video.bitrateKbps`. */
    field: Type.String(),
    message: Type.String(),
    /** The value nanoStream recommends instead. */
    recommended: Type.Unknown(),
    /** Devices this applies to (absent when checking a config on its own). */
    devices: Type.Optional(Type.Integer()),
    /** The first of them (at most 20). */
    deviceIds: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'SettingWarning' },
);
export type SettingWarning = Static<typeof SettingWarning>;

/** What a check of settings returns: the warnings and the traffic estimate. */
export const Guidance = Type.Object(
  {
    /** Warnings block the job (it is not created) when set. */
    strict: Type.Boolean(),
    warnings: Type.Array(SettingWarning),
    traffic: TrafficEstimate,
  },
  { $id: 'Guidance', title: 'Guidance' },
);
export type Guidance = Static<typeof Guidance>;

/** Standard resolutions nanoStream lists. */
export const STANDARD_RESOLUTIONS: readonly { width: number; height: number }[] = [
  { width: 640, height: 480 },
  { width: 640, height: 360 },
  { width: 424, height: 240 },
  { width: 768, height: 432 },
  { width: 848, height: 480 },
  { width: 720, height: 576 },
  { width: 1024, height: 576 },
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
];

/** Highest frame rate recommended: 25 or 30 fps, not 60. */
export const MAX_RECOMMENDED_FPS = 30;
/** Keyframe interval: about 2 s (50–60 frames at 25/30 fps); warned beyond ± 0.5 s. */
export const KEYFRAME_SECONDS = 2;
export const KEYFRAME_TOLERANCE_SECONDS = 0.5;

/**
 * Recommended video bitrate per resolution class (by the picture's shorter side).
 *  - up to 576p: 300–500 medium, 1000 and more for high quality → 300 .. 2000 (the 720p top bounds "and more")
 *  - 720p: 600–1000 low/medium, 1000–2000 high → 600 .. 2000
 *  - 1080p: 2000–3000 and more → 2000 .. 6000 (the 4K figure bounds "and more")
 *  - 4K: up to about 6000 → 2000 (the 1080p floor) .. 6000
 */
export const BITRATE_CLASSES = [
  { upTo: 576, label: 'up to 576p', min: 300, max: 2000 },
  { upTo: 720, label: '720p', min: 600, max: 2000 },
  { upTo: 1080, label: '1080p', min: 2000, max: 6000 },
  { upTo: Number.POSITIVE_INFINITY, label: '4K', min: 2000, max: 6000 },
] as const;

/** Audiences on mobile / public Wi-Fi: far below 1000 kbit/s, e.g. 500. */
export const MOBILE_MAX_KBPS = 1000;
export const MOBILE_KBPS = 500;

export type Audience = 'default' | 'mobile';

/** One output as the rules read it: any part may be missing (a config being written). */
export interface GuidedOutput {
  readonly target?: Target | { readonly protocol: 'nanostream'; readonly ingest?: string };
  readonly video?: Partial<VideoSettings>;
  readonly audio?: Partial<AudioSettings>;
}
export interface GuidedConfig extends GuidedOutput {
  readonly renditions?: readonly GuidedOutput[];
}

/** What is known about the device the config is meant for. */
export interface DeviceFacts {
  /** The capture signal the device reports. */
  readonly input?: { readonly width: number; readonly height: number; readonly fps?: number };
  /** The device says it is streaming now. */
  readonly streaming?: boolean;
  /** The resolution it sends now, when known. */
  readonly current?: { readonly width?: number; readonly height?: number };
}

export type Advice = Omit<SettingWarning, 'devices' | 'deviceIds'>;

/** Every recommendation the config (for this device, when facts are given) does not follow. */
export function adviseConfig(
  config: GuidedConfig,
  hosts: NanoStreamHosts,
  facts: DeviceFacts = {},
  audience: Audience = 'default',
): Advice[] {
  const advice = adviseOutput(config, '', hosts, facts, audience);
  config.renditions?.forEach((r, i) => {
    advice.push(...adviseOutput(r, `renditions.${i}.`, hosts, { ...facts, streaming: false }, audience));
  });
  return advice;
}

function adviseOutput(
  output: GuidedOutput,
  prefix: string,
  hosts: NanoStreamHosts,
  facts: DeviceFacts,
  audience: Audience,
): Advice[] {
  const out: Advice[] = [];
  const add = (code: WarningCode, field: string, message: string, recommended: unknown) =>
    out.push({ code, field: `${prefix}${field}`, message, recommended });
  const v = output.video ?? {};
  const fps = v.fps ?? facts.input?.fps;

  if (v.fps !== undefined && v.fps > MAX_RECOMMENDED_FPS) {
    const recommended = v.fps >= 49 && v.fps <= 50 ? 25 : 30;
    add(
      'frame_rate_high',
      'video.fps',
      `${v.fps} fps: nanoStream recommends 25 or 30 fps for ultra-low latency, not 60`,
      recommended,
    );
  }

  if (v.keyframeIntervalFrames !== undefined && fps) {
    const seconds = v.keyframeIntervalFrames / fps;
    if (Math.abs(seconds - KEYFRAME_SECONDS) > KEYFRAME_TOLERANCE_SECONDS) {
      add(
        'keyframe_interval',
        'video.keyframeIntervalFrames',
        `a keyframe every ${v.keyframeIntervalFrames} frames is ${round(seconds)} s at ${fps} fps; nanoStream recommends about ${KEYFRAME_SECONDS} s (50–60 frames at 25/30 fps)`,
        Math.round(KEYFRAME_SECONDS * fps),
      );
    }
  }

  const size =
    v.width !== undefined && v.height !== undefined ? { width: v.width, height: v.height } : undefined;
  if (size && v.bitrateKbps !== undefined) {
    const cls = BITRATE_CLASSES.find((c) => Math.min(size.width, size.height) <= c.upTo)!;
    if (v.bitrateKbps < cls.min)
      add(
        'bitrate_low',
        'video.bitrateKbps',
        `${v.bitrateKbps} kbit/s is below the ${cls.min}–${cls.max} kbit/s recommended for ${cls.label}`,
        cls.min,
      );
    else if (v.bitrateKbps > cls.max)
      add(
        'bitrate_high',
        'video.bitrateKbps',
        `${v.bitrateKbps} kbit/s is above the ${cls.min}–${cls.max} kbit/s recommended for ${cls.label}: as low as possible, as high as necessary`,
        cls.max,
      );
  }
  if (audience === 'mobile' && v.bitrateKbps !== undefined && v.bitrateKbps >= MOBILE_MAX_KBPS)
    add(
      'bitrate_mobile',
      'video.bitrateKbps',
      `${v.bitrateKbps} kbit/s: for audiences on mobile / public Wi-Fi nanoStream recommends far below ${MOBILE_MAX_KBPS} kbit/s, e.g. ${MOBILE_KBPS}`,
      MOBILE_KBPS,
    );

  if (size && !isStandard(size)) {
    const nearest = nearestStandard(size);
    add(
      'resolution_nonstandard',
      'video.width',
      `${size.width}x${size.height} is not a standard resolution (${STANDARD_RESOLUTIONS.map(label).join(', ')})`,
      nearest,
    );
  }

  const input = facts.input;
  if (size && input && (input.width < size.width || input.height < size.height)) {
    add(
      'upscaling',
      'video.width',
      `the device captures ${input.width}x${input.height} but would stream ${label(size)}: upscaling costs bitrate and adds nothing; stream at most the capture resolution`,
      largestStandardWithin(input) ?? { width: input.width, height: input.height },
    );
  }

  const current = facts.current;
  if (
    size &&
    facts.streaming &&
    current?.width !== undefined &&
    current.height !== undefined &&
    (current.width !== size.width || current.height !== size.height)
  ) {
    add(
      'resolution_change_live',
      'video.width',
      `the device is streaming at ${current.width}x${current.height}: changing the resolution during a stream interrupts viewers`,
      { width: current.width, height: current.height },
    );
  }

  const ingest = nanoStreamIngestOf(output.target, hosts);
  if (ingest && v.codec === 'h265')
    add(
      'h265_on_request',
      'video.codec',
      'nanoStream Cloud takes H.265 only where it was enabled on request; H.264 is the default',
      'h264',
    );
  if (ingest === 'srt')
    add(
      'srt_on_request',
      'target',
      'nanoStream Cloud takes SRT only where it was enabled on request; RTMP is the default ingest',
      'rtmp',
    );
  return out;
}

/** `rtmp` / `srt` / `whip` when the target goes to nanoStream Cloud (shorthand or its hosts). */
function nanoStreamIngestOf(target: GuidedOutput['target'], hosts: NanoStreamHosts): string | undefined {
  if (!target) return undefined;
  if (target.protocol === 'nanostream') return target.ingest ?? 'rtmp';
  return nanoStreamNameOf(target, hosts) !== undefined ? target.protocol : undefined;
}

function isStandard(size: { width: number; height: number }): boolean {
  return STANDARD_RESOLUTIONS.some((r) => r.width === size.width && r.height === size.height);
}

/** The standard resolution closest in pixel count, preferring the same aspect ratio. */
export function nearestStandard(size: { width: number; height: number }): { width: number; height: number } {
  const aspect = size.width / size.height;
  const same = STANDARD_RESOLUTIONS.filter((r) => Math.abs(r.width / r.height - aspect) / aspect < 0.02);
  const pool = same.length ? same : STANDARD_RESOLUTIONS;
  const area = size.width * size.height;
  return {
    ...pool.reduce((best, r) =>
      Math.abs(r.width * r.height - area) < Math.abs(best.width * best.height - area) ? r : best,
    ),
  };
}

function largestStandardWithin(input: { width: number; height: number }) {
  const fitting = STANDARD_RESOLUTIONS.filter((r) => r.width <= input.width && r.height <= input.height);
  return fitting.length
    ? { ...fitting.reduce((best, r) => (r.width * r.height > best.width * best.height ? r : best)) }
    : undefined;
}

function label(r: { width: number; height: number }): string {
  return `${r.width}x${r.height}`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Merges per-device advice into one list: the same warning for many devices is one entry with the
 * device count and the first 20 ids, so a 10,000-device job stays small.
 */
export function groupAdvice(
  perDevice: Iterable<{ deviceId: string; advice: readonly Advice[] }>,
): SettingWarning[] {
  const groups = new Map<string, SettingWarning & { devices: number; deviceIds: string[] }>();
  for (const { deviceId, advice } of perDevice) {
    for (const a of advice) {
      const key = `${a.code}\u0000${a.field}\u0000${a.message}\u0000${JSON.stringify(a.recommended)}`;
      const group = groups.get(key) ?? { ...a, devices: 0, deviceIds: [] };
      group.devices++;
      if (group.deviceIds.length < 20) group.deviceIds.push(deviceId);
      groups.set(key, group);
    }
  }
  return [...groups.values()];
}

/**
 * A device's desired config = its base (a profile's config, or the config of the last apply job)
 * ⊕ its overrides (typically its own stream key / stream id). Overrides win field by field; an
 * override naming a different protocol replaces the whole target.
 */
import { type Static, Type } from '@sinclair/typebox';
import { AudioSettings, VideoSettings } from '../../drivers/contract.js';
import type { JobConfig } from './jobs/model.js';

/** Any target field may be overridden; the merged result is validated as a whole. */
export const TargetOverrides = Type.Object(
  {
    protocol: Type.Optional(Type.Union([Type.Literal('rtmp'), Type.Literal('srt'), Type.Literal('whip')])),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    streamKey: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    host: Type.Optional(Type.String({ format: 'host', minLength: 1, maxLength: 253 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    mode: Type.Optional(Type.Literal('caller')),
    streamId: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    latencyMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 8000 })),
    passphrase: Type.Optional(Type.String({ minLength: 10, maxLength: 79 })),
    bearerToken: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  },
  { additionalProperties: false },
);

export const ConfigOverrides = Type.Object(
  {
    target: Type.Optional(TargetOverrides),
    video: Type.Optional(Type.Partial(VideoSettings)),
    audio: Type.Optional(Type.Partial(AudioSettings)),
  },
  { additionalProperties: false },
);
export type ConfigOverrides = Static<typeof ConfigOverrides>;

/**
 * Merges base and overrides; the result still has to be validated as an EncoderConfig.
 * @example effectiveConfig({ target: { protocol: 'rtmp', url: 'rtmp://x/live', streamKey: 'shared' } },
 *                         { target: { streamKey: 'dev-17' } })
 *   → { target: { protocol: 'rtmp', url: 'rtmp://x/live', streamKey: 'dev-17' } }
 */
export function effectiveConfig(
  base: JobConfig | undefined,
  overrides: unknown,
): Record<string, unknown> | undefined {
  const o = (overrides ?? {}) as ConfigOverrides;
  if (!base && !overrides) return undefined;
  const result: Record<string, unknown> = {};
  const baseTarget = base?.target as Record<string, unknown> | undefined;
  const replaces = o.target?.protocol !== undefined && o.target.protocol !== baseTarget?.protocol;
  const target = replaces ? { ...o.target } : { ...baseTarget, ...o.target };
  if (Object.keys(target).length) result.target = applyTargetDefaults(target);
  if (base?.video || o.video) result.video = { ...base?.video, ...o.video };
  if (base?.audio || o.audio) result.audio = { ...base?.audio, ...o.audio };
  return result;
}

/** The defaults an SRT target gets when given as a whole (port 5000, caller, 500 ms). */
function applyTargetDefaults(target: Record<string, unknown>): Record<string, unknown> {
  if (target.protocol !== 'srt') return target;
  return { port: 5000, mode: 'caller', latencyMs: 500, ...target };
}

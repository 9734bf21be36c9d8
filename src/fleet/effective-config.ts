/**
 * A device's desired config = its base (a profile's config, or the config of the last apply job)
 * ⊕ its overrides (typically its own stream key / stream id / stream name). Overrides win field by
 * field; an override naming a different protocol replaces the whole target. Renditions are merged
 * by index: the main target, then the rendition's own fields, then the device's override for it.
 */
import { type Static, Type } from '@sinclair/typebox';
import { AudioSettings, VideoSettings } from '../../drivers/contract.js';
import { NanoStreamIngestField, NanoStreamRegionField, StreamName } from '../ingest/nanostream-target.js';
import type { JobConfig } from './jobs/model.js';

/** Any target field may be overridden; the merged result is validated as a whole. */
export const TargetOverrides = Type.Object(
  {
    protocol: Type.Optional(
      Type.Union([
        Type.Literal('rtmp'),
        Type.Literal('srt'),
        Type.Literal('whip'),
        Type.Literal('nanostream'),
      ]),
    ),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    streamKey: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    host: Type.Optional(Type.String({ format: 'host', minLength: 1, maxLength: 253 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    mode: Type.Optional(Type.Literal('caller')),
    streamId: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    latencyMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 8000 })),
    passphrase: Type.Optional(Type.String({ minLength: 10, maxLength: 79 })),
    bearerToken: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    // The nanoStream shorthand (protocol `nanostream`).
    ingest: Type.Optional(NanoStreamIngestField),
    streamName: Type.Optional(StreamName),
    region: Type.Optional(NanoStreamRegionField),
  },
  { additionalProperties: false },
);
export type TargetOverrides = Static<typeof TargetOverrides>;

export const RenditionOverrides = Type.Object(
  {
    target: Type.Optional(TargetOverrides),
    video: Type.Optional(Type.Partial(VideoSettings)),
    audio: Type.Optional(Type.Partial(AudioSettings)),
  },
  { additionalProperties: false },
);

export const ConfigOverrides = Type.Object(
  {
    target: Type.Optional(TargetOverrides),
    video: Type.Optional(Type.Partial(VideoSettings)),
    audio: Type.Optional(Type.Partial(AudioSettings)),
    /** Completes the base config's rendition of the same index (its own stream name, say). */
    renditions: Type.Optional(Type.Array(RenditionOverrides, { maxItems: 15 })),
  },
  { additionalProperties: false },
);
export type ConfigOverrides = Static<typeof ConfigOverrides>;

type Fields = Record<string, unknown>;

/**
 * Merges base and overrides; the result still has to be expanded (nanoStream shorthand) and
 * validated as an EncoderConfig.
 * @example effectiveConfig({ target: { protocol: 'rtmp', url: 'rtmp://x/live', streamKey: 'shared' } },
 *                         { target: { streamKey: 'dev-17' } })
 *   → { target: { protocol: 'rtmp', url: 'rtmp://x/live', streamKey: 'dev-17' } }
 */
export function effectiveConfig(base: JobConfig | undefined, overrides: unknown): Fields | undefined {
  const o = (overrides ?? {}) as ConfigOverrides;
  if (!base && !overrides) return undefined;
  const result: Fields = {};
  const target = mergeTarget(base?.target as Fields | undefined, o.target);
  if (target) result.target = target;
  if (base?.video || o.video) result.video = { ...base?.video, ...o.video };
  if (base?.audio || o.audio) result.audio = { ...base?.audio, ...o.audio };
  if (base?.renditions) {
    result.renditions = base.renditions.map((r, i) => {
      const ro = o.renditions?.[i];
      const rendition: Fields = {
        video: { ...(result.video as Fields | undefined), ...r.video, ...ro?.video },
      };
      const t = mergeTarget(mergeTarget(target, r.target), ro?.target);
      if (t) rendition.target = t;
      if (result.audio || r.audio || ro?.audio)
        rendition.audio = { ...(result.audio as Fields | undefined), ...r.audio, ...ro?.audio };
      return rendition;
    });
  }
  return result;
}

/** `over` wins field by field; naming another protocol replaces the target. */
function mergeTarget(base: Fields | undefined, over: Fields | undefined): Fields | undefined {
  const replaces = over?.protocol !== undefined && over.protocol !== base?.protocol;
  const target = replaces ? { ...over } : { ...base, ...over };
  return Object.keys(target).length ? applyTargetDefaults(target) : undefined;
}

/** The defaults an SRT target gets when given as a whole (port 5000, caller, 500 ms). */
function applyTargetDefaults(target: Fields): Fields {
  if (target.protocol !== 'srt') return target;
  return { port: 5000, mode: 'caller', latencyMs: 500, ...target };
}

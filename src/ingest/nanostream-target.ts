/**
 * The `nanostream` target shorthand: a stream name and an ingest kind, expanded to the concrete
 * target a driver understands (see ../shared/nanostream.md, "Ingest targets"):
 *  - rtmp: the ingest URL + the stream name as stream key;
 *  - srt:  caller to the (regional) SRT host on port 5000, stream id `push:<streamName>`, 500 ms;
 *  - whip: the WHIP endpoint + the stream name as key (bearer token).
 * Drivers never see the shorthand: it is expanded wherever a desired config is computed.
 */
import { type Static, Type } from '@sinclair/typebox';
import { RtmpTarget, SrtCallerTarget, type Target, taggedUnion, WhipTarget } from '../../drivers/contract.js';
import type { Config } from '../config.js';

export const NANOSTREAM_REGIONS = ['eu', 'us', 'as', 'sa'] as const;
export type NanoStreamRegion = (typeof NANOSTREAM_REGIONS)[number];
export const NANOSTREAM_INGESTS = ['rtmp', 'srt', 'whip'] as const;
export type NanoStreamIngest = (typeof NANOSTREAM_INGESTS)[number];

/** SRT port and latency nanoStream documents for caller-mode ingest. */
export const NANOSTREAM_SRT_PORT = 5000;
export const NANOSTREAM_SRT_LATENCY_MS = 500;
/** The SRT stream id is `push:<streamName>` and at most 512 characters. */
export const SRT_STREAM_ID_PREFIX = 'push:';
export const SRT_STREAM_ID_MAX = 512;

/**
 * Stream name characters: those the SRT stream id allows (`a-zA-Z0-9?&=-_`, `:` as delimiter)
 * minus the ones with a meaning there (`?&=` start query parameters, `:` delimits), so one name
 * works for every ingest kind.
 */
export const STREAM_NAME_PATTERN = '^[A-Za-z0-9_-]+$';

export const StreamName = Type.String({
  minLength: 1,
  maxLength: 512,
  pattern: STREAM_NAME_PATTERN,
  description:
    'The nanoStream stream name (the publishing secret; never returned in full): letters, digits, `-`, `_`.',
  examples: ['ABCDE-XYZ12'],
});

export const NanoStreamIngestField = Type.Union(
  NANOSTREAM_INGESTS.map((i) => Type.Literal(i)),
  { description: 'How the encoder sends: RTMP (the default ingest), SRT caller, or WHIP.' },
);
export const NanoStreamRegionField = Type.Union(
  NANOSTREAM_REGIONS.map((r) => Type.Literal(r)),
  { description: 'Regional ingest host. nanoStream documents regional hosts for SRT only.' },
);

export const NanoStreamTarget = Type.Object(
  {
    protocol: Type.Literal('nanostream'),
    ingest: Type.Union(
      NANOSTREAM_INGESTS.map((i) => Type.Literal(i)),
      { default: 'rtmp', description: NanoStreamIngestField.description },
    ),
    /** Optional here because a profile usually leaves it to each device's overrides. */
    streamName: Type.Optional(StreamName),
    region: Type.Optional(NanoStreamRegionField),
  },
  { additionalProperties: false, title: 'NanoStreamTarget' },
);
export type NanoStreamTarget = Static<typeof NanoStreamTarget>;

/** A target as configs accept it: a concrete one, or the nanoStream shorthand. */
export type ConfigTarget = Target | NanoStreamTarget;
export const ConfigTarget = taggedUnion<ConfigTarget>('protocol', [
  RtmpTarget,
  SrtCallerTarget,
  WhipTarget,
  NanoStreamTarget,
]);

/** Secret fields of the shorthand (masked in views, encrypted at rest). */
export const SHORTHAND_SECRET_FIELDS = ['streamName'] as const;

/** Where the ingest kinds live; from config, so tests point them at loopback. */
export interface NanoStreamHosts {
  readonly rtmpUrl: string;
  /** SRT host per region; `global` when no region is given. */
  readonly srtHosts: Readonly<Record<NanoStreamRegion | 'global', string>>;
  readonly whipUrl: string;
}

export function nanoStreamHosts(config: Config): NanoStreamHosts {
  return {
    rtmpUrl: config.NANOSTREAM_RTMP_URL,
    srtHosts: {
      global: config.NANOSTREAM_SRT_HOST,
      eu: config.NANOSTREAM_SRT_HOST_EU,
      us: config.NANOSTREAM_SRT_HOST_US,
      as: config.NANOSTREAM_SRT_HOST_AS,
      sa: config.NANOSTREAM_SRT_HOST_SA,
    },
    whipUrl: config.NANOSTREAM_WHIP_URL,
  };
}

export interface TargetProblem {
  /** Relative to the target, e.g. `streamName`. */
  readonly field: string;
  readonly reason: string;
}

/**
 * What is wrong with a (merged) shorthand beyond its schema: a missing stream name, or one too long
 * for the SRT stream id. Empty when it expands.
 */
export function shorthandProblems(target: Partial<NanoStreamTarget>): TargetProblem[] {
  const name = target.streamName;
  if (name === undefined)
    return [{ field: 'streamName', reason: "is required (in the config or the device's overrides)" }];
  if (!new RegExp(STREAM_NAME_PATTERN).test(name))
    return [{ field: 'streamName', reason: 'may contain only letters, digits, "-" and "_"' }];
  const idLength = SRT_STREAM_ID_PREFIX.length + name.length;
  if ((target.ingest ?? 'rtmp') === 'srt' && idLength > SRT_STREAM_ID_MAX)
    return [
      {
        field: 'streamName',
        reason: `makes the SRT stream id "push:<streamName>" ${idLength} characters long; at most ${SRT_STREAM_ID_MAX} are allowed (stream name ≤ ${SRT_STREAM_ID_MAX - SRT_STREAM_ID_PREFIX.length})`,
      },
    ];
  return [];
}

export class ShorthandError extends Error {
  constructor(readonly problems: readonly TargetProblem[]) {
    super(problems.map((p) => `${p.field} ${p.reason}`).join('; '));
  }
}

/**
 * The concrete target for a shorthand.
 * @example expandNanoStream({ protocol: 'nanostream', ingest: 'srt', streamName: 'ABCDE-XYZ12', region: 'eu' }, hosts)
 *   → { protocol: 'srt', host: 'bintu-srt-eu.nanocosmos.de', port: 5000, mode: 'caller',
 *       streamId: 'push:ABCDE-XYZ12', latencyMs: 500 }
 * @throws ShorthandError when the stream name is missing or does not fit
 */
export function expandNanoStream(target: Partial<NanoStreamTarget>, hosts: NanoStreamHosts): Target {
  const problems = shorthandProblems(target);
  if (problems.length) throw new ShorthandError(problems);
  const streamName = target.streamName!;
  switch (target.ingest ?? 'rtmp') {
    case 'rtmp':
      return { protocol: 'rtmp', url: hosts.rtmpUrl, streamKey: streamName };
    case 'srt':
      return {
        protocol: 'srt',
        host: hosts.srtHosts[target.region ?? 'global'],
        port: NANOSTREAM_SRT_PORT,
        mode: 'caller',
        streamId: `${SRT_STREAM_ID_PREFIX}${streamName}`,
        latencyMs: NANOSTREAM_SRT_LATENCY_MS,
      };
    case 'whip':
      return { protocol: 'whip', url: hosts.whipUrl, bearerToken: streamName };
  }
}

/**
 * The nanoStream stream name a concrete target sends to, or undefined when it does not point at a
 * configured nanoStream ingest. The inverse of `expandNanoStream`, so a device given the concrete
 * target by hand counts as sending that stream too.
 */
export function nanoStreamNameOf(target: Target, hosts: NanoStreamHosts): string | undefined {
  switch (target.protocol) {
    case 'rtmp':
      return sameUrl(target.url, hosts.rtmpUrl) ? target.streamKey : undefined;
    case 'srt': {
      if (!Object.values(hosts.srtHosts).includes(target.host)) return undefined;
      const match = /^push:([A-Za-z0-9_-]+)/.exec(target.streamId ?? '');
      return match?.[1];
    }
    case 'whip':
      return sameUrl(target.url, hosts.whipUrl) ? target.bearerToken : undefined;
  }
}

/** `rtmp://h/live`, `rtmp://h/live/` and `rtmp://h:1935/live` (bintu's spelling) name the same application. */
function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.replace(/\/+$/, '').replace(/^(rtmp:\/\/[^/:]+):1935(?=\/|$)/, '$1');
  return norm(a) === norm(b);
}

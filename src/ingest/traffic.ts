/**
 * Traffic estimate for streams into nanoStream Cloud: `kbit/s × 3600 / 8` per hour (500 kbit/s ≈
 * 225 MB/h, 1000 kbit/s ≈ 450 MB/h), summed over every output of every device. One function for
 * jobs, the validate endpoint and (later) schedules, which pass their duration as `hours`.
 */
import { type Static, Type } from '@sinclair/typebox';

export const TrafficEstimate = Type.Object(
  {
    /** Devices counted. */
    devices: Type.Integer(),
    /** Devices whose config gives no video bitrate: not in the figures. */
    devicesWithoutBitrate: Type.Integer(),
    /** Sum of every counted output's video + audio bitrate. */
    totalKbps: Type.Number(),
    /** `totalKbps × 3600 / 8 / 1000` (kbit → kB → MB). */
    mbPerHour: Type.Number(),
    hours: Type.Number(),
    /** `mbPerHour × hours`. */
    totalMb: Type.Number(),
  },
  { title: 'TrafficEstimate' },
);
export type TrafficEstimate = Static<typeof TrafficEstimate>;

/** MB per hour for a bitrate: 500 kbit/s → 225, 1000 kbit/s → 450. */
export function mbPerHour(kbps: number): number {
  return (kbps * 3600) / 8 / 1000;
}

interface Output {
  readonly video?: { readonly bitrateKbps?: number };
  readonly audio?: { readonly bitrateKbps?: number };
}

/** What one device sends: its main output and every rendition, video + audio; undefined without a video bitrate. */
export function configKbps(config: Output & { readonly renditions?: readonly Output[] }): number | undefined {
  if (config.video?.bitrateKbps === undefined) return undefined;
  const output = (o: Output) => (o.video?.bitrateKbps ?? 0) + (o.audio?.bitrateKbps ?? 0);
  return (config.renditions ?? []).reduce((sum, r) => sum + output(r), output(config));
}

/**
 * The estimate for a set of devices, each given by its bitrate (undefined = unknown).
 * @example trafficEstimate([500, 500], 2) → { devices: 2, totalKbps: 1000, mbPerHour: 450, hours: 2, totalMb: 900, … }
 */
export function trafficEstimate(kbpsPerDevice: readonly (number | undefined)[], hours = 1): TrafficEstimate {
  const known = kbpsPerDevice.filter((k): k is number => k !== undefined);
  const totalKbps = known.reduce((a, b) => a + b, 0);
  const perHour = round(mbPerHour(totalKbps));
  return {
    devices: kbpsPerDevice.length,
    devicesWithoutBitrate: kbpsPerDevice.length - known.length,
    totalKbps,
    mbPerHour: perHour,
    hours,
    totalMb: round(perHour * hours),
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * What the service knows about each device right now, from polling: one enum per concept
 * (connectivity, stream), live figures, last error, sync against desired state, alerts.
 */
import { type Static, Type } from '@sinclair/typebox';
import { StreamState, VideoInput } from '../../drivers/contract.js';

export const Connectivity = Type.Union([
  Type.Literal('unknown'),
  Type.Literal('online'),
  Type.Literal('unreachable'),
  Type.Literal('auth_failed'),
]);
export type Connectivity = Static<typeof Connectivity>;

export const ObservedStream = Type.Union([StreamState, Type.Literal('unknown')]);
export type ObservedStream = Static<typeof ObservedStream>;

export const SyncStatus = Type.Union([
  Type.Literal('in_sync'),
  Type.Literal('applying'),
  Type.Literal('drifted'),
  Type.Literal('unknown'),
]);
export type SyncStatus = Static<typeof SyncStatus>;

export const DriftField = Type.Object({
  field: Type.String(),
  desired: Type.Unknown(),
  observed: Type.Unknown(),
});
export type DriftField = Static<typeof DriftField>;

export const AlertKind = Type.Union([
  Type.Literal('low_bitrate'),
  Type.Literal('dropped_frames'),
  Type.Literal('unreachable'),
  Type.Literal('auth_failed'),
  Type.Literal('stream_error'),
  Type.Literal('ingest_missing'),
]);
export const Alert = Type.Object({
  kind: AlertKind,
  severity: Type.Union([Type.Literal('warning'), Type.Literal('error')]),
  message: Type.String(),
  since: Type.String(),
});
export type Alert = Static<typeof Alert>;

export const IngestState = Type.Union([
  Type.Literal('confirmed'),
  Type.Literal('missing'),
  Type.Literal('unknown'),
]);
export type IngestState = Static<typeof IngestState>;

export const ObservedState = Type.Object(
  {
    connectivity: Connectivity,
    stream: ObservedStream,
    bitrateKbps: Type.Optional(Type.Number()),
    fps: Type.Optional(Type.Number()),
    droppedFrames: Type.Optional(Type.Integer()),
    uptimeSec: Type.Optional(Type.Number()),
    input: Type.Optional(VideoInput),
    lastError: Type.Optional(Type.String()),
    /** Last time the device answered. */
    lastSeen: Type.Optional(Type.String()),
    /** Last time it was polled, answered or not. */
    polledAt: Type.Optional(Type.String()),
    /** Since when connectivity and stream have been what they are. */
    since: Type.Optional(Type.String()),
    /** The unit's identity as it reports it (read on the first poll and after an outage). */
    model: Type.Optional(Type.String()),
    serial: Type.Optional(Type.String()),
    firmware: Type.Optional(Type.String()),
    sync: SyncStatus,
    drift: Type.Array(DriftField),
    alerts: Type.Array(Alert),
    /** Whether the ingest side confirmed the stream arrived (nanoStream webhooks). */
    ingest: Type.Optional(IngestState),
  },
  { $id: 'ObservedState', title: 'ObservedState' },
);
export type ObservedState = Static<typeof ObservedState>;

export function unknownState(): ObservedState {
  return { connectivity: 'unknown', stream: 'unknown', sync: 'unknown', drift: [], alerts: [] };
}

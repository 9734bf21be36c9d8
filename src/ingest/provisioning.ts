/**
 * "Create streams for these N devices and configure each with its own stream name": one bintu
 * stream per device (optionally with live transcoding for ABR), its stream name set as the device's
 * `nanostream` target, and (when a profile is named) an apply job that sends it to the devices.
 * A result per device; one device failing never stops the others. Devices that already have a
 * stream keep it, so running it again after a partial failure only does what is left.
 */
import { type Static, Type } from '@sinclair/typebox';
import PQueue from 'p-queue';
import { maskSecret } from '../../drivers/converge.js';
import { SecretView } from '../api/views.js';
import type { BintuClient } from './bintu-client.js';
import { NanoStreamIngestField, NanoStreamRegionField, type NanoStreamTarget } from './nanostream-target.js';

export const ProvisionRequest = Type.Object(
  {
    /** The devices: a label selector, or ids (exactly one of the two). */
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    deviceIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 1000,
        uniqueItems: true,
      }),
    ),
    ingest: Type.Optional(NanoStreamIngestField),
    region: Type.Optional(NanoStreamRegionField),
    /** bintu live transcoding profiles for ABR, e.g. `vtrans2-852x480x800x25`. */
    transcodes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' }), {
        maxItems: 8,
      }),
    ),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 16 })),
    /** A profile (id or name) the devices then follow; an apply job sends it with their new streams. */
    profile: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type ProvisionRequest = Static<typeof ProvisionRequest>;

export const ProvisionedDevice = Type.Object({
  deviceId: Type.String(),
  deviceName: Type.String(),
  /** `created`: a new stream, set on the device; `existing`: it had one, left as it is; `failed`: see error. */
  state: Type.Union([Type.Literal('created'), Type.Literal('existing'), Type.Literal('failed')]),
  streamId: Type.Optional(Type.String()),
  streamName: Type.Optional(Type.Ref(SecretView)),
  error: Type.Optional(Type.String()),
});
export type ProvisionedDevice = Static<typeof ProvisionedDevice>;

export interface ProvisionDeps {
  readonly bintu: BintuClient;
  readonly devices: (target: {
    selector?: string;
    deviceIds?: readonly string[];
  }) => Promise<readonly { id: string; name: string }[]>;
  /** Devices (of these) that already have a stream: id → stream id. */
  readonly existing: (deviceIds: readonly string[]) => Promise<Map<string, string>>;
  /** Makes the device send to `target` (its overrides), following `profile` when given. */
  readonly configure: (deviceId: string, target: NanoStreamTarget, profile?: string) => Promise<void>;
  readonly record: (deviceId: string, streamId: string) => Promise<void>;
  /** Bounded: bintu is one remote API. */
  readonly concurrency?: number;
}

export async function provisionStreams(
  request: ProvisionRequest,
  deps: ProvisionDeps,
): Promise<{ devices: ProvisionedDevice[]; created: number; failed: number }> {
  const devices = await deps.devices({
    ...(request.selector ? { selector: request.selector } : {}),
    ...(request.deviceIds ? { deviceIds: request.deviceIds } : {}),
  });
  const existing = await deps.existing(devices.map((d) => d.id));
  const queue = new PQueue({ concurrency: deps.concurrency ?? 8 });
  const results = await Promise.all(
    devices.map((device) =>
      queue.add(async (): Promise<ProvisionedDevice> => {
        const base = { deviceId: device.id, deviceName: device.name };
        const had = existing.get(device.id);
        if (had) return { ...base, state: 'existing', streamId: had };
        let streamId: string | undefined;
        try {
          const stream = await deps.bintu.createStream({
            ...(request.transcodes ? { transcodes: request.transcodes } : {}),
            tags: [...(request.tags ?? []), `device:${device.name}`],
          });
          streamId = stream.id;
          const target: NanoStreamTarget = {
            protocol: 'nanostream',
            ingest: request.ingest ?? 'rtmp',
            streamName: stream.streamName,
            ...(request.region ? { region: request.region } : {}),
          };
          await deps.configure(device.id, target, request.profile);
          await deps.record(device.id, stream.id);
          return { ...base, state: 'created', streamId, streamName: maskSecret(stream.streamName) };
        } catch (err) {
          return {
            ...base,
            state: 'failed',
            ...(streamId ? { streamId } : {}),
            error: (err as Error).message,
          };
        }
      }),
    ),
  );
  return {
    devices: results,
    created: results.filter((r) => r.state === 'created').length,
    failed: results.filter((r) => r.state === 'failed').length,
  };
}

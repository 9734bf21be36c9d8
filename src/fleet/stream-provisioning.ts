/**
 * Wires bintu stream provisioning (src/ingest/provisioning.ts) to the fleet: the devices a request
 * names, their overrides (the new stream name), the record of each device's stream, and the apply
 * job that sends it when a profile is named.
 */

import { type Static, Type } from '@sinclair/typebox';
import { ApiError, BadRequestError } from '../api/errors.js';
import { type BintuClient, BintuError, type BintuStreamState } from '../ingest/bintu-client.js';
import { ProvisionedDevice, type ProvisionRequest, provisionStreams } from '../ingest/provisioning.js';
import type { IngestStreamRepo } from '../store/ingest-streams.js';
import type { Inventory } from './inventory.js';
import type { JobEngine } from './jobs/engine.js';
import { JobRecord } from './jobs/model.js';
import type { JobDevices } from './jobs/repo.js';

export const ProvisionReply = Type.Object({
  devices: Type.Array(ProvisionedDevice),
  created: Type.Integer(),
  failed: Type.Integer(),
  /** The apply job sending the streams to the devices, when a profile was named. */
  job: Type.Optional(Type.Ref(JobRecord)),
});
export type ProvisionReply = Static<typeof ProvisionReply>;

export class StreamProvisioning {
  constructor(
    readonly client: BintuClient,
    private readonly deps: {
      readonly devices: JobDevices;
      readonly inventory: Inventory;
      readonly streams: IngestStreamRepo;
      readonly engine: JobEngine;
    },
  ) {}

  async provision(request: ProvisionRequest): Promise<ProvisionReply> {
    if (!!request.selector === !!request.deviceIds)
      throw new BadRequestError('give exactly one of selector and deviceIds', [
        { field: 'body/selector', reason: 'give exactly one of selector and deviceIds' },
      ]);
    const { inventory, streams, engine } = this.deps;
    // A missing profile is refused before any stream is created.
    if (request.profile) await this.deps.devices.profile(request.profile);
    const result = await provisionStreams(request, {
      bintu: this.client,
      devices: (target) => this.deps.devices.resolve(target),
      existing: (ids) => streams.existing(ids),
      configure: async (deviceId, target, profile) => {
        const { device } = await inventory.get(deviceId);
        const overrides = { ...(device.overrides as object | undefined), target };
        await inventory.update(deviceId, { overrides, ...(profile ? { profile } : {}) });
      },
      record: (deviceId, streamId) => streams.set(deviceId, streamId),
    });
    const ready = result.devices.filter((d) => d.state !== 'failed').map((d) => d.deviceId);
    const job =
      request.profile && ready.length
        ? await engine.submit({ action: 'apply', deviceIds: ready, profile: request.profile })
        : undefined;
    return { ...result, ...(job ? { job } : {}) };
  }

  /**
   * The state of the device's stream as bintu reports it.
   * @throws 404 for an unknown device or one without a stream; 502 when bintu fails
   */
  async streamState(deviceId: string): Promise<BintuStreamState> {
    await this.deps.inventory.get(deviceId);
    const record = await this.deps.streams.get(deviceId);
    if (!record) throw new ApiError(404, 'not_found', 'no nanoStream stream was provisioned for this device');
    try {
      const stream = await this.client.getStream(record.streamId);
      return { streamId: record.streamId, state: stream.state };
    } catch (err) {
      if (err instanceof BintuError) throw new ApiError(502, 'bintu_error', err.message);
      throw err;
    }
  }
}

/** The engine's view of the inventory: devices named by a job, profiles, and connection details. */
import type { DeviceEndpoint } from '../../drivers/contract.js';
import { ApiError, BadRequestError } from '../api/errors.js';
import type { Store } from '../store/index.js';
import { selectorOf } from './inventory.js';
import type { JobDevice, JobDevices } from './jobs/repo.js';
import { endpointOf } from './monitor.js';
import { matches } from './selector.js';

export function storeJobDevices(store: Store): JobDevices {
  return {
    async resolve(target): Promise<JobDevice[]> {
      const { scope } = target;
      if (target.deviceIds) {
        // Devices outside the caller's scope do not exist for it.
        const found = scope
          ? (await store.devices.getMany(target.deviceIds)).filter((d) => matches(scope, d))
          : await store.devices.jobTargets({ ids: target.deviceIds });
        const known = new Set(found.map((d) => d.id));
        const missing = target.deviceIds.filter((id) => !known.has(id));
        if (missing.length) {
          const shown =
            missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
          throw new BadRequestError(`unknown device ids: ${shown}`, [
            { field: 'body/deviceIds', reason: `unknown: ${shown}` },
          ]);
        }
        const order = new Map(target.deviceIds.map((id, i) => [id, i]));
        return found.sort((a, b) => order.get(a.id)! - order.get(b.id)!).map(toJobDevice);
      }
      const selector = [...(scope ?? []), ...selectorOf(target.selector ?? '', 'body/selector')];
      return (await store.devices.jobTargets({ selector })).map(toJobDevice);
    },
    async profile(idOrName) {
      const profile = await store.profiles.get(idOrName);
      if (!profile)
        throw new ApiError(422, 'unknown_profile', `profile ${JSON.stringify(idOrName)} does not exist`);
      return { id: profile.id, name: profile.name, config: profile.config };
    },
    async endpoints(ids): Promise<Map<string, DeviceEndpoint>> {
      return new Map((await store.devices.connections(ids)).map((d) => [d.id, endpointOf(d)]));
    },
  };
}

function toJobDevice(d: { id: string; name: string; vendor: string; overrides?: unknown }): JobDevice {
  return { id: d.id, name: d.name, vendor: d.vendor, ...(d.overrides ? { overrides: d.overrides } : {}) };
}

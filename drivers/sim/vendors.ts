/** Simulator factory per vendor id, for the fleet runner and for tests that build mixed fleets. */
import type { VendorId } from '../contract.js';
import { TalonSim } from '../osprey-talon/simulator.js';
import { PrismSim } from '../teradek/prism/simulator.js';
import { VidiuSim } from '../teradek/vidiu/simulator.js';
import { VideonSim } from '../videon/simulator.js';
import type { SimDevice, SimDeviceOptions } from './device.js';

export const SIMULATORS: Readonly<Partial<Record<VendorId, (opts: SimDeviceOptions) => SimDevice>>> = {
  'osprey-talon': (opts) => new TalonSim(opts),
  'teradek-vidiu': (opts) => new VidiuSim(opts),
  'teradek-prism': (opts) => new PrismSim(opts),
  videon: (opts) => new VideonSim(opts),
};

/**
 * What a simulated device holds, read from the simulator's own state (not through our drivers), for
 * fleet tests on every vendor: the conformance suite's per-vendor oracle for the config, and whether
 * the device streams.
 */
import type { EncoderConfig } from '../../drivers/contract.js';
import type { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import type { SimDevice } from '../../drivers/sim/device.js';
import type { PrismSim } from '../../drivers/teradek/prism/simulator.js';
import type { VidiuSim } from '../../drivers/teradek/vidiu/simulator.js';
import type { VideonSim } from '../../drivers/videon/simulator.js';
import { fixtures } from '../conformance/fixtures.js';

/** Fails (vitest expect) unless the simulator holds exactly `config`. */
export function assertSimHas(sim: SimDevice, config: EncoderConfig): void {
  const fixture = fixtures.find((f) => f.module.capabilities.vendor === sim.vendor);
  if (!fixture) throw new Error(`no conformance oracle for ${sim.vendor}`);
  fixture.assertDeviceHas(sim, config);
}

/** Starting or live, in the device's own terms. */
export function simStreaming(sim: SimDevice): boolean {
  switch (sim.vendor) {
    case 'osprey-talon': {
      const state = (sim as TalonSim).snapshot().states[0];
      return state === 'RUNNING' || state === 'STARTING';
    }
    case 'videon':
      // The managed outputs (not the always-on thumbnail) with `enable` set.
      return Object.values((sim as VideonSim).snapshot().outStreams).some(
        (os) => os.enable && os.output_type.value !== 'thumbnail',
      );
    case 'teradek-vidiu': {
      const { state } = (sim as VidiuSim).snapshot();
      return state === 'Live' || state === 'Starting';
    }
    case 'teradek-prism': {
      const { state } = (sim as PrismSim).snapshot();
      return state === 'Live' || state === 'Starting';
    }
    case 'teradek':
      throw new Error('a plain teradek simulator does not exist: simulators are a concrete plane');
  }
}

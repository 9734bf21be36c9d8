/**
 * What a vendor provides to run the shared conformance suite: its driver module, how to make a
 * simulator, sample configs, and an oracle that reads the simulator's own state.
 */
import type { Credentials, DriverModule, EncoderConfig, Protocol } from '../../drivers/contract.js';
import type { SimDevice, SimDeviceOptions } from '../../drivers/sim/device.js';
import type { SimAddress, SimServer } from '../../drivers/sim/server.js';

export interface ConformanceFixture<S extends SimDevice = SimDevice> {
  readonly module: DriverModule;
  createSim(opts: SimDeviceOptions): S;
  /** How the simulator is served; default `server.listen(sim)`. */
  serve?(server: SimServer, sim: S): Promise<SimAddress>;
  /** One config per supported target protocol; each applied and read back. */
  readonly targets: Partial<Record<Protocol, EncoderConfig>>;
  /** A config with the video and audio settings this device supports (when it supports any). */
  readonly av?: EncoderConfig;
  /** Throws unless the simulator's own state holds exactly `config` (checks the wire, not the driver). */
  assertDeviceHas(sim: S, config: EncoderConfig): void;
  /** Credentials the driver is given, for devices whose simulator is built to require them. */
  readonly credentials?: Credentials;
  /** Milliseconds the simulator needs to go from start to streaming; the suite waits this long. */
  readonly startDelayMs?: number;
}

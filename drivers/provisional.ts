/**
 * The switch for operations whose wire format is inferred rather than documented (each driver lists
 * them in `capabilities.provisional`; vendor-apis.md asks that they be feature-flagged). With the
 * switch off, such an operation fails as unsupported before anything is sent, so a fleet of real
 * units never runs unverified calls; the rest of the driver keeps working.
 */
import type { CallOptions, EncoderConfig, EncoderDriver } from './contract.js';
import { UnsupportedConfigError } from './errors.js';

type Operation = Exclude<keyof EncoderDriver, 'capabilities' | 'close'>;

export function refuseProvisional(driver: EncoderDriver, deviceId: string): EncoderDriver {
  const guard = (operation: Operation) => {
    const { provisional, vendor } = driver.capabilities;
    if (!provisional.includes(operation)) return;
    throw new UnsupportedConfigError({ deviceId, vendor }, [
      {
        field: operation,
        reason: `the ${vendor} wire format for this is inferred, not verified on a real unit, and PROVISIONAL_OPERATIONS=refuse`,
      },
    ]);
  };
  const call =
    <A extends unknown[], R>(operation: Operation, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      guard(operation);
      return fn(...args);
    };
  return {
    // A getter: a `teradek` unit's capabilities change once its plane is known.
    get capabilities() {
      return driver.capabilities;
    },
    login: call('login', (opts?: CallOptions) => driver.login(opts)),
    getInfo: call('getInfo', (opts?: CallOptions) => driver.getInfo(opts)),
    getConfig: call('getConfig', (opts?: CallOptions) => driver.getConfig(opts)),
    applyConfig: call('applyConfig', (config: EncoderConfig, opts?: CallOptions) =>
      driver.applyConfig(config, opts),
    ),
    start: call('start', (opts?: CallOptions) => driver.start(opts)),
    stop: call('stop', (opts?: CallOptions) => driver.stop(opts)),
    getStatus: call('getStatus', (opts?: CallOptions) => driver.getStatus(opts)),
    reboot: call('reboot', (opts?: CallOptions) => driver.reboot(opts)),
    close: () => driver.close(),
  };
}

/**
 * Guidance for a whole job (or a config checked on its own): every device's config against the
 * recommendations, with what is known about that device (its capture signal, whether it streams,
 * its current resolution), grouped, plus the traffic estimate across all of them.
 */
import {
  type Audience,
  adviseConfig,
  type DeviceFacts,
  type Guidance,
  type GuidedConfig,
  groupAdvice,
} from './guidance.js';
import type { NanoStreamHosts } from './nanostream-target.js';
import { configKbps, trafficEstimate } from './traffic.js';

export interface AdviceOptions {
  readonly strict?: boolean;
  readonly audience?: Audience;
  /** Duration for the traffic total; 1 h by default. */
  readonly hours?: number;
}

export class SettingAdvisor {
  constructor(
    private readonly hosts: NanoStreamHosts,
    /** What is known about a device right now (from its observed state). */
    private readonly facts: (deviceId: string) => DeviceFacts = () => ({}),
  ) {}

  /** One device's config each. */
  forDevices(
    items: readonly { deviceId: string; config: GuidedConfig }[],
    opts: AdviceOptions = {},
  ): Guidance {
    const warnings = groupAdvice(
      items.map(({ deviceId, config }) => ({
        deviceId,
        advice: adviseConfig(config, this.hosts, this.facts(deviceId), opts.audience),
      })),
    );
    return {
      strict: opts.strict ?? false,
      warnings,
      traffic: trafficEstimate(
        items.map((i) => configKbps(i.config)),
        opts.hours,
      ),
    };
  }

  /** A config on its own, for no device in particular. */
  forConfig(config: GuidedConfig, opts: AdviceOptions = {}): Guidance {
    return {
      strict: opts.strict ?? false,
      warnings: adviseConfig(config, this.hosts, {}, opts.audience),
      traffic: trafficEstimate([configKbps(config)], opts.hours),
    };
  }
}

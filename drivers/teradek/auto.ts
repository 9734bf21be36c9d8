/**
 * `teradek`: a device added without saying which Teradek control plane it speaks. Adding a device
 * never contacts it, so the plane is found on first contact: the driver probes (probe.ts), then
 * hands every call to the real driver (`teradek-vidiu` or `teradek-prism`). The poller reports what
 * it found and the monitor stores the concrete vendor, after which this module is no longer used
 * for the device.
 *
 * Until then the capabilities are what both planes can do, so a config accepted before the probe is
 * never refused after it.
 */
import type {
  CallOptions,
  Capabilities,
  DriverContext,
  DriverModule,
  EncoderConfig,
  EncoderDriver,
  Range,
} from '../contract.js';
import { capabilities as prismCapabilities, teradekPrism } from './prism/driver.js';
import { probeTeradek, type TeradekPlane } from './probe.js';
import { teradekVidiu, capabilities as vidiuCapabilities } from './vidiu/driver.js';

const PLANES: Record<TeradekPlane, DriverModule> = {
  'teradek-vidiu': teradekVidiu,
  'teradek-prism': teradekPrism,
};

export const capabilities: Capabilities = commonCapabilities(vidiuCapabilities, prismCapabilities);

class TeradekAutoDriver implements EncoderDriver {
  private plane: Promise<EncoderDriver> | undefined;
  private resolved: EncoderDriver | undefined;

  constructor(private readonly ctx: DriverContext) {}

  /** The concrete plane's capabilities once the probe has answered. */
  get capabilities(): Capabilities {
    return this.resolved?.capabilities ?? capabilities;
  }

  login(opts?: CallOptions) {
    return this.driver().then((d) => d.login(opts));
  }
  getInfo(opts?: CallOptions) {
    return this.driver().then((d) => d.getInfo(opts));
  }
  getConfig(opts?: CallOptions) {
    return this.driver().then((d) => d.getConfig(opts));
  }
  applyConfig(config: EncoderConfig, opts?: CallOptions) {
    return this.driver().then((d) => d.applyConfig(config, opts));
  }
  start(opts?: CallOptions) {
    return this.driver().then((d) => d.start(opts));
  }
  stop(opts?: CallOptions) {
    return this.driver().then((d) => d.stop(opts));
  }
  getStatus(opts?: CallOptions) {
    return this.driver().then((d) => d.getStatus(opts));
  }
  reboot(opts?: CallOptions) {
    return this.driver().then((d) => d.reboot(opts));
  }
  async close() {
    await this.resolved?.close();
  }

  /** Probes once; a failed probe (device offline) is tried again on the next call. */
  private driver(): Promise<EncoderDriver> {
    this.plane ??= probeTeradek(this.ctx.endpoint, {
      timeoutMs: this.ctx.timeoutMs,
      ...(this.ctx.dispatcher ? { dispatcher: this.ctx.dispatcher } : {}),
      ...(this.ctx.checkAddress ? { checkAddress: this.ctx.checkAddress } : {}),
      ...(this.ctx.lookup ? { lookup: this.ctx.lookup } : {}),
    }).then(
      (plane) => {
        this.resolved = PLANES[plane].create({
          ...this.ctx,
          endpoint: { ...this.ctx.endpoint, vendor: plane },
        });
        return this.resolved;
      },
      (err: unknown) => {
        this.plane = undefined;
        throw err;
      },
    );
    return this.plane;
  }
}

export const teradekAuto: DriverModule = {
  vendor: 'teradek',
  capabilities,
  defaultPort: 80,
  create: (ctx) => new TeradekAutoDriver(ctx),
};

/** What both control planes can do: the intersection of every list and range. */
function commonCapabilities(a: Capabilities, b: Capabilities): Capabilities {
  const both = <T>(x: readonly T[], y: readonly T[]) => x.filter((v) => y.includes(v));
  const overlap = (x: Range, y: Range): Range => ({
    min: Math.max(x.min, y.min),
    max: Math.min(x.max, y.max),
  });
  const sameSize = (x: { width: number; height: number }) => (y: { width: number; height: number }) =>
    x.width === y.width && x.height === y.height;
  const resolutions =
    a.video.resolutions && b.video.resolutions
      ? a.video.resolutions.filter((r) => b.video.resolutions?.some(sameSize(r)))
      : (a.video.resolutions ?? b.video.resolutions);
  return {
    vendor: 'teradek',
    family: 'Teradek (control plane found on first contact)',
    models: [...a.models, ...b.models],
    targets: both(a.targets, b.targets),
    video: {
      configurable: a.video.configurable && b.video.configurable,
      codecs: both(a.video.codecs, b.video.codecs),
      maxWidth: Math.min(a.video.maxWidth, b.video.maxWidth),
      maxHeight: Math.min(a.video.maxHeight, b.video.maxHeight),
      ...(resolutions ? { resolutions } : {}),
      fps: both(a.video.fps, b.video.fps),
      bitrateKbps: overlap(a.video.bitrateKbps, b.video.bitrateKbps),
      keyframeInterval: a.video.keyframeInterval && b.video.keyframeInterval,
    },
    audio: {
      configurable: a.audio.configurable && b.audio.configurable,
      codecs: both(a.audio.codecs, b.audio.codecs),
      bitrateKbps: overlap(a.audio.bitrateKbps, b.audio.bitrateKbps),
      sampleRates: both(a.audio.sampleRates, b.audio.sampleRates),
      channels: both(a.audio.channels, b.audio.channels),
    },
    reboot: a.reboot && b.reboot,
    outputs: Math.min(a.outputs, b.outputs),
    minPollIntervalMs: Math.max(a.minPollIntervalMs, b.minPollIntervalMs),
    provisional: [...new Set([...a.provisional, ...b.provisional])],
  };
}

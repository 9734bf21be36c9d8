/**
 * Teradek Prism / Prism Flex / VidiU X driver: the contract in terms of the MQTT topics of `wire.ts`.
 * Reads come from the retained state the device pushes (no request goes out for them once the
 * session is up); writes and actions are command exchanges.
 */
import type {
  ApplyOptions,
  ApplyResult,
  CallOptions,
  Capabilities,
  DeviceConfig,
  DeviceInfo,
  DeviceStatus,
  DriverContext,
  DriverModule,
  EncoderConfig,
  EncoderDriver,
} from '../../contract.js';
import { convergeConfig } from '../../converge.js';
import { MqttSession, type StateView } from './mqtt-session.js';
import {
  AudioEncoderState,
  activeMode,
  COMMANDS,
  checkReply,
  commandsFor,
  configFromWire,
  DEFAULT_CREDENTIALS,
  infoFromWire,
  MQTT_PATH,
  ProductState,
  RtmpState,
  SrtState,
  STATE_TOPICS,
  StreamInfoState,
  StreamModesState,
  StreamStatsState,
  settingsTopicOf,
  statusFromWire,
  TOPICS,
  VideoEncoderState,
  VideoInputState,
  type WireConfig,
} from './wire.js';

export const capabilities: Capabilities = {
  vendor: 'teradek-prism',
  family: 'Teradek Prism / Prism Flex / VidiU X (MQTT over WebSocket)',
  models: ['Prism', 'Prism Flex', 'VidiU X'],
  // [SRC] RTMP; [INF] SRT caller. No WHIP in any source.
  targets: ['rtmp', 'srt'],
  video: {
    configurable: true,
    codecs: ['h264', 'h265'],
    // Prism is a 4K unit; VidiU X tops out at 1080p and refuses larger sizes with an error reply.
    maxWidth: 3840,
    maxHeight: 2160,
    resolutions: [
      { width: 3840, height: 2160 },
      { width: 1920, height: 1080 },
      { width: 1280, height: 720 },
      { width: 960, height: 540 },
      { width: 640, height: 360 },
    ],
    fps: [23.98, 24, 25, 29.97, 30, 50, 59.94, 60],
    bitrateKbps: { min: 100, max: 20_000 },
    keyframeInterval: true,
  },
  audio: {
    configurable: true,
    codecs: ['aac'],
    bitrateKbps: { min: 32, max: 320 },
    sampleRates: [44100, 48000],
    channels: [1, 2],
  },
  reboot: true,
  outputs: 1,
  // State is pushed and read from the cache, so polling costs the device nothing.
  minPollIntervalMs: 250,
  // Their topics or the command reply are inferred (see wire.ts): verify on a real unit first.
  provisional: ['getConfig', 'applyConfig', 'start', 'stop', 'reboot'],
};

class PrismDriver implements EncoderDriver {
  readonly capabilities = capabilities;
  private readonly session: MqttSession;

  constructor(ctx: DriverContext) {
    this.session = new MqttSession({
      endpoint: ctx.endpoint,
      defaultPort: teradekPrism.defaultPort,
      path: MQTT_PATH,
      timeoutMs: ctx.timeoutMs,
      credentials: ctx.endpoint.credentials ?? DEFAULT_CREDENTIALS,
      checkAddress: ctx.checkAddress,
      lookup: ctx.lookup,
      onFirstCertificate: ctx.onFirstCertificate,
      stateTopics: STATE_TOPICS,
    });
  }

  /** The MQTT CONNECT is the login: the broker checks the web UI's credentials. */
  login(opts?: CallOptions): Promise<void> {
    return this.session.open(opts?.signal);
  }

  getInfo(opts?: CallOptions): Promise<DeviceInfo> {
    return this.session.read(
      TOPICS.product,
      (state) => {
        const product = state.get(TOPICS.product, ProductState);
        return product && infoFromWire(product);
      },
      opts?.signal,
    );
  }

  async getConfig(opts?: CallOptions): Promise<DeviceConfig> {
    return configFromWire(await this.readWireConfig(opts));
  }

  applyConfig(config: EncoderConfig, opts?: ApplyOptions): Promise<ApplyResult> {
    let channelName = '';
    return convergeConfig(config, {
      ref: this.session.ref,
      capabilities,
      onWrite: opts?.onWrite,
      read: async () => {
        const wire = await this.readWireConfig(opts);
        channelName = wire.rtmp?.channel_name ?? channelName;
        return configFromWire(wire);
      },
      write: async (sections, current) => {
        // One exchange per topic, in dependency order; a failure part-way leaves a partial write
        // that the next converge finishes. The read-back that follows comes from the cache, which
        // assumes the device republishes a settings topic before it acknowledges the write [INF]; a
        // unit that lags would show up as deviations, and the next converge writes again.
        for (const command of commandsFor(sections, current, channelName)) {
          await this.command(command.topic, command.body, opts);
        }
      },
    });
  }

  async start(opts?: CallOptions): Promise<void> {
    const { state } = await this.getStatus(opts);
    if (state === 'streaming' || state === 'starting') return;
    await this.command(COMMANDS.start, {}, opts);
  }

  async stop(opts?: CallOptions): Promise<void> {
    const { state } = await this.getStatus(opts);
    if (state === 'idle' || state === 'stopping') return;
    await this.command(COMMANDS.stop, {}, opts);
  }

  getStatus(opts?: CallOptions): Promise<DeviceStatus> {
    return this.session.read(
      TOPICS.streamInfo,
      (state) => {
        const info = state.get(TOPICS.streamInfo, StreamInfoState);
        // Bitrate and input are pushed on their own topics; use them when the device has sent them.
        return (
          info &&
          statusFromWire(
            info,
            state.get(TOPICS.streamStats, StreamStatsState),
            state.get(TOPICS.videoInput, VideoInputState),
          )
        );
      },
      opts?.signal,
    );
  }

  async reboot(opts?: CallOptions): Promise<void> {
    await this.command(COMMANDS.reboot, {}, opts, true);
    // The device acknowledges before it goes down, so until the link breaks the cache would still
    // show the state from before the restart. Drop it now; the next call reconnects.
    this.session.disconnect();
  }

  close(): Promise<void> {
    return this.session.close();
  }

  /** Everything getConfig needs, including the settings topic of whichever mode is in force. */
  private readWireConfig(opts?: CallOptions): Promise<WireConfig> {
    return this.session.read('stream settings', readWireConfig, opts?.signal);
  }

  /** Runs one command and interprets the device's reply (none when a reboot cut it off). */
  private async command(
    topic: string,
    body: Record<string, unknown>,
    opts: CallOptions | undefined,
    dropMeansDone = false,
  ): Promise<void> {
    const reply = await this.session.command(topic, body, { signal: opts?.signal, dropMeansDone });
    if (reply !== undefined) checkReply(this.session.ref, topic, reply);
  }
}

function readWireConfig(state: StateView): WireConfig | undefined {
  const modes = state.get(TOPICS.streamModes, StreamModesState);
  const video = state.get(TOPICS.videoEncoder, VideoEncoderState);
  const audio = state.get(TOPICS.audioEncoder, AudioEncoderState);
  if (!modes || !video || !audio) return undefined;
  // The settings of the mode in force must have arrived; the other one is used when present (the
  // RTMP channel label is kept across a switch from SRT).
  const rtmp = state.get(TOPICS.rtmp, RtmpState);
  const srt = state.get(TOPICS.srt, SrtState);
  const needed = settingsTopicOf(activeMode(modes, video));
  if ((needed === TOPICS.rtmp && !rtmp) || (needed === TOPICS.srt && !srt)) return undefined;
  return { modes, video, audio, ...(rtmp ? { rtmp } : {}), ...(srt ? { srt } : {}) };
}

export const teradekPrism: DriverModule = {
  vendor: 'teradek-prism',
  capabilities,
  defaultPort: 80,
  create: (ctx) => new PrismDriver(ctx),
};

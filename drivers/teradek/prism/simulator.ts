/**
 * A simulated Teradek Prism serving the MQTT topics of `wire.ts` at `ws://<host>/mqtt`: a login
 * checked at CONNECT, retained state topics kept current, commands validated as the device's UI
 * validates them and answered on `<command>/<ts>/response` [INF], start going Ready → Starting → Live,
 * stop going Live → Stopping → Ready, live counters pushed every second while live, and restart.
 *
 * SimServer applies the fault knobs to plain HTTP requests only; an upgraded socket never passes
 * through there again, so they are applied here to every MQTT message instead: CONNECT and commands
 * get latency, errors, silence and resets; every message sent to a client may be garbled.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';
import type { VendorId } from '../../contract.js';
import { SimDevice, type SimDeviceOptions, type SimReply } from '../../sim/device.js';
import type { UpgradeHandler } from '../../sim/server.js';
import { type LoginVerdict, SimBroker } from './sim-broker.js';
import {
  type AudioEncoderSettings,
  COMMAND_BODIES,
  COMMANDS,
  type CommandReply,
  type CommandTopic,
  codecFromWire,
  commandOf,
  DEFAULT_CREDENTIALS,
  formatUptime,
  MODE_DISABLED,
  MODE_KEY,
  MODE_RTMP,
  MODE_SRT,
  MQTT_PATH,
  REPLY_SUFFIX,
  type RtmpSettings,
  type SrtSettings,
  STATE_TOPICS,
  type StateTopic,
  TOPICS,
  type VideoEncoderSettings,
  type WireStreamState,
} from './wire.js';

export interface PrismSettings {
  modes: { 'mode-h264': string; 'mode-hevc': string };
  rtmp: RtmpSettings;
  srt: SrtSettings;
  video: VideoEncoderSettings;
  audio: AudioEncoderSettings;
}

export interface PrismSnapshot {
  settings: PrismSettings;
  state: WireStreamState;
}

/** What the UI's menus offer; anything else is refused with the device's message. */
const RESOLUTIONS = ['3840x2160', '1920x1080', '1280x720', '960x540', '640x360'];
const FRAME_RATES = [23.98, 24, 25, 29.97, 30, 50, 59.94, 60];
const MODES = [MODE_RTMP, MODE_SRT, MODE_DISABLED];
const LIVE_TICK_MS = 1000;

interface Outcome {
  readonly reply: CommandReply;
  /** State topics that changed; published before the reply, so a client that sees the reply has them. */
  readonly changed?: readonly StateTopic[];
  /** Runs once the reply is out (reboot goes down after acknowledging). */
  readonly afterReply?: () => void;
}

const ok = (changed?: readonly StateTopic[]): Outcome => ({ reply: { result: 'success' }, changed });
const refuse = (message: string): Outcome => ({ reply: { result: 'error', message } });

export class PrismSim extends SimDevice implements UpgradeHandler {
  readonly vendor: VendorId = 'teradek-prism';
  productName = 'Prism Flex';
  readonly serial: string;
  firmware = '1.9.4';
  /** The capture signal; `null` = no signal. */
  input: { width: number; height: number; fps: number } | null = { width: 1920, height: 1080, fps: 30 };
  readonly settings: PrismSettings = defaultSettings();
  private state: WireStreamState = 'Ready';
  private stateDetails = '';
  private liveSince: number | undefined;
  private transition: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly mqtt: SimBroker;

  constructor(opts: SimDeviceOptions) {
    super(opts, DEFAULT_CREDENTIALS);
    this.serial = `PRF-${(this.random() * 1e6).toFixed(0).padStart(6, '0')}`;
    this.mqtt = new SimBroker({
      authenticate: (client, username, password, answer) =>
        this.authenticate(client, username, password, answer),
      isCommand: (topic) => commandOf(topic) !== undefined,
      onCommand: (client, topic, payload) => this.onCommand(client, topic, payload),
      outgoing: (payload) => (this.strikes(this.faults.malformedRate) ? garble(payload) : payload),
      retained: () => STATE_TOPICS.map((topic) => [topic, this.payloadOf(topic)] as const),
      onSession: (client) => this.onSession(client),
    });
  }

  /** Open MQTT connections (for tests and fleet statistics). */
  get connections(): number {
    return this.mqtt.connections;
  }

  snapshot(): PrismSnapshot {
    return { settings: structuredClone(this.settings), state: this.state };
  }

  /** The device has a web UI, but the only API is MQTT; plain HTTP gets nothing useful. */
  handle(): SimReply {
    return { status: 404, body: { error: 'not found' } };
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://device').pathname;
    if (path !== MQTT_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.mqtt.accept(req, socket, head);
  }

  /** The ingest drops or refuses the stream: the unit shows Invalid with its reason until restarted. */
  failStream(details = 'Failed to connect to the streaming server'): void {
    this.clearTimers();
    this.state = 'Invalid';
    this.stateDetails = details;
    this.liveSince = undefined;
    void this.publishState([TOPICS.streamInfo, TOPICS.streamStats]);
  }

  /** Power cycle: connections cut, the stream back to Ready, saved settings kept. */
  protected onReboot(): void {
    this.clearTimers();
    this.state = 'Ready';
    this.stateDetails = '';
    this.liveSince = undefined;
    this.mqtt.dropAll();
  }

  // ----- MQTT messages, with the fault knobs applied per message --------------------------------------

  private authenticate(
    client: Client,
    username: string | undefined,
    password: string | undefined,
    answer: (verdict: LoginVerdict) => void,
  ): void {
    this.log('CONNECT', MQTT_PATH, `username=${username ?? ''}`); // never the password
    const { faults } = this;
    if (this.strikes(faults.resetRate)) {
      this.mqtt.drop(client);
      return;
    }
    if (this.strikes(faults.timeoutRate)) return; // no CONNACK; the client gives up
    this.afterLatency(() => {
      if (!this.online) this.mqtt.drop(client);
      else if (this.strikes(faults.errorRate)) answer('unavailable');
      else if (username !== this.username || password !== this.password) {
        this.record('login-refused');
        answer('refused');
      } else {
        this.record('login');
        answer('ok');
      }
    });
  }

  private onSession(client: Client): void {
    const ttl = this.faults.sessionTtlMs;
    if (ttl > 0) setTimeout(() => this.mqtt.drop(client), ttl).unref();
  }

  private onCommand(client: Client, topic: string, payload: Buffer): void {
    const command = commandOf(topic)!;
    const body = payload.toString('utf8');
    this.log('PUBLISH', topic, body);
    const { faults } = this;
    if (this.strikes(faults.resetRate)) {
      this.mqtt.drop(client);
      return;
    }
    if (this.strikes(faults.timeoutRate)) return; // never answered
    this.afterLatency(() => {
      if (!this.online || client.closed) return;
      const outcome = this.strikes(faults.errorRate) ? refuse('Internal error') : this.execute(command, body);
      if (!outcome) return; // went down part-way through a write: no reply
      void this.publishState(outcome.changed ?? []).then(async () => {
        await this.mqtt.publish(
          `${topic}/${REPLY_SUFFIX}`,
          Buffer.from(JSON.stringify(outcome.reply)),
          false,
        );
        outcome.afterReply?.();
      });
    });
  }

  private execute(command: CommandTopic, text: string): Outcome | undefined {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return refuse('Invalid JSON');
    }
    const wire = COMMAND_BODIES[command];
    if (!wire.check.Check(body)) {
      const first = wire.check.Errors(body).First();
      return refuse(`Invalid parameter ${first?.path || '/'}: ${first?.message ?? 'bad value'}`);
    }
    const fields = body as Record<string, unknown>;
    switch (command) {
      case COMMANDS.start:
        return this.startStream();
      case COMMANDS.stop:
        return this.stopStream();
      case COMMANDS.reboot:
        return { ...ok(), afterReply: () => this.reboot() };
      case COMMANDS.selectMode:
        return this.write(command, this.settings.modes, fields, TOPICS.streamModes, checkModes);
      case COMMANDS.setRtmp:
        return this.write(command, this.settings.rtmp, fields, TOPICS.rtmp, checkRtmp);
      case COMMANDS.setSrt:
        return this.write(command, this.settings.srt, fields, TOPICS.srt, checkSrt);
      case COMMANDS.setVideo:
        return this.write(command, this.settings.video, fields, TOPICS.videoEncoder, checkVideo);
      case COMMANDS.setAudio:
        return this.write(command, this.settings.audio, fields, TOPICS.audioEncoder, checkAudio);
    }
  }

  /** A settings write: validated whole, then applied field by field under the write faults. */
  private write(
    command: CommandTopic,
    section: object,
    fields: Record<string, unknown>,
    topic: StateTopic,
    check: (fields: Record<string, unknown>) => string | undefined,
  ): Outcome | undefined {
    const problem = check(fields);
    if (problem) return refuse(problem);
    const target = section as Record<string, unknown>;
    const steps = Object.entries(fields).map(([key, value]) => () => {
      target[key] = value;
    });
    // Field names only: the values include stream keys and passphrases.
    if (!this.applyWrite(steps, { command, fields: Object.keys(fields) })) return undefined;
    return ok([topic]);
  }

  private startStream(): Outcome {
    if (this.state !== 'Ready' && this.state !== 'Invalid') return ok(); // already on its way or live
    const problem = this.destinationProblem();
    if (problem) return refuse(problem);
    this.record('start');
    this.state = 'Starting';
    this.stateDetails = '';
    this.clearTimers();
    this.transition = setTimeout(() => this.goLive(), this.startDelayMs);
    this.transition.unref();
    return ok([TOPICS.streamInfo]);
  }

  private goLive(): void {
    this.state = 'Live';
    this.liveSince = Date.now();
    // Uptime and bitrate are live counters: the device keeps pushing them while it streams.
    this.ticker = setInterval(
      () => void this.publishState([TOPICS.streamInfo, TOPICS.streamStats]),
      LIVE_TICK_MS,
    );
    this.ticker.unref();
    void this.publishState([TOPICS.streamInfo, TOPICS.streamStats]);
  }

  private stopStream(): Outcome {
    if (this.state === 'Ready' || this.state === 'Stopping') return ok();
    this.record('stop');
    this.clearTimers();
    this.state = 'Stopping';
    this.liveSince = undefined;
    this.transition = setTimeout(
      () => {
        this.state = 'Ready';
        void this.publishState([TOPICS.streamInfo, TOPICS.streamStats]);
      },
      Math.min(this.startDelayMs, 100),
    );
    this.transition.unref();
    return ok([TOPICS.streamInfo, TOPICS.streamStats]);
  }

  /** Why the selected mode cannot go live, in the device's words [INF]; undefined when it can. */
  private destinationProblem(): string | undefined {
    const { modes, rtmp, srt, video } = this.settings;
    const mode = modes[MODE_KEY[codecFromWire(video.codec)]];
    if (mode === MODE_RTMP)
      return rtmp.url && rtmp.stream ? undefined : 'RTMP URL and stream key are required';
    if (mode === MODE_SRT) return srt.host ? undefined : 'SRT destination address is required';
    return 'No streaming destination selected';
  }

  private clearTimers(): void {
    clearTimeout(this.transition);
    clearInterval(this.ticker);
    this.transition = undefined;
    this.ticker = undefined;
  }

  // ----- state topics ---------------------------------------------------------------------------------

  /** Publishes the given topics retained, one after the other (subscribers see them in this order). */
  private async publishState(topics: readonly StateTopic[]): Promise<void> {
    for (const topic of topics) await this.mqtt.publish(topic, this.payloadOf(topic), true);
  }

  private payloadOf(topic: StateTopic): Buffer {
    return Buffer.from(JSON.stringify(this.stateOf(topic)));
  }

  private stateOf(topic: StateTopic): unknown {
    const { settings } = this;
    switch (topic) {
      case TOPICS.product:
        return { name: this.productName, serial: this.serial, version: this.firmware };
      case TOPICS.streamInfo:
        return {
          State: this.state,
          Uptime: formatUptime(this.liveSince ? (Date.now() - this.liveSince) / 1000 : 0),
          'State Details': this.stateDetails,
        };
      case TOPICS.streamStats: {
        const { video } = settings;
        // The encoder runs within a few percent of its target while live.
        const bitrate = this.state === 'Live' ? Math.round(video.bitrate * (0.97 + this.random() * 0.05)) : 0;
        const height = video.resolution.split('x')[1];
        return {
          Bitrate: bitrate,
          Format: `${height}p${video.framerate}`,
          Profile: 'High',
          Codec: video.codec,
        };
      }
      case TOPICS.streamModes:
        return settings.modes;
      case TOPICS.rtmp:
        return settings.rtmp;
      case TOPICS.srt:
        return settings.srt;
      case TOPICS.videoEncoder:
        return settings.video;
      case TOPICS.audioEncoder:
        return settings.audio;
      case TOPICS.videoInput: {
        const input = this.input;
        if (!input) return { Format: 'No Signal', Resolution: '', Framerate: '' };
        return {
          Format: `${input.height}p${input.fps}`,
          Resolution: `${input.width}x${input.height}`,
          Framerate: String(input.fps),
        };
      }
    }
  }

  // ----- helpers ----------------------------------------------------------------------------------------

  private afterLatency(fn: () => void): void {
    const { latencyMs, jitterMs } = this.faults;
    const delay = latencyMs + (jitterMs ? this.random() * jitterMs : 0);
    if (delay > 0) setTimeout(fn, delay).unref();
    else fn();
  }

  /** MQTT messages go into the same request log as HTTP requests, so counts work across vendors. */
  private log(method: string, path: string, body: string): void {
    this.logRequest({ method, path, query: new URLSearchParams(), headers: {}, cookies: {}, body });
  }
}

function defaultSettings(): PrismSettings {
  return {
    // A factory unit: RTMP selected, nothing filled in.
    modes: { 'mode-h264': MODE_RTMP, 'mode-hevc': MODE_RTMP },
    rtmp: { url: '', stream: '', username: '', password: '', channel_name: 'Prism' },
    srt: { mode: 'Caller', host: '', port: 5000, streamid: '', latency: 500, passphrase: '' },
    video: { codec: 'H.264', bitrate: 6_000_000, resolution: '1920x1080', framerate: 30, gop: 60 },
    audio: { codec: 'AAC', bitrate: 128_000, samplerate: 48000, channels: 2 },
  };
}

/** Cut in half, as a truncated frame would be. */
function garble(payload: Buffer): Buffer {
  return payload.subarray(0, Math.floor(payload.length / 2));
}

// The checks the device's UI applies beyond the body's shape, answered in its words [INF].

function checkModes(fields: Record<string, unknown>): string | undefined {
  const bad = Object.values(fields).find((mode) => !MODES.includes(String(mode)));
  return bad === undefined ? undefined : `Unsupported streaming mode "${String(bad)}"`;
}

function checkRtmp(fields: Record<string, unknown>): string | undefined {
  const url = String(fields.url);
  return url === '' || /^rtmps?:\/\/[^\s/]+/.test(url)
    ? undefined
    : 'URL must start with rtmp:// or rtmps://';
}

function checkSrt(fields: Record<string, unknown>): string | undefined {
  const passphrase = String(fields.passphrase);
  if (passphrase !== '' && passphrase.length < 10) return 'Passphrase must be 10 to 79 characters';
  return undefined;
}

function checkVideo(fields: Record<string, unknown>): string | undefined {
  const { bitrate, resolution, framerate, gop } = fields as Partial<VideoEncoderSettings>;
  if (bitrate !== undefined && (bitrate < 100_000 || bitrate > 20_000_000))
    return 'Bitrate must be between 100 Kbps and 20 Mbps';
  if (resolution !== undefined && !RESOLUTIONS.includes(resolution))
    return `Unsupported resolution ${resolution}`;
  if (framerate !== undefined && !FRAME_RATES.includes(framerate))
    return `Unsupported frame rate ${framerate}`;
  if (gop !== undefined && gop > 1000) return 'GOP must be at most 1000 frames';
  return undefined;
}

function checkAudio(fields: Record<string, unknown>): string | undefined {
  const { bitrate, samplerate, channels } = fields as Partial<AudioEncoderSettings>;
  if (bitrate !== undefined && (bitrate < 32_000 || bitrate > 320_000))
    return 'Audio bitrate must be between 32 and 320 Kbps';
  if (samplerate !== undefined && samplerate !== 44100 && samplerate !== 48000)
    return 'Sample rate must be 44.1 or 48 kHz';
  if (channels !== undefined && channels !== 1 && channels !== 2) return 'Channels must be mono or stereo';
  return undefined;
}

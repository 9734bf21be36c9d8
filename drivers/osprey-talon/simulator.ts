/**
 * A simulated Osprey Talon serving the (provisional) channel API of `wire.ts`: login with session
 * expiry, per-channel settings validated as the device's web UI validates them, start/stop with
 * idle → starting → running transitions, status and live stats, restart.
 */
import { randomBytes } from 'node:crypto';
import type { VendorId } from '../contract.js';
import {
  ConnectionDropped,
  SimDevice,
  type SimDeviceOptions,
  type SimReply,
  type SimRequest,
} from '../sim/device.js';
import {
  API,
  CHANNEL_COUNT,
  type Channel,
  type ChannelState,
  type ChannelUpdate,
  DEFAULT_CREDENTIALS,
  SESSION_COOKIE,
} from './wire.js';

const FRAME_RATES = [23.98, 24, 25, 29.97, 30, 50, 59.94, 60];

interface ChannelRuntime {
  startedAt?: number;
  stoppingUntil?: number;
  framesDropped: number;
}

export class TalonSim extends SimDevice {
  readonly vendor: VendorId = 'osprey-talon';
  readonly model = 'Talon 4K-SC';
  readonly serial: string;
  firmware = '2.4.1';
  /** The capture signal the device sees; `null` = no signal. */
  inputSignal: string | null = '1920x1080p30';
  private bootedAt = Date.now();
  private readonly sessions = new Map<string, number>();
  readonly channels: Channel[];
  private readonly runtime: ChannelRuntime[];

  constructor(opts: SimDeviceOptions) {
    super(opts, DEFAULT_CREDENTIALS);
    this.serial = `T4K-${(this.random() * 1e6).toFixed(0).padStart(6, '0')}`;
    this.channels = Array.from({ length: CHANNEL_COUNT }, (_, i) => defaultChannel(i + 1));
    this.runtime = this.channels.map(() => ({ framesDropped: 0 }));
  }

  snapshot(): { channels: Channel[]; states: ChannelState[] } {
    return { channels: structuredClone(this.channels), states: this.channels.map((_, i) => this.stateOf(i)) };
  }

  protected onReboot(): void {
    this.sessions.clear();
    this.bootedAt = Date.now() + this.rebootMs;
    for (const r of this.runtime) {
      r.startedAt = undefined;
      r.stoppingUntil = undefined;
    }
  }

  handle(req: SimRequest): SimReply {
    const route = `${req.method} ${req.path}`;
    if (route === `POST ${API}/login`) return this.login(req);
    if (!this.authorised(req)) return { status: 401, body: { error: 'session expired or invalid' } };

    if (route === `GET ${API}/system`) return this.system();
    if (route === `POST ${API}/system/restart`) {
      // Answer first, then go down: the real unit acknowledges before restarting.
      setImmediate(() => this.reboot());
      return { status: 202, body: { status: 'restarting' } };
    }
    if (route === `GET ${API}/channels`) {
      return { body: { channels: this.channels.map((c, i) => ({ ...c, state: this.stateOf(i) })) } };
    }
    const match = /^\/api\/v1\/channels\/(\d+)(\/(start|stop|status|stats))?$/.exec(req.path);
    const index = match ? Number(match[1]) - 1 : -1;
    const channel = this.channels[index];
    if (!match || !channel) return { status: 404, body: { error: 'not found' } };
    const action = `${req.method} ${match[3] ?? ''}`;
    switch (action) {
      case 'GET ':
        return { body: channel };
      case 'PUT ':
        return this.update(index, req.body);
      case 'POST start':
        return this.start(index);
      case 'POST stop':
        return this.stop(index);
      case 'GET status':
        return this.status(index);
      case 'GET stats':
        return this.stats(index);
      default:
        return { status: 405, body: { error: 'method not allowed' } };
    }
  }

  private login(req: SimRequest): SimReply {
    let body: { username?: unknown; password?: unknown };
    try {
      body = JSON.parse(req.body);
    } catch {
      return { status: 400, body: { error: 'invalid JSON' } };
    }
    if (body.username !== this.username || body.password !== this.password) {
      this.record('login-refused');
      return { status: 401, body: { error: 'invalid username or password' } };
    }
    const token = randomBytes(16).toString('hex');
    this.sessions.set(token, Date.now());
    this.record('login');
    const ttl = this.faults.sessionTtlMs;
    return {
      headers: { 'set-cookie': `${SESSION_COOKIE}=${token}; Path=/; HttpOnly` },
      body: { token, ...(ttl ? { expires_in: Math.ceil(ttl / 1000) } : {}) },
    };
  }

  private authorised(req: SimRequest): boolean {
    const token = req.cookies[SESSION_COOKIE];
    const since = token ? this.sessions.get(token) : undefined;
    if (since === undefined) return false;
    const ttl = this.faults.sessionTtlMs;
    if (ttl && Date.now() - since > ttl) {
      this.sessions.delete(token!);
      return false;
    }
    return true;
  }

  private system(): SimReply {
    return {
      body: {
        model: this.model,
        serial_number: this.serial,
        firmware_version: this.firmware,
        uptime_s: Math.max(0, Math.floor((Date.now() - this.bootedAt) / 1000)),
        hostname: `talon-${this.id}`,
      },
    };
  }

  private update(index: number, raw: string): SimReply {
    let update: ChannelUpdate;
    try {
      update = JSON.parse(raw);
    } catch {
      return { status: 400, body: { error: 'invalid JSON' } };
    }
    const channel = this.channels[index]!;
    const problem = validateUpdate(update);
    if (problem) return { status: 400, body: { error: 'invalid parameter', ...problem } };

    // Each section is one step, so a reboot mid-write leaves some sections applied and others not.
    const steps: (() => void)[] = [];
    if (update.video) steps.push(() => Object.assign(channel.video, update.video));
    if (update.audio) steps.push(() => Object.assign(channel.audio, update.audio));
    const output = update.output;
    if (output) {
      steps.push(() => {
        if (output.upstream_protocol) channel.output.upstream_protocol = output.upstream_protocol;
        Object.assign(channel.output.rtmp, output.rtmp);
        Object.assign(channel.output.srt, output.srt);
        Object.assign(channel.output.whip, output.whip);
      });
    }
    if (!this.applyWrite(steps, { channel: index + 1, update })) throw new ConnectionDropped();
    return { body: channel };
  }

  private start(index: number): SimReply {
    const channel = this.channels[index]!;
    const state = this.stateOf(index);
    if (state === 'RUNNING' || state === 'STARTING') return { body: { state } };
    if (channel.output.upstream_protocol === 'NONE') {
      return { status: 409, body: { error: 'no upstream protocol configured' } };
    }
    this.runtime[index] = { startedAt: Date.now(), framesDropped: 0 };
    this.record('start', { channel: index + 1 });
    return { body: { state: this.stateOf(index) } };
  }

  private stop(index: number): SimReply {
    const state = this.stateOf(index);
    if (state === 'IDLE' || state === 'STOPPING') return { body: { state } };
    this.runtime[index] = { stoppingUntil: Date.now() + Math.min(this.startDelayMs, 100), framesDropped: 0 };
    this.record('stop', { channel: index + 1 });
    return { body: { state: this.stateOf(index) } };
  }

  private stateOf(index: number): ChannelState {
    const r = this.runtime[index]!;
    if (r.startedAt !== undefined)
      return Date.now() - r.startedAt < this.startDelayMs ? 'STARTING' : 'RUNNING';
    if (r.stoppingUntil !== undefined && Date.now() < r.stoppingUntil) return 'STOPPING';
    return 'IDLE';
  }

  private status(index: number): SimReply {
    const state = this.stateOf(index);
    const r = this.runtime[index]!;
    const uptime = state === 'RUNNING' && r.startedAt ? Math.floor((Date.now() - r.startedAt) / 1000) : 0;
    return {
      body: { state, uptime_s: uptime, error_message: null, input_signal: this.inputSignal ?? 'NO_SIGNAL' },
    };
  }

  private stats(index: number): SimReply {
    const channel = this.channels[index]!;
    const r = this.runtime[index]!;
    if (this.stateOf(index) !== 'RUNNING') {
      return { body: { bitrate_kbps: 0, frame_rate: 0, frames_encoded: 0, frames_dropped: 0 } };
    }
    const seconds = (Date.now() - r.startedAt!) / 1000;
    // Live counters: the encoder runs within a few percent of its target rate.
    const wobble = 0.97 + this.random() * 0.05;
    return {
      body: {
        bitrate_kbps: Math.round(channel.video.bitrate_kbps * wobble),
        frame_rate: channel.video.frame_rate,
        frames_encoded: Math.floor(seconds * channel.video.frame_rate),
        frames_dropped: r.framesDropped,
      },
    };
  }
}

function defaultChannel(id: number): Channel {
  return {
    id,
    name: `Channel ${id}`,
    video: { codec: 'H.264', resolution: '1920x1080', frame_rate: 30, bitrate_kbps: 4000, gop_length: 60 },
    audio: { codec: 'AAC-LC', bitrate_kbps: 128, sample_rate_hz: 48000, channels: 2 },
    output: {
      upstream_protocol: 'NONE',
      rtmp: { url: '', stream_key: '' },
      srt: {
        mode: 'CALLER',
        destination_address: '',
        port: 5000,
        stream_id: '',
        latency_ms: 500,
        encryption: 'NONE',
        passphrase: '',
      },
      whip: { endpoint: '', bearer_token: '' },
    },
  };
}

/** The checks the Talon web UI applies, answered the way the device answers them. */
function validateUpdate(update: ChannelUpdate): { field: string; message: string } | undefined {
  const v = update.video;
  if (
    v?.bitrate_kbps !== undefined &&
    (!Number.isInteger(v.bitrate_kbps) || v.bitrate_kbps < 100 || v.bitrate_kbps > 40_000)
  )
    return { field: 'video.bitrate_kbps', message: 'bitrate must be between 100 and 40000 kbps' };
  if (v?.frame_rate !== undefined && !FRAME_RATES.includes(v.frame_rate))
    return { field: 'video.frame_rate', message: `frame rate must be one of ${FRAME_RATES.join(', ')}` };
  if (v?.resolution !== undefined) {
    const [w, h] = v.resolution.split('x').map(Number);
    if (!w || !h || w > 3840 || h > 2160)
      return { field: 'video.resolution', message: 'unsupported resolution' };
  }
  if (v?.codec !== undefined && v.codec !== 'H.264' && v.codec !== 'HEVC')
    return { field: 'video.codec', message: 'unsupported codec' };
  const a = update.audio;
  if (a?.bitrate_kbps !== undefined && (a.bitrate_kbps < 32 || a.bitrate_kbps > 320))
    return { field: 'audio.bitrate_kbps', message: 'audio bitrate must be between 32 and 320 kbps' };
  if (a?.sample_rate_hz !== undefined && a.sample_rate_hz !== 44100 && a.sample_rate_hz !== 48000)
    return { field: 'audio.sample_rate_hz', message: 'sample rate must be 44100 or 48000' };
  const o = update.output;
  if (o?.srt?.port !== undefined && (o.srt.port < 1 || o.srt.port > 65535))
    return { field: 'output.srt.port', message: 'port out of range' };
  if (o?.srt?.passphrase && (o.srt.passphrase.length < 10 || o.srt.passphrase.length > 79))
    return { field: 'output.srt.passphrase', message: 'passphrase must be 10 to 79 characters' };
  if (o?.rtmp?.url && !/^rtmps?:\/\//.test(o.rtmp.url))
    return { field: 'output.rtmp.url', message: 'URL must start with rtmp:// or rtmps://' };
  return undefined;
}

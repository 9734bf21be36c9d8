/**
 * A simulated Teradek VidiU Pro serving the legacy CGI API of `wire.ts`, quirks included: every
 * answer is HTTP 200 (refusals are `##…#` bodies), the session lives in the `serenity-session` cookie
 * and expires after `faults.sessionTtlMs`, `geti` nests along the dotted path with numbers as
 * strings, Codec.Status carries JSON inside a string, status fields are colon-packed, and broadcast
 * goes Ready → Starting → Live → Stopping → Ready.
 *
 * Settings (`command=set` / `command=apply` on api.cgi) follow the PROVISIONAL keys of `wire.ts`
 * [INF]; values are checked against the web UI's menus and refused with a plain-text sentinel [INF].
 */
import type { VendorId } from '../../contract.js';
import {
  ConnectionDropped,
  SimDevice,
  type SimDeviceOptions,
  type SimReply,
  type SimRequest,
} from '../../sim/device.js';
import {
  APPLY_OK,
  AUDIO_CODEC_AAC,
  BROADCAST_MODES,
  type BroadcastState,
  CGI,
  DEFAULT_CREDENTIALS,
  KEYS,
  MODE_RTMP,
  SENTINEL,
  SESSION_COOKIE,
  type SettingKey,
  VIDEO_CODEC_H264,
} from './wire.js';

/** What the web UI's menus offer [INF]; anything else is refused with the device's message. */
const RESOLUTIONS = ['1920x1080', '1280x720', '854x480', '640x360'];
const FRAME_RATES = ['23.98', '24', '25', '29.97', '30', '50', '59.94', '60'];
const AUDIO_BITRATES = ['32', '64', '96', '128', '192', '256', '320'];

type Check = (value: string) => string | undefined;
const oneOf =
  (menu: readonly string[]): Check =>
  (value) =>
    menu.includes(value) ? undefined : `must be one of ${menu.join(', ')}`;
const intWithin =
  (min: number, max: number): Check =>
  (value) =>
    /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max
      ? undefined
      : `must be an integer from ${min} to ${max}`;

/** [INF] The value each settings key accepts. */
const CHECKS: Record<SettingKey, Check> = {
  [KEYS.mode]: oneOf(BROADCAST_MODES),
  [KEYS.rtmpUrl]: (v) =>
    v === '' || (/^rtmps?:\/\/\S+$/.test(v) && v.length <= 2048)
      ? undefined
      : 'must start with rtmp:// or rtmps://',
  [KEYS.rtmpStream]: (v) => (v.length <= 512 ? undefined : 'too long'),
  [KEYS.videoCodec]: oneOf([VIDEO_CODEC_H264]),
  [KEYS.videoBitrate]: intWithin(100, 10_000),
  [KEYS.videoResolution]: oneOf(RESOLUTIONS),
  [KEYS.videoFramerate]: oneOf(FRAME_RATES),
  [KEYS.videoGop]: intWithin(1, 300),
  [KEYS.audioCodec]: oneOf([AUDIO_CODEC_AAC]),
  [KEYS.audioBitrate]: oneOf(AUDIO_BITRATES),
  [KEYS.audioSampleRate]: oneOf(['44100', '48000']),
  [KEYS.audioChannels]: oneOf(['1', '2']),
};

function defaultSettings(): Record<SettingKey, string> {
  return {
    [KEYS.mode]: MODE_RTMP,
    [KEYS.rtmpUrl]: '',
    [KEYS.rtmpStream]: '',
    [KEYS.videoCodec]: VIDEO_CODEC_H264,
    [KEYS.videoBitrate]: '4000',
    [KEYS.videoResolution]: '1920x1080',
    [KEYS.videoFramerate]: '30',
    [KEYS.videoGop]: '60',
    [KEYS.audioCodec]: AUDIO_CODEC_AAC,
    [KEYS.audioBitrate]: '128',
    [KEYS.audioSampleRate]: '48000',
    [KEYS.audioChannels]: '2',
  };
}

function isSettingKey(key: string): key is SettingKey {
  return key in CHECKS;
}

export interface VidiuSnapshot {
  /** The active settings, flat by key. */
  settings: Record<SettingKey, string>;
  /** Values staged by `set` and not yet applied. */
  pending: Partial<Record<SettingKey, string>>;
  state: BroadcastState;
}

/** A refusal the way the plain-text CGIs put it: HTTP 200 and `##<message>#`. */
const refuse = (message: string): SimReply => ({ body: `##${message}#` });

export class VidiuSim extends SimDevice {
  readonly vendor: VendorId = 'teradek-vidiu';
  productName = 'VidiU Pro';
  readonly serial: string;
  firmware = '3.0.8';
  /** [SRC] `<input>:<format>`; `HDMI:No Signal` when nothing is plugged in [INF]. */
  videoInput = 'HDMI:1080p30';
  /** [SRC] `none` when the stream is healthy; otherwise the unit's words for what went wrong. */
  broadcastError = 'none';
  readonly settings = defaultSettings();
  private pending: Partial<Record<SettingKey, string>> = {};
  /** Session number → login time. */
  private readonly sessions = new Map<string, number>();
  private startedAt: number | undefined;
  private stoppingUntil: number | undefined;

  constructor(opts: SimDeviceOptions) {
    super(opts, DEFAULT_CREDENTIALS);
    const digits = () => String(Math.floor(this.random() * 1e4)).padStart(4, '0');
    this.serial = `${digits()}-${digits()}`;
  }

  snapshot(): VidiuSnapshot {
    return { settings: { ...this.settings }, pending: { ...this.pending }, state: this.state() };
  }

  protected onReboot(): void {
    this.sessions.clear();
    this.pending = {};
    this.startedAt = undefined;
    this.stoppingUntil = undefined;
  }

  handle(req: SimRequest): SimReply {
    if (!(Object.values(CGI) as string[]).includes(req.path)) {
      return { status: 404, headers: { 'content-type': 'text/html' }, body: '<h1>404 Not Found</h1>' };
    }
    // [SRC] form POST or query GET, interchangeably.
    const params = new URLSearchParams(req.query);
    if (req.method === 'POST') for (const [k, v] of new URLSearchParams(req.body)) params.append(k, v);
    const command = params.get('command') ?? '';

    if (req.path === CGI.api && command === 'login') return this.login(params);
    if (!this.authorised(req)) return { body: SENTINEL.accessDenied };

    switch (`${req.path} ${command}`) {
      case `${CGI.api} set`:
        return this.set(params);
      case `${CGI.api} apply`:
        return this.apply();
      case `${CGI.json} geti`:
        return this.geti(params.get('q') ?? '');
      case `${CGI.system} status`:
        return this.status();
      case `${CGI.system} broadcast`:
        return this.broadcast(params.get('action') ?? '');
      default:
        if (command === 'help') return { body: this.help() };
        return refuse('Invalid command');
    }
  }

  private login(params: URLSearchParams): SimReply {
    if (params.get('user') !== this.username || params.get('passwd') !== this.password) {
      this.record('login-refused');
      return { body: SENTINEL.invalidPassword };
    }
    const session = String(10_000_000 + Math.floor(this.random() * 89_999_999));
    this.sessions.set(session, Date.now());
    this.record('login');
    return {
      headers: { 'set-cookie': `${SESSION_COOKIE}=${session}; path=/` },
      body: `Session=${session}`,
    };
  }

  /**
   * [SRC] system.cgi wants the session cookie; api.cgi and json.cgi also take HTTP Basic ("most
   * endpoints allow basic auth"). Only `serenity-session` matters among the cookies.
   */
  private authorised(req: SimRequest): boolean {
    const session = req.cookies[SESSION_COOKIE];
    const since = session ? this.sessions.get(session) : undefined;
    if (since !== undefined) {
      const ttl = this.faults.sessionTtlMs;
      if (!ttl || Date.now() - since <= ttl) return true;
      this.sessions.delete(session!);
    }
    return req.path !== CGI.system && this.basicAuthOk(req.headers.authorization);
  }

  private basicAuthOk(header: string | undefined): boolean {
    const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!match) return false;
    return Buffer.from(match[1]!, 'base64').toString('utf8') === `${this.username}:${this.password}`;
  }

  /** [INF] Checks every key first; one bad value refuses the whole form and stages nothing. */
  private set(params: URLSearchParams): SimReply {
    const staged: [SettingKey, string][] = [];
    for (const [key, value] of params) {
      if (key === 'command') continue;
      if (!isSettingKey(key)) return refuse(`Unknown parameter: ${key}`);
      const problem = CHECKS[key](value);
      if (problem) return refuse(`Invalid value for ${key}: ${problem}`);
      staged.push([key, value]);
    }
    if (!staged.length) return refuse('Nothing to set');
    for (const [key, value] of staged) this.pending[key] = value;
    return { body: staged.map(([key, value]) => `${key}=${value}`).join('\n') };
  }

  /** [INF] Makes the staged values active, one key at a time (a reboot part-way leaves some applied). */
  private apply(): SimReply {
    const entries = Object.entries(this.pending) as [SettingKey, string][];
    this.pending = {};
    if (entries.length) {
      const steps = entries.map(([key, value]) => () => {
        this.settings[key] = value;
      });
      if (!this.applyWrite(steps, { keys: entries.map(([key]) => key) })) throw new ConnectionDropped();
    }
    return { body: APPLY_OK };
  }

  /** [SRC] The answer nests along the dotted path; numbers are strings; no `result` field. */
  private geti(query: string): SimReply {
    const flat = this.readable();
    const tree: Record<string, unknown> = {};
    let found = false;
    for (const [key, value] of Object.entries(flat)) {
      if (key !== query && !key.startsWith(`${query}.`)) continue;
      found = true;
      const parts = key.split('.');
      let node = tree;
      for (const part of parts.slice(0, -1)) {
        node[part] ??= {};
        node = node[part] as Record<string, unknown>;
      }
      node[parts.at(-1)!] = value;
    }
    return found ? { body: tree } : refuse(`Invalid key: ${query}`);
  }

  /** Every key `geti` can see, flat: identity, live values and the active settings. */
  private readable(): Record<string, string> {
    const live = this.state() === 'Live';
    const bitrate = Number(this.settings[KEYS.videoBitrate]);
    // The encoder runs within a few percent of its target rate while live.
    const current = live ? Math.round(bitrate * (0.97 + this.random() * 0.05)) : 0;
    return {
      'System.Info.Product.productname': this.productName,
      'System.Info.Product.serialnumber': this.serial,
      'System.Info.Product.productversion': this.firmware,
      'System.Info.Product.devicename': `vidiu-${this.id}`,
      'System.Info.CPU.Temp.c': '52',
      'System.Info.CPU.Temp.f': '125',
      // [SRC] a JSON document serialised into a string.
      'Codec.Status.stream1': JSON.stringify({
        encoder: { current_bitrate: current, target_bitrate: bitrate, state: live ? 'encoding' : 'idle' },
      }),
      ...this.settings,
    };
  }

  private state(): BroadcastState {
    if (this.startedAt !== undefined)
      return Date.now() - this.startedAt < this.startDelayMs ? 'Starting' : 'Live';
    if (this.stoppingUntil !== undefined && Date.now() < this.stoppingUntil) return 'Stopping';
    return 'Ready';
  }

  /** [SRC] Colon-packed fields; sub-field spellings beyond the split indices are [INF]. */
  private status(): SimReply {
    const state = this.state();
    return {
      body: {
        result: 'success',
        status: {
          'Broadcast-State': state,
          'Broadcast-Error': this.broadcastError,
          'Codec-State': state === 'Live' ? 'Encoding' : 'Idle',
          'Record-Status': '0:Not recording',
          'System-Power': 'AC:100:x:1',
          'Video-Input': this.videoInput,
          'Network-Uplink': 'Ethernet',
        },
      },
    };
  }

  /** [SRC] success reply; [INF] the refusals (starting what runs, stopping what does not). */
  private broadcast(action: string): SimReply {
    const state = this.state();
    if (action === 'start') {
      if (state !== 'Ready') return { body: { result: 'failed', message: `Broadcast is ${state}` } };
      if (this.settings[KEYS.mode] === MODE_RTMP && !this.settings[KEYS.rtmpUrl])
        return { body: { result: 'failed', message: 'No RTMP destination configured' } };
      this.startedAt = Date.now();
      this.stoppingUntil = undefined;
      this.record('start');
      return { body: { result: 'success' } };
    }
    if (action === 'stop') {
      if (state !== 'Live' && state !== 'Starting')
        return { body: { result: 'failed', message: `Broadcast is ${state}` } };
      this.startedAt = undefined;
      this.stoppingUntil = Date.now() + Math.min(this.startDelayMs, 100);
      this.record('stop');
      return { body: { result: 'success' } };
    }
    return { body: { result: 'failed', message: `Invalid action: ${action}` } };
  }

  /** [SRC] `command=help` lists commands in plain text; the key list is this simulator's [INF]. */
  private help(): string {
    return [
      'Commands: login, set, apply, geti, status, broadcast, help',
      `Settings: ${Object.keys(CHECKS).join(', ')}`,
    ].join('\n');
  }
}

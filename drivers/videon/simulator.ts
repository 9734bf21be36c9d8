/**
 * A simulated Videon EdgeCaster serving the local REST API v2 of `wire.ts`, with the vendor's quirks:
 * whole-object PUTs that refuse read-only fields, `{value}` enum wrappers, the audio bitrate as a
 * string, RTMP destinations JSON-encoded in a string (single-quoted or proper JSON both accepted),
 * `output_type` as a string in the list and an object in the detail, 201 {"id"} on create, and
 * pre-existing output slots started and stopped through their `enable` flag.
 *
 * Auth is off by default, as in every vendor sample; with `requireAuth` (or a password given) every
 * request needs HTTP Basic credentials matching `username`/`password` [INF].
 */
import { isDeepStrictEqual } from 'node:util';
import type { TSchema } from '@sinclair/typebox';
import type { VendorId } from '../contract.js';
import type { WireSchema } from '../http.js';
import {
  ConnectionDropped,
  SimDevice,
  type SimDeviceOptions,
  type SimReply,
  type SimRequest,
} from '../sim/device.js';
import { checkAudioEncoder, checkOutStream, checkVideoEncoder } from './sim-validate.js';
import {
  API,
  type AudioEncoder,
  AudioEncoderReply,
  GENERIC_RTMP,
  type OutStream,
  OutStreamReply,
  READ_ONLY_KEYS,
  type VideoEncoder,
  VideoEncoderReply,
} from './wire.js';

export interface VideonSimOptions extends SimDeviceOptions {
  /** Require HTTP Basic credentials on every request; default: only when a password is given. */
  readonly requireAuth?: boolean;
  /** `/v2/system` as firmware 10.3.0 (`network`, `dns_addresses`) or older (`xml`, `dns_address`). */
  readonly systemShape?: 'current' | 'legacy';
}

/** Slot ids as on a 4K unit: RTMP 20, SRT 1-3 = 30-32, thumbnail 3 [INF ids; SRT 1-3 per the UI]. */
export const SLOTS = { rtmp: 20, srt: [30, 31, 32], thumbnail: 3 } as const;

type Kind = 'vid' | 'aud';

export class VideonSim extends SimDevice {
  readonly vendor: VendorId = 'videon';
  requireAuth: boolean;
  systemShape: 'current' | 'legacy';
  firmware = '10.3.0';
  readonly deviceId: string;
  readonly vidEncoders = new Map<number, VideoEncoder>();
  readonly audEncoders = new Map<number, AudioEncoder>();
  readonly outStreams = new Map<number, OutStream>();
  /** When each out_stream's `enable` last changed (status is derived from it lazily). */
  private readonly since = new Map<number, number>();

  constructor(opts: VideonSimOptions) {
    // [INF] No default credentials are published; Basic needs a user name, `admin` is assumed.
    super(opts, { username: 'admin', password: '' });
    // [INF] As on the unit, where setting a password (set_password.cgi) is what turns auth on:
    // off unless asked for or a password is given (the fleet runner's --password).
    this.requireAuth = opts.requireAuth ?? Boolean(opts.password);
    this.systemShape = opts.systemShape ?? 'current';
    this.deviceId = `VEC${(this.random() * 1e8).toFixed(0).padStart(8, '0')}`;
    this.vidEncoders.set(1, defaultVideoEncoder());
    this.audEncoders.set(1, defaultAudioEncoder());
    this.outStreams.set(SLOTS.rtmp, rtmpSlot(SLOTS.rtmp));
    for (const id of SLOTS.srt) this.outStreams.set(id, srtSlot(id));
    this.outStreams.set(SLOTS.thumbnail, thumbnailSlot(SLOTS.thumbnail));
    for (const id of this.outStreams.keys()) this.since.set(id, Date.now());
  }

  snapshot(): { outStreams: Record<number, OutStream>; vid: VideoEncoder; aud: AudioEncoder } {
    return {
      outStreams: Object.fromEntries(
        [...this.outStreams].map(([id, os]) => [id, structuredClone(this.render(id, os))]),
      ),
      vid: structuredClone(this.vidEncoders.get(1)!),
      aud: structuredClone(this.audEncoders.get(1)!),
    };
  }

  /** `enable` is a saved setting: enabled outputs reconnect once the unit is back up [INF]. */
  protected onReboot(): void {
    const up = Date.now() + this.rebootMs;
    for (const id of this.since.keys()) this.since.set(id, up);
  }

  handle(req: SimRequest): SimReply {
    if (this.requireAuth && !this.authorised(req.headers.authorization)) {
      this.record('login-refused');
      return { status: 401, headers: { 'www-authenticate': 'Basic realm="Videon"' }, body: 'Unauthorized' };
    }
    const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path; // trailing slash accepted
    const route = `${req.method} ${path}`;
    if (route === `GET ${API}/system`) return { body: this.system() };
    if (route === `GET ${API}/encoders`) return { body: this.encoderList() };
    if (route === `GET ${API}/out_streams`) {
      // The list's quirk: output_type is a bare string here.
      const out_streams = [...this.outStreams].map(([id, os]) => ({
        out_stream_id: id,
        output_type: os.output_type.value,
      }));
      return { body: { out_streams } };
    }
    const enc = /^\/v2\/encoders\/(vid|aud)_encoders(?:\/(\d+))?$/.exec(path);
    if (enc) return this.encoderRoute(req, enc[1] as Kind, enc[2]);
    const os = /^\/v2\/out_streams\/(\d+)$/.exec(path);
    if (os) {
      const id = Number(os[1]);
      const stored = this.outStreams.get(id);
      if (!stored) return notFound();
      if (req.method === 'GET') return { body: this.render(id, stored) };
      if (req.method === 'PUT') return this.putOutStream(id, stored, req.body);
      return notAllowed();
    }
    return notFound();
  }

  private authorised(header: string | undefined): boolean {
    const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    return decoded === `${this.username}:${this.password}`;
  }

  private system(): Record<string, unknown> {
    const common = {
      device_name: `videon-${this.id}`,
      ip_scheme: 'dhcp',
      net_connected: true,
      mac_address: 'ab:cd:ef:12:34:56',
      ip_address: '127.0.0.1',
      version: this.firmware,
      device_id: this.deviceId,
      clock: { ntp_server: 'time.nist.gov', timezone: 'UTC' },
    };
    if (this.systemShape === 'legacy') {
      return {
        ...common,
        static_network: { ip_address: '', subnet_mask: '', gateway: '', dns_address: '' },
        xml: { enabled: false, url: '', poll_interval: 10 },
      };
    }
    return {
      ...common,
      network: { subnet_mask: '255.0.0.0', gateway: '127.0.0.1', dns_addresses: ['127.0.0.53'] },
      static_network: { ip_address: '', subnet_mask: '', gateway: '', dns_addresses: [] },
    };
  }

  private encoderList(): Record<string, unknown> {
    return {
      vid_encoders: [...this.vidEncoders.keys()].map((id) => ({ vid_encoder_id: id })),
      aud_encoders: [...this.audEncoders.keys()].map((id) => ({ aud_encoder_id: id })),
      data_encoders: [],
    };
  }

  private encoderRoute(req: SimRequest, kind: Kind, idText: string | undefined): SimReply {
    const store: Map<number, VideoEncoder | AudioEncoder> =
      kind === 'vid' ? this.vidEncoders : this.audEncoders;
    if (idText === undefined) {
      if (req.method === 'GET') {
        const key = `${kind}_encoder_id`;
        return { body: { [`${kind}_encoders`]: [...store.keys()].map((id) => ({ [key]: id })) } };
      }
      if (req.method === 'POST') {
        // [DOC] create takes no body and answers 201 {"id": n}.
        const id = Math.max(0, ...store.keys()) + 1;
        store.set(id, kind === 'vid' ? defaultVideoEncoder() : defaultAudioEncoder());
        return { status: 201, body: { id } };
      }
      return notAllowed();
    }
    const id = Number(idText);
    const stored = store.get(id);
    if (!stored) return notFound();
    if (req.method === 'GET')
      return { body: { ...stored, [`${kind}_encoder_id`]: id, ...this.encoderStatus() } };
    if (req.method !== 'PUT') return notAllowed();
    return kind === 'vid'
      ? this.putEncoder(
          req.body,
          id,
          this.vidEncoders,
          VideoEncoderReply,
          'vid_encoder_id',
          checkVideoEncoder,
        )
      : this.putEncoder(
          req.body,
          id,
          this.audEncoders,
          AudioEncoderReply,
          'aud_encoder_id',
          checkAudioEncoder,
        );
  }

  private encoderStatus(): { status: string; seconds_in_status: number } {
    const live = [...this.outStreams.values()].some(
      (os) => os.enable && os.output_type.value !== 'thumbnail',
    );
    return { status: live ? 'ENCODING' : 'IDLE', seconds_in_status: 0 }; // [INF] values
  }

  private putEncoder<T extends TSchema, E extends VideoEncoder | AudioEncoder>(
    raw: string,
    id: number,
    store: Map<number, E>,
    wire: WireSchema<T>,
    idKey: string,
    check: (enc: E) => string | undefined,
  ): SimReply {
    const stored = store.get(id)!;
    const parsed = parseWholeObject(raw, stored, idKey);
    if (typeof parsed === 'string') return badRequest(parsed);
    if (!wire.check.Check(parsed)) return badRequest(firstSchemaError(wire, parsed));
    const next = parsed as unknown as E;
    const problem = check(next);
    if (problem) return badRequest(problem);
    // One step per changed field, so a reboot mid-write leaves some applied and some not.
    const target = stored as Record<string, unknown>;
    const changed = Object.keys(next).filter((k) => !isDeepStrictEqual(target[k], next[k as keyof E]));
    const steps = changed.map((k) => () => {
      target[k] = structuredClone(next[k as keyof E]);
    });
    if (steps.length && !this.applyWrite(steps, { [idKey]: id, fields: changed }))
      throw new ConnectionDropped();
    return { body: { ...stored, [idKey]: id, ...this.encoderStatus() } };
  }

  private putOutStream(id: number, stored: OutStream, raw: string): SimReply {
    const parsed = parseWholeObject(raw, stored, 'out_stream_id');
    if (typeof parsed === 'string') return badRequest(parsed);
    const candidate = { ...parsed, out_stream_id: id };
    if (!OutStreamReply.check.Check(candidate))
      return badRequest(firstSchemaError(OutStreamReply, candidate));
    const next: OutStream = candidate;
    const problem = checkOutStream(next, stored.output_type.value, {
      video: [...this.vidEncoders.keys()],
      audio: [...this.audEncoders.keys()],
    });
    if (problem) return badRequest(problem);

    // Settings and the enable flag arrive in one PUT but are different acts: a settings change is a
    // config write (subject to the write faults); flipping `enable` is the start/stop itself.
    const { enable: wasOn, ...oldSettings } = stored;
    const { enable: on, ...newSettings } = next;
    if (!isDeepStrictEqual(oldSettings, newSettings)) {
      const apply = () => Object.assign(stored, structuredClone(newSettings));
      if (!this.applyWrite([apply], { out_stream_id: id })) throw new ConnectionDropped();
    }
    if (on !== wasOn) {
      stored.enable = on;
      this.since.set(id, Date.now());
      this.record(on ? 'start' : 'stop', { out_stream_id: id });
    }
    return { body: this.render(id, stored) };
  }

  /** The detail as GET returns it: status fields derived from when `enable` last changed. */
  private render(id: number, os: OutStream): OutStream {
    const sub = os.output_type.value === 'srt' ? 'srt' : os.output_type.value === 'rtmp' ? 'rtmp' : undefined;
    if (!sub || !os.output_type[sub]) return structuredClone(os);
    const elapsed = Date.now() - (this.since.get(id) ?? Date.now());
    let status = 'STREAM_STOPPED'; // [INF] status names other than STREAM_RUNNING
    let inStatus = elapsed;
    if (os.enable) {
      const running = elapsed >= this.startDelayMs;
      status = running ? 'STREAM_RUNNING' : 'STREAM_CONNECTING';
      inStatus = running ? elapsed - this.startDelayMs : elapsed;
    }
    const copy = structuredClone(os);
    Object.assign(copy.output_type[sub]!, {
      status,
      seconds_in_status: Math.max(0, Math.floor(inStatus / 1000)),
    });
    return copy;
  }
}

/**
 * The body of a PUT: JSON (whatever the content-type says, as the device tolerates a missing one),
 * an object, free of read-only keys, and complete — a PUT replaces the whole object.
 */
function parseWholeObject(raw: string, stored: object, idKey: string): Record<string, unknown> | string {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return 'body is not valid JSON';
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'body must be a JSON object';
  const record = body as Record<string, unknown>;
  if (idKey in record) return `${idKey} is read-only`;
  const readOnly = findReadOnly(record, '');
  if (readOnly) return `${readOnly} is read-only`;
  for (const key of Object.keys(stored)) {
    if (key !== idKey && !(key in record)) return `missing field ${key}: PUT takes the whole object`;
  }
  return record;
}

function findReadOnly(value: unknown, path: string): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key;
    if ((READ_ONLY_KEYS as readonly string[]).includes(key)) return here;
    const deeper = findReadOnly(child, here);
    if (deeper) return deeper;
  }
  return undefined;
}

function firstSchemaError<T extends TSchema>(wire: WireSchema<T>, value: unknown): string {
  const [first] = wire.check.Errors(value);
  return first ? `${first.path.slice(1).replace(/\//g, '.') || 'body'}: ${first.message}` : 'invalid body';
}

const badRequest = (reason: string): SimReply => ({ status: 400, body: reason });
const notFound = (): SimReply => ({ status: 404, body: 'Not Found' });
const notAllowed = (): SimReply => ({ status: 405, body: 'Method Not Allowed' });

/** [DOC] body shape from the vendor's youtube.json, with factory-ish values. */
function defaultVideoEncoder(): VideoEncoder {
  return {
    name: 'Video Encoder 1',
    in_channel_id: 1,
    sync_group_id: 1,
    bitrate: { value: 4500 },
    bitrate_mode: { value: 'variable' },
    latency_mode: { value: 'HIGH' },
    keyframe_interval: { interval: 2000, unit: 'MILLISECONDS' },
    scaling_resolution: { value: 'RES_1920X1080' },
    limit_to_30_fps: false,
    klv_timestamp_enabled: false,
    codec: { value: 'H264', h264: { profile: { value: 'PROFILE_MAIN' } } },
  };
}

function defaultAudioEncoder(): AudioEncoder {
  return {
    name: 'Audio Encoder 1',
    in_channel_id: 1,
    codec: { value: 'mpeg4_aac' },
    mix_mode: { value: 'STEREO' },
    bitrate: { value: '128' },
    bitrate_mode: { value: 'variable' },
  };
}

const sources = () => ({
  video_sources: { video_source_ids: [1] },
  audio_sources: { audio_source_ids: [1] },
});

function rtmpSlot(id: number): OutStream {
  return {
    out_stream_id: id,
    enable: false,
    ...sources(),
    // The form the vendor's own sample writes, as a unit configured by it would hold.
    output_type: { value: 'rtmp', rtmp: { service: { value: GENERIC_RTMP, data: "{'url': ''}" } } },
  };
}

function srtSlot(id: number): OutStream {
  return {
    out_stream_id: id,
    enable: false,
    ...sources(),
    output_type: {
      value: 'srt',
      srt: {
        mode: { value: 'caller' },
        url: '',
        port: 9998,
        stream_id: '',
        latency_ms: 200,
        passphrase: '',
        encryption: { value: 'NONE' },
      },
    },
  };
}

function thumbnailSlot(id: number): OutStream {
  return { out_stream_id: id, enable: true, ...sources(), output_type: { value: 'thumbnail' } };
}

/**
 * A small client for nanoStream Cloud's bintu REST API (stream management), as publicly
 * documented: `POST /stream` creates a stream (optionally with live transcoding profiles for ABR)
 * and answers with its ingest data (RTMP URL + stream name); `GET /stream/{id}` gives its state
 * (idle, live, …). Auth is the `X-BINTU-APIKEY` header; the key is never logged or returned.
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type Dispatcher, Pool } from 'undici';

/** The part of a bintu stream object this service uses; bintu sends more, which is ignored. */
const BintuStreamWire = Type.Object({
  id: Type.String({ minLength: 1 }),
  state: Type.Optional(Type.String()),
  ingest: Type.Object({
    rtmp: Type.Object({ url: Type.String(), streamname: Type.String({ minLength: 1 }) }),
  }),
  tags: Type.Optional(Type.Array(Type.String())),
});
const checkStream = TypeCompiler.Compile(BintuStreamWire);

export interface BintuStream {
  readonly id: string;
  /** `idle`, `live`, … as bintu says; `unknown` when it says nothing. */
  readonly state: string;
  readonly rtmpUrl: string;
  /** The ingest stream name: the publishing secret. */
  readonly streamName: string;
  readonly tags: readonly string[];
}

export const BintuStreamState = Type.Object({
  streamId: Type.String(),
  state: Type.String({ description: 'As bintu reports it: idle, live, …' }),
});
export type BintuStreamState = Static<typeof BintuStreamState>;

/** bintu answered with an error, or not as documented, or not at all. */
export class BintuError extends Error {
  constructor(
    message: string,
    /** bintu's HTTP status; undefined when it could not be reached. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface BintuClientOptions {
  /** e.g. `https://bintu.nanocosmos.de` */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs?: number;
  /** Overrides the connection pool (tests). */
  readonly dispatcher?: Dispatcher;
}

export interface CreateStreamOptions {
  /** Live transcoding profiles for ABR, e.g. `vtrans2-852x480x800x25`. */
  readonly transcodes?: readonly string[];
  readonly tags?: readonly string[];
  readonly signal?: AbortSignal;
}

export class BintuClient {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;

  constructor(private readonly opts: BintuClientOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.dispatcher = opts.dispatcher ?? new Pool(this.origin, { connections: 8 });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Creates a stream; its ingest stream name is what a device sends to. */
  async createStream(opts: CreateStreamOptions = {}): Promise<BintuStream> {
    const body = {
      ...(opts.transcodes?.length ? { transcodes: opts.transcodes.map((profile) => ({ profile })) } : {}),
      ...(opts.tags?.length ? { tags: [...opts.tags] } : {}),
    };
    return toStream(await this.call('POST', '/stream', body, opts.signal));
  }

  /** A stream's current state. */
  async getStream(id: string, signal?: AbortSignal): Promise<BintuStream> {
    return toStream(await this.call('GET', `/stream/${encodeURIComponent(id)}`, undefined, signal));
  }

  close(): Promise<void> {
    return this.opts.dispatcher ? Promise.resolve() : this.dispatcher.close();
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    json: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    let status: number;
    let text: string;
    try {
      const res = await this.dispatcher.request({
        origin: this.origin,
        path: `${this.prefix}${path}`,
        method,
        headers: {
          accept: 'application/json',
          'x-bintu-apikey': this.opts.apiKey,
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        ...(signal ? { signal } : {}),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new BintuError(`bintu ${method} ${path} failed: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new BintuError(`bintu ${method} ${path}: HTTP ${status}, reply is not JSON`, status);
    }
    if (status >= 400)
      throw new BintuError(`bintu ${method} ${path}: HTTP ${status}: ${errorText(body)}`, status);
    return body;
  }
}

/** bintu's error body: `{ error: { message, code, userinfo? } }`. */
function errorText(body: unknown): string {
  const error = (body as { error?: { message?: unknown; code?: unknown } } | null)?.error;
  if (error && typeof error.message === 'string')
    return typeof error.code === 'number' ? `${error.message} (code ${error.code})` : error.message;
  return 'no error message';
}

function toStream(body: unknown): BintuStream {
  if (!checkStream.Check(body)) {
    const first = [...checkStream.Errors(body)][0];
    throw new BintuError(
      `bintu stream reply does not match the documented shape: ${first?.path || '/'} ${first?.message}`,
    );
  }
  return {
    id: body.id,
    state: body.state ?? 'unknown',
    rtmpUrl: body.ingest.rtmp.url,
    streamName: body.ingest.rtmp.streamname,
    tags: body.tags ?? [],
  };
}

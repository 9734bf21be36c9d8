/**
 * A small client for the encoder-fleet REST API, shared by the command-line tool and the web
 * dashboard: JSON in and out, the API key as a bearer token, the API's error shape as a typed error,
 * and the live event stream. Uses only fetch, so it runs in Node and in browsers.
 */
import { readSse } from './sse.js';

/** The API answered with its `{ error, message, details? }` shape (or something else non-2xx). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** No answer at all: refused, reset, DNS, timeout. */
export class UnreachableError extends Error {}

/** One fleet event as /v1/events sends it. */
export interface FleetEvent {
  readonly id: number;
  readonly type: string;
  readonly at: string;
  readonly deviceId?: string;
  readonly jobId?: string;
  readonly scheduleId?: string;
  readonly data: Record<string, unknown>;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Record<string, string | number | boolean | undefined>;
  /** Sent as is (a string) with this content type instead of JSON. */
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly apiKey?: string;
}

export class ApiClient {
  readonly baseUrl: string;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  url(path: string, query: RequestOptions['query'] = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, options);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A reply that is not JSON (an export), as text. */
  async text(path: string, query?: RequestOptions['query']): Promise<string> {
    return (await this.send('GET', path, query ? { query } : {})).text();
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, query ? { query } : {});
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body === undefined ? {} : { body });
  }

  /**
   * Follows /v1/events until `signal` aborts or the stream ends. Resumes after `since` when given.
   * Throws ApiError when the service refuses the stream.
   */
  async *events(
    query: { types?: string; selector?: string; since?: number } = {},
    signal?: AbortSignal,
  ): AsyncGenerator<FleetEvent> {
    const res = await this.send('GET', '/v1/events', {
      query,
      headers: { accept: 'text/event-stream' },
      ...(signal ? { signal } : {}),
    });
    if (!res.body) return;
    try {
      for await (const message of readSse(res.body)) yield JSON.parse(message.data) as FleetEvent;
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = options.contentType ? String(options.body) : JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(this.url(path, options.query), {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new UnreachableError(
        `cannot reach the service at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let reply: { error?: string; message?: string; details?: unknown } = {};
    try {
      reply = JSON.parse(text);
    } catch {
      // not the API's error shape (a proxy, a crash page)
    }
    throw new ApiError(
      res.status,
      reply.error ?? `http_${res.status}`,
      reply.message ?? (text.slice(0, 200) || res.statusText),
      reply.details,
    );
  }
}

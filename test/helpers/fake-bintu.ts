/**
 * A fake of nanoStream Cloud's bintu REST API on loopback, as publicly documented: `POST /stream`
 * (optional `transcodes: [{ profile }]` and `tags`) answers the stream with its ingest data,
 * `GET /stream/{id}` its state, `GET /stream?quantity=N` the newest streams; the `X-BINTU-APIKEY`
 * header is required; errors as `{ error: { message, code } }`. Tests steer it through its fields.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeStream {
  id: string;
  state: 'idle' | 'live';
  streamname: string;
  transcodes: string[];
  tags: string[];
  created_at: string;
}

export class FakeBintu {
  readonly streams = new Map<string, FakeStream>();
  /** Every request as received: method, path, API key, body. */
  readonly requests: { method: string; path: string; apiKey?: string; body?: unknown }[] = [];
  /** Answer the next create calls with HTTP 500 (counted down). */
  failCreates = 0;
  /** Answer creates with a reply missing its ingest data. */
  malformed = false;
  private server: Server | undefined;
  url = '';

  constructor(readonly apiKey = 'test-bintu-key-0123456789') {}

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://bintu');
    const apiKey = req.headers['x-bintu-apikey'] as string | undefined;
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return error(400, 'Wrong Data Type', 1004);
    }
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname + url.search,
      ...(apiKey ? { apiKey } : {}),
      ...(body !== undefined ? { body } : {}),
    });
    if (apiKey !== this.apiKey) return error(403, 'Access denied', 2001);

    if (req.method === 'POST' && url.pathname === '/stream') {
      if (this.failCreates > 0) {
        this.failCreates--;
        return error(500, 'Internal Server Error', 5000);
      }
      const b = (body ?? {}) as { transcodes?: { profile?: unknown }[]; tags?: unknown[] };
      if (
        b.transcodes !== undefined &&
        (!Array.isArray(b.transcodes) || b.transcodes.some((t) => typeof t?.profile !== 'string'))
      )
        return error(400, 'Wrong Data Type', 1004);
      const stream: FakeStream = {
        id: randomUUID(),
        state: 'idle',
        streamname: `${randomBytes(3).toString('hex').slice(0, 5).toUpperCase()}-${randomBytes(3).toString('hex').slice(0, 5)}`,
        transcodes: (b.transcodes ?? []).map((t) => String(t.profile)),
        tags: (b.tags ?? []).map(String),
        created_at: new Date().toISOString(),
      };
      this.streams.set(stream.id, stream);
      return { status: 200, body: this.malformed ? { id: stream.id, state: 'idle' } : view(stream) };
    }
    const one = /^\/stream\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && one) {
      const stream = this.streams.get(decodeURIComponent(one[1]!));
      return stream ? { status: 200, body: view(stream) } : error(404, 'Stream not found', 3001);
    }
    if (req.method === 'GET' && url.pathname === '/stream') {
      const quantity = Number(url.searchParams.get('quantity') ?? 10);
      return { status: 200, body: [...this.streams.values()].reverse().slice(0, quantity).map(view) };
    }
    return error(404, 'Not found', 1000);
  }
}

function view(s: FakeStream) {
  return {
    id: s.id,
    state: s.state,
    type: 'live',
    created_at: s.created_at,
    tags: s.tags,
    ingest: { rtmp: { url: 'rtmp://bintu-stream.nanocosmos.de:1935/live', streamname: s.streamname } },
    playout: {
      rtmp: [{ url: 'rtmp://bintu-stream.nanocosmos.de:80/play', streamname: s.streamname, type: 'live' }],
    },
    transcodes: s.transcodes.map((profile) => ({ profile })),
  };
}

function error(status: number, message: string, code: number) {
  return { status, body: { error: { message, code } } };
}

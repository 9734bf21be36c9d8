/** A minimal Server-Sent Events reader for tests (real HTTP, parses id/event/data). */
import { bearer, TEST_ADMIN_KEY } from './service.js';

export interface SseMessage {
  readonly id: number;
  readonly event: string;
  readonly data: any;
  readonly receivedAt: number;
}

export interface SseClient {
  readonly messages: SseMessage[];
  /** Resolves with the first message (already received or future) that matches. */
  waitFor(match: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const res = await fetch(url, {
    // The test services' admin key unless the caller gives its own `authorization`.
    headers: { accept: 'text/event-stream', ...bearer(TEST_ADMIN_KEY), ...headers },
    signal: controller.signal,
  });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: HTTP ${res.status} ${await res.text()}`);
  const messages: SseMessage[] = [];
  const waiters: { match: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
          }
          if (!fields.data) continue;
          const message = {
            id: Number(fields.id),
            event: fields.event ?? 'message',
            data: JSON.parse(fields.data),
            receivedAt: Date.now(),
          };
          messages.push(message);
          for (const w of [...waiters]) {
            if (w.match(message)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(message);
            }
          }
        }
      }
    } catch {
      // closed
    }
  })();
  return {
    messages,
    waitFor(match, timeoutMs = 10_000) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('SSE message did not arrive in time')), timeoutMs);
        waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    close: () => controller.abort(),
  };
}

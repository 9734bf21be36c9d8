/**
 * Replays recorded device exchanges through undici's MockAgent. One case = one folder
 * `test/fixtures/<vendor>/<operation>/<case>/case.json`, with the exchanges in call order and the
 * expected normalised result or typed error. A new firmware quirk is a new folder, not new code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { MockAgent } from 'undici';
import type { EncoderDriver } from '../../drivers/contract.js';

export interface RecordedExchange {
  readonly request: {
    readonly method: string;
    /** Path with query string, exactly as the driver sends it. */
    readonly path: string;
    /** When given, the request body must equal this (JSON deep-equal, or form fields, or text). */
    readonly body?: unknown;
    /** When given, each of these request headers must have exactly this value (names case-insensitive). */
    readonly headers?: Readonly<Record<string, string>>;
  };
  readonly reply?: {
    readonly status: number;
    readonly headers?: Record<string, string>;
    readonly body?: unknown;
  };
  /** Fail the request with this socket error code instead of replying (e.g. ECONNREFUSED). */
  readonly error?: string;
  /** Hold the reply this long (beyond the driver's time limit to provoke a timeout). */
  readonly delayMs?: number;
}

export interface ReplayCase {
  readonly description: string;
  /** Driver method to call. */
  readonly call: keyof EncoderDriver;
  readonly args?: unknown[];
  readonly credentials?: { username: string; password: string };
  readonly timeoutMs?: number;
  readonly exchanges: readonly RecordedExchange[];
  /** `result`: the normalised value (strings "<any>" match anything); `error`: class name + message part. */
  readonly expect: { readonly result?: unknown } | { readonly error: string; readonly message?: string };
}

export interface LoadedCase extends ReplayCase {
  readonly vendor: string;
  readonly operation: string;
  readonly name: string;
}

export const REPLAY_ORIGIN = { host: 'device.test', port: 8080 } as const;

export function loadCases(root: string, vendor: string): LoadedCase[] {
  const cases: LoadedCase[] = [];
  const vendorDir = join(root, vendor);
  for (const operation of readdirSync(vendorDir)) {
    const opDir = join(vendorDir, operation);
    if (!statSync(opDir).isDirectory()) continue;
    for (const name of readdirSync(opDir)) {
      const file = join(opDir, name, 'case.json');
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as ReplayCase;
      cases.push({ ...parsed, vendor, operation, name });
    }
  }
  return cases;
}

/** A MockAgent that answers exactly `exchanges`, in order; anything else fails the request. */
export function mockDevice(exchanges: readonly RecordedExchange[]): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(`http://${REPLAY_ORIGIN.host}:${REPLAY_ORIGIN.port}`);
  for (const ex of exchanges) {
    const interceptor = pool.intercept({
      method: ex.request.method,
      path: ex.request.path,
      ...(ex.request.headers ? { headers: ex.request.headers } : {}),
      ...(ex.request.body !== undefined
        ? { body: (sent: string) => bodyMatches(sent, ex.request.body) }
        : {}),
    });
    if (ex.error) {
      interceptor.replyWithError(Object.assign(new Error(`connect ${ex.error}`), { code: ex.error }));
      continue;
    }
    const reply = ex.reply ?? { status: 200 };
    const body =
      typeof reply.body === 'string' || reply.body === undefined
        ? (reply.body ?? '')
        : JSON.stringify(reply.body);
    const scope = interceptor.reply(reply.status, body, { headers: reply.headers ?? {} });
    if (ex.delayMs) scope.delay(ex.delayMs);
  }
  return agent;
}

function bodyMatches(sent: string, expected: unknown): boolean {
  if (typeof expected === 'string') return sent === expected;
  try {
    return isDeepStrictEqual(JSON.parse(sent), expected);
  } catch {
    // form-encoded bodies are compared field by field
    return isDeepStrictEqual(Object.fromEntries(new URLSearchParams(sent)), expected);
  }
}

/** Replaces "<any>" markers in an expected value with `anything`, for volatile fields (uptime). */
export function withAny(expected: unknown, anything: unknown): unknown {
  if (expected === '<any>') return anything;
  if (Array.isArray(expected)) return expected.map((e) => withAny(e, anything));
  if (expected && typeof expected === 'object') {
    return Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, withAny(v, anything)]));
  }
  return expected;
}

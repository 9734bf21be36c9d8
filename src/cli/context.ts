/** What every command needs: the API client (URL and key from flags or env) and the output mode. */
import type { Command } from 'commander';
import { ApiClient } from '../client/api-client.js';
import { UsageError } from './exit-codes.js';
import { createOutput, type Output } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

export interface Context {
  readonly client: ApiClient;
  readonly output: Output;
}

export function contextOf(command: Command): Context {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const url = opts.url ?? process.env.ENCODER_FLEET_URL ?? DEFAULT_URL;
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    throw new UsageError(`--url / ENCODER_FLEET_URL must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  const apiKey = opts.apiKey ?? process.env.ENCODER_FLEET_API_KEY;
  return {
    client: new ApiClient({ baseUrl: url, ...(apiKey ? { apiKey } : {}) }),
    output: createOutput(!!opts.json),
  };
}

/** Repeatable `--label k=v` → { k: v }. */
export function collectLabel(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`--label must be key=value, got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`expected a whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** Runs the built `encoder-fleet` CLI (dist/, built by the test global setup) as a child process. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestService } from './service.js';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The service's API key, once the service requires one (test helpers then carry it). */
export function apiKeyOf(svc: TestService): string | undefined {
  return svc.apiKey;
}

export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 30_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** runCli against a test service, with its URL (and key, when it has one) in the environment. */
export function cliFor(svc: TestService) {
  const key = apiKeyOf(svc);
  return (args: readonly string[], env: Record<string, string> = {}) =>
    runCli(args, { ENCODER_FLEET_URL: svc.url, ...(key ? { ENCODER_FLEET_API_KEY: key } : {}), ...env });
}

/** Whether the service built from this tree has the route (read from the checked-in OpenAPI document). */
export function hasRoute(path: string): boolean {
  const doc = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'openapi', 'openapi.json'), 'utf8'),
  );
  return path in doc.paths;
}

/**
 * Retries with exponential backoff and jitter for transient failures only. Permanent failures
 * (bad credentials, rejected or unsupported values) are recorded and never retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeviceError } from '../../drivers/contract.js';
import { type Attempt, toTaskError } from './task-error.js';

export interface RetryPolicy {
  /** Attempts in total, the first included. 1 = no retry. */
  readonly maxAttempts: number;
  /** Backoff before the first retry; doubles each time. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Enough to ride out a device reboot (1–2 s offline) and a brief network blip. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 10_000 };

/**
 * Delay before retry number `retry` (1-based): half fixed, half random ("equal jitter"), so devices
 * that failed together do not all retry in the same instant, yet none retries almost at once.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function isRetryable(err: unknown): boolean {
  if (isDeviceError(err)) return err.retryable;
  return (err as { retryable?: unknown }).retryable === true;
}

/**
 * Runs `fn` until it succeeds, fails permanently, or attempts run out. Every attempt is reported to
 * `onAttempt` (for the per-device attempt history). Aborting `signal` stops waiting at once.
 */
export async function withRetries<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  opts: { signal?: AbortSignal; onAttempt?: (attempt: Attempt) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    try {
      const value = await fn(attempt);
      opts.onAttempt?.({ at: new Date(started).toISOString(), durationMs: Date.now() - started });
      return value;
    } catch (err) {
      // Aborted before it reached the device (waiting for a slot): not an attempt at all.
      if (opts.signal?.aborted && err === opts.signal.reason) throw err;
      opts.onAttempt?.({
        at: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        error: toTaskError(err),
      });
      if (opts.signal?.aborted || attempt >= policy.maxAttempts || !isRetryable(err)) throw err;
      await sleep(backoffDelay(attempt, policy), undefined, { signal: opts.signal });
    }
  }
}

/**
 * Exit codes of `encoder-fleet`, a public interface for scripts (listed in the README and in
 * `encoder-fleet --help`).
 */
import { ApiError, UnreachableError } from '../client/api-client.js';

export const EXIT = {
  /** Done; a job ended with every device succeeded or unchanged. */
  ok: 0,
  /** A job ran but some or all devices failed (or it was aborted or canceled). */
  jobFailed: 1,
  /** Bad command line or unreadable input file. */
  usage: 2,
  /** The API refused the request (invalid input, conflict, stale version, unsupported config). */
  rejected: 3,
  /** The device, job, profile or schedule does not exist. */
  notFound: 4,
  /** No or wrong API key, or the key may not do this. */
  auth: 5,
  /** The service could not be reached or failed (5xx, timeout). */
  unavailable: 6,
} as const;

export const EXIT_CODE_HELP = `Exit codes:
  0  success (a job: every device succeeded or was unchanged)
  1  a job ran but devices failed, or it was aborted or canceled
  2  usage error (bad flags, unreadable file)
  3  the API refused the request (invalid input, conflict, unsupported config)
  4  not found
  5  authentication or permission refused (API key)
  6  service unreachable or failing (5xx)`;

/** A problem with what the user typed, found before any request. */
export class UsageError extends Error {}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof UnreachableError) return EXIT.unavailable;
  if (err instanceof ApiError) {
    if (err.status === 401 || err.status === 403) return EXIT.auth;
    if (err.status === 404) return EXIT.notFound;
    if (err.status >= 500) return EXIT.unavailable;
    return EXIT.rejected;
  }
  return EXIT.unavailable;
}

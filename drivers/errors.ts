/**
 * The one error module for device operations. Transport and library errors are translated into these
 * classes at the edge (the HTTP/MQTT layers); nothing above the drivers sees an undici or mqtt error.
 *
 * Every error names the device and vendor, says why, and says whether retrying could help:
 * transient failures (timeout, unreachable, garbled reply, HTTP 5xx) are retryable, a device's
 * considered answer (bad password, rejected value, unsupported setting) is not.
 */

export type DeviceErrorCode = 'auth' | 'unreachable' | 'timeout' | 'unsupported' | 'rejected' | 'protocol';

export interface DeviceRef {
  readonly deviceId: string;
  readonly vendor: string;
}

export abstract class DeviceError extends Error {
  abstract readonly code: DeviceErrorCode;
  abstract readonly retryable: boolean;
  readonly deviceId: string;
  readonly vendor: string;

  constructor(ref: DeviceRef, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.deviceId = ref.deviceId;
    this.vendor = ref.vendor;
  }

  /** The shape stored in job results and returned by the API (never contains secrets). */
  toJSON(): { type: DeviceErrorCode; message: string; retryable: boolean } {
    return { type: this.code, message: this.message, retryable: this.retryable };
  }
}

/** Raised when the device refuses the credentials (wrong password, locked account). */
export class DeviceAuthError extends DeviceError {
  readonly code = 'auth';
  readonly retryable = false;
}

/** Raised when no connection can be made or it drops (refused, reset, no route, DNS failure). */
export class DeviceUnreachableError extends DeviceError {
  readonly code = 'unreachable';
  readonly retryable = true;
}

/** Raised when the device does not answer within the configured time. */
export class DeviceTimeoutError extends DeviceError {
  readonly code = 'timeout';
  readonly retryable = true;
}

export interface ConfigProblem {
  /** Dotted path into the EncoderConfig, e.g. `target.protocol` or `video.fps`. */
  readonly field: string;
  readonly reason: string;
}

/** Raised before any write when the config asks for something this device cannot do. */
export class UnsupportedConfigError extends DeviceError {
  readonly code = 'unsupported';
  readonly retryable = false;
  readonly problems: readonly ConfigProblem[];

  constructor(ref: DeviceRef, problems: readonly ConfigProblem[]) {
    super(ref, problems.map((p) => `${p.field}: ${p.reason}`).join('; '));
    this.problems = problems;
  }
}

/** Raised when the device understood the request and said no; carries the device's own message. */
export class DeviceRejectedError extends DeviceError {
  readonly code = 'rejected';
  readonly retryable: boolean;
  readonly deviceMessage: string;

  /** `retryable` is true only for server-side failures (HTTP 5xx) that may pass on a second try. */
  constructor(ref: DeviceRef, deviceMessage: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(ref, `device rejected the request: ${deviceMessage}`, options);
    this.deviceMessage = deviceMessage;
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * Raised when a reply does not match the vendor's wire schema (junk, truncated, unexpected shape).
 * Retryable because devices under load do send truncated or garbled replies now and then; a firmware
 * whose replies never match fails the same way on every attempt and exhausts its retries quickly.
 */
export class DeviceProtocolError extends DeviceError {
  readonly code = 'protocol';
  readonly retryable = true;
}

export function isDeviceError(err: unknown): err is DeviceError {
  return err instanceof DeviceError;
}

/**
 * How a device's failure is recorded in a job result: a type from a closed set, the message, and
 * whether it was worth retrying. Never contains secrets (device errors never carry them).
 */
import { type Static, Type } from '@sinclair/typebox';
import { isDeviceError } from '../../drivers/contract.js';

export const TaskErrorType = Type.Union([
  Type.Literal('auth'),
  Type.Literal('unreachable'),
  Type.Literal('timeout'),
  Type.Literal('unsupported'),
  Type.Literal('rejected'),
  Type.Literal('protocol'),
  /** The device accepted the write but reads back something else. */
  Type.Literal('verification'),
  /** The device's effective config is incomplete or invalid (nothing was sent). */
  Type.Literal('validation'),
  Type.Literal('canceled'),
  Type.Literal('internal'),
]);

export const TaskError = Type.Object({
  type: TaskErrorType,
  message: Type.String(),
  retryable: Type.Boolean(),
  details: Type.Optional(Type.Unknown()),
});
export type TaskError = Static<typeof TaskError>;

/** One try at a device operation, kept in the task's attempt history. */
export const Attempt = Type.Object({
  at: Type.String(),
  durationMs: Type.Integer({ minimum: 0 }),
  error: Type.Optional(TaskError),
});
export type Attempt = Static<typeof Attempt>;

/** An engine-level failure that is not the device's own error. */
export class TaskFailure extends Error {
  constructor(
    readonly type: Exclude<
      TaskError['type'],
      'auth' | 'unreachable' | 'timeout' | 'unsupported' | 'rejected' | 'protocol'
    >,
    message: string,
    readonly retryable: boolean,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function toTaskError(err: unknown): TaskError {
  if (isDeviceError(err)) {
    const details = 'problems' in err ? (err as { problems: unknown }).problems : undefined;
    return {
      type: err.code,
      message: err.message,
      retryable: err.retryable,
      ...(details ? { details } : {}),
    };
  }
  if (err instanceof TaskFailure) {
    return {
      type: err.type,
      message: err.message,
      retryable: err.retryable,
      ...(err.details ? { details: err.details } : {}),
    };
  }
  if ((err as Error)?.name === 'AbortError' || (err as Error)?.name === 'TimeoutError') {
    return { type: 'canceled', message: 'canceled', retryable: false };
  }
  return { type: 'internal', message: (err as Error)?.message ?? String(err), retryable: false };
}

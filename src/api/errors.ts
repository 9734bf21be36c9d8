/**
 * Every error the API returns has one shape, `{ error, message, details? }`, and a correct status.
 * Nothing reaches a client as a 500 unless it is truly our bug, and then without internals.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type DeviceError, isDeviceError } from '../../drivers/contract.js';
import { SelectorError } from '../fleet/selector.js';
import { type TaskError, toTaskError } from '../fleet/task-error.js';
import { CursorError } from '../store/cursor.js';
import {
  ConflictError,
  ImportRejectedError,
  PreconditionFailedError,
  StoreNotFoundError,
} from '../store/errors.js';
import type { FieldError } from '../validation.js';

export const ErrorReply = Type.Object(
  {
    error: Type.String({
      description: 'Stable machine-readable code, e.g. bad_request, not_found, device_timeout.',
    }),
    message: Type.String({ description: 'What went wrong, for people.' }),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorReply', title: 'Error' },
);
export type ErrorReply = Static<typeof ErrorReply>;

/** An error the API means to return, with its status and code. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string, details?: readonly FieldError[]) {
    super(400, 'bad_request', message, details);
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, id: string) {
    super(404, 'not_found', `${what} ${JSON.stringify(id)} does not exist`);
  }
}

/** No API key, or one that is unknown or revoked. */
export class UnauthorizedError extends ApiError {
  constructor(message: string) {
    super(401, 'unauthorized', message);
  }
}

/** The key is valid but lacks the permission this needs (named in `details.permission`). */
export class ForbiddenError extends ApiError {
  constructor(permission: string, message: string) {
    super(403, 'forbidden', message, { permission });
  }
}

/** Request validation failed; thrown by the schema error formatter with every field named. */
export class ValidationFailed extends Error {
  readonly statusCode = 400;
  constructor(readonly fields: readonly FieldError[]) {
    super(fields.map((f) => `${f.field} ${f.reason}`).join('; '));
  }
}

const FAILURE_STATUS: Record<TaskError['type'], { status: number; code: string }> = {
  unsupported: { status: 422, code: 'unsupported_config' },
  rejected: { status: 422, code: 'device_rejected' },
  validation: { status: 422, code: 'invalid_config' },
  auth: { status: 502, code: 'device_auth_failed' },
  unreachable: { status: 502, code: 'device_unreachable' },
  protocol: { status: 502, code: 'device_protocol_error' },
  verification: { status: 502, code: 'device_verification_failed' },
  timeout: { status: 504, code: 'device_timeout' },
  canceled: { status: 409, code: 'canceled' },
  internal: { status: 500, code: 'internal' },
};

/** Maps a device's failure (as recorded in a job) to the reply a client sees for a single-device call. */
export function taskErrorReply(err: TaskError): { status: number; body: ErrorReply } {
  const mapped = FAILURE_STATUS[err.type];
  // A device answering 5xx is a gateway failure, not a refusal of the value.
  const status = err.type === 'rejected' && err.retryable ? 502 : mapped.status;
  const details = { retryable: err.retryable, ...(err.details ? { problems: err.details } : {}) };
  return { status, body: { error: mapped.code, message: err.message, details } };
}

export function deviceErrorReply(err: DeviceError): { status: number; body: ErrorReply } {
  const { status, body } = taskErrorReply(toTaskError(err));
  return {
    status,
    body: { ...body, details: { deviceId: err.deviceId, vendor: err.vendor, ...(body.details as object) } },
  };
}

export function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof ValidationFailed) {
    reply.code(400).send({ error: 'bad_request', message: err.message, details: err.fields });
    return;
  }
  if (err instanceof ApiError) {
    reply
      .code(err.statusCode)
      .send({ error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
    return;
  }
  if (err instanceof StoreNotFoundError) {
    reply.code(404).send({ error: 'not_found', message: err.message });
    return;
  }
  if (err instanceof ConflictError) {
    reply.code(409).send({ error: 'conflict', message: err.message, details: { field: err.field } });
    return;
  }
  if (err instanceof PreconditionFailedError) {
    reply.code(412).send({
      error: 'precondition_failed',
      message: err.message,
      details: { currentVersion: err.currentVersion },
    });
    return;
  }
  if (err instanceof ImportRejectedError) {
    reply.code(400).send({ error: 'import_rejected', message: err.message, details: err.problems });
    return;
  }
  if (err instanceof CursorError || err instanceof SelectorError) {
    reply.code(400).send({ error: 'bad_request', message: err.message });
    return;
  }
  if (isDeviceError(err)) {
    const { status, body } = deviceErrorReply(err);
    reply.code(status).send(body);
    return;
  }
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) {
    // fastify's own client errors: malformed JSON, body too large, unsupported media type …
    reply.code(status).send({ error: clientErrorCode(status), message: err.message });
    return;
  }
  request.log.error({ err }, 'unhandled error');
  reply.code(500).send({ error: 'internal', message: 'internal error; see the service log' });
}

function clientErrorCode(status: number): string {
  switch (status) {
    case 404:
      return 'not_found';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    default:
      return 'bad_request';
  }
}

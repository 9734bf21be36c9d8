/** Small pieces every route module uses: error responses, id params, ETag / If-Match. */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { BadRequestError } from '../errors.js';

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input; `details` names each field and why.',
  401: 'No or unknown API key.',
  403: 'The API key lacks the permission named in the message.',
  404: 'No such resource.',
  409: 'Conflicts with existing data (the field is named).',
  412: 'The resource changed since the given ETag (If-Match).',
  413: 'Request body too large.',
  422: 'Understood but cannot be done (unsupported config, device refused).',
  429: 'Too many requests for this API key.',
  502: 'The device failed or could not be reached.',
  504: 'The device did not answer in time.',
};

/**
 * Response schemas for the given error statuses (all share the ErrorReply shape). Keyed by content
 * type: errors are JSON even on routes that produce something else (the event stream, metrics).
 */
export function errors(...codes: number[]): Record<number, unknown> {
  return Object.fromEntries(
    codes.map((c) => [
      c,
      {
        description: ERROR_TEXT[c] ?? 'Error',
        content: { 'application/json': { schema: Type.Ref('ErrorReply') } },
      },
    ]),
  );
}

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export function etag(version: number): string {
  return `"${version}"`;
}

/** The version an If-Match header asks for, or undefined when there is none. */
export function ifMatch(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header === '*') return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(String(header).trim());
  if (!match)
    throw new BadRequestError('If-Match must be an ETag from this API, e.g. "3"', [
      { field: 'headers/if-match', reason: 'is not an ETag of this API' },
    ]);
  return Number(match[1]);
}

/**
 * Route option: serialise replies with JSON.stringify instead of the schema-compiled serialiser.
 * For large replies built field by field from typed records (nothing to strip): the compiled
 * serialiser allocates ~6× the size of its output, which at hundreds of device pages a second
 * becomes a garbage collection every few tens of milliseconds.
 */
export const plainJsonReplies = {
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
} as const;

/**
 * /v1/ingest/nanostream: the custom-webhook endpoint nanoStream Cloud calls when a stream is
 * published (200 allows it, 403 refuses it), answered from memory.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ProvisionReply, type StreamProvisioning } from '../../fleet/stream-provisioning.js';
import { BintuStreamState } from '../../ingest/bintu-client.js';
import type { IngestWatch } from '../../ingest/ingest-watch.js';
import { ProvisionRequest } from '../../ingest/provisioning.js';
import { FormError, parseForm, WEBHOOK_BODY_LIMIT, WebhookForm } from '../../ingest/webhook-form.js';
import { scopeOf } from '../../security/auth.js';
import { ApiError, BadRequestError } from '../errors.js';
import { EXAMPLE_INGEST_WEBHOOK, EXAMPLE_PROVISION, withExamples } from '../examples.js';
import type { Api } from '../server.js';
import { errors, IdParams } from './common.js';

const FORM = 'application/x-www-form-urlencoded';

export interface IngestRouteDeps {
  readonly watch: IngestWatch;
  /** Absent when no bintu API key is configured. */
  readonly bintu?: StreamProvisioning;
  /** When set, the webhook answers only calls carrying `?token=` equal to it. */
  readonly webhookToken?: string;
}

/** Compares in constant time, so the token cannot be guessed a character at a time. */
function sameToken(given: string | undefined, expected: string): boolean {
  const a = createHash('sha256')
    .update(given ?? '')
    .digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function ingestRoutes(app: Api, deps: IngestRouteDeps): void {
  const tags = ['ingest'];
  const bintu = () => {
    if (!deps.bintu)
      throw new ApiError(501, 'not_configured', 'the bintu API is not configured: set BINTU_API_KEY');
    return deps.bintu;
  };

  app.post(
    '/v1/ingest/nanostream/provision',
    {
      config: { permission: 'devices:manage' },
      schema: {
        operationId: 'provisionNanoStreamStreams',
        summary:
          'Create a nanoStream (bintu) stream for each device and configure the device with its stream name',
        description:
          "One bintu stream per device (optional live transcoding profiles for ABR), its stream name set as the device's `nanostream` target (overrides). With `profile`, the devices follow it and an apply job is started. A result per device; devices that already have a stream keep it. Needs BINTU_API_KEY (501 otherwise).",
        tags,
        body: withExamples(ProvisionRequest, EXAMPLE_PROVISION),
        response: { 200: ProvisionReply, ...errors(400, 403, 404, 422, 501) },
      },
    },
    async (request) => {
      // Provisioning resolves its devices over the whole fleet: not for a key limited to some.
      if (scopeOf(request))
        throw new ApiError(
          403,
          'forbidden',
          'a scoped API key cannot provision streams (it acts fleet-wide)',
        );
      return bintu().provision(request.body);
    },
  );

  app.get(
    '/v1/ingest/nanostream/devices/:id/stream',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'getNanoStreamStreamState',
        summary: "The state of the device's nanoStream stream, as bintu reports it (idle, live, …)",
        tags,
        params: IdParams,
        response: { 200: BintuStreamState, ...errors(404, 501, 502) },
      },
    },
    async (request) => bintu().streamState(request.params.id),
  );

  // Its own scope: this route takes forms, and anything else is a 400 naming the content type.
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      FORM,
      { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_req, body, done) => {
        try {
          done(null, parseForm(String(body)));
        } catch (err) {
          done(err instanceof FormError ? new BadRequestError(err.message) : (err as Error), undefined);
        }
      },
    );
    scope.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT },
      (req, _body, done) =>
        done(
          new BadRequestError(
            `content-type must be ${FORM}, not ${JSON.stringify(req.headers['content-type'] ?? '')}`,
            [{ field: 'headers/content-type', reason: `must be ${FORM}` }],
          ),
          undefined,
        ),
    );

    scope.post(
      '/v1/ingest/nanostream/webhook',
      {
        // nanoStream cannot send an API key: the route checks its own shared token instead.
        config: { permission: 'external' },
        schema: {
          operationId: 'nanostreamWebhook',
          summary: 'nanoStream Cloud custom ingest webhook: allow (200) or refuse (403) a published stream',
          description:
            "Called by nanoStream Cloud with a form-urlencoded POST on `publish`, `update_publish` and `publish_done`. 200 when a managed device is configured to send the stream `name` (and, where broadcast windows apply, inside its window); 403 otherwise. Each call also records whether the device's stream arrived: its status gains `ingest: confirmed | missing`.",
          tags: ['ingest'],
          consumes: [FORM],
          querystring: Type.Object(
            {
              token: Type.Optional(
                Type.String({
                  maxLength: 256,
                  description: 'The NANOSTREAM_WEBHOOK_TOKEN, when one is set.',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          body: withExamples(WebhookForm, EXAMPLE_INGEST_WEBHOOK),
          response: {
            200: Type.Object({ result: Type.Literal('allowed') }),
            403: { ...Type.Ref('ErrorReply'), description: 'No managed device sends this stream (now).' },
            ...errors(400, 401, 413),
          },
        },
      },
      async (request, reply) => {
        if (deps.webhookToken && !sameToken(request.query.token, deps.webhookToken))
          throw new ApiError(401, 'unauthorized', 'the webhook token is missing or wrong');
        const answer = deps.watch.handle(request.body.call, request.body.name);
        if (answer.allowed) return { result: 'allowed' as const };
        reply.code(403);
        return answer.reason === 'outside_window'
          ? { error: 'forbidden', message: 'the device sending this stream is outside its broadcast window' }
          : { error: 'forbidden', message: 'no managed device is configured to send this stream' };
      },
    );
  });
}

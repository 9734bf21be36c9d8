/**
 * /v1/ingest/nanostream: the custom-webhook endpoint nanoStream Cloud calls when a stream is
 * published (200 allows it, 403 refuses it), answered from memory.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { IngestWatch } from '../../ingest/ingest-watch.js';
import { FormError, parseForm, WEBHOOK_BODY_LIMIT, WebhookForm } from '../../ingest/webhook-form.js';
import { BadRequestError } from '../errors.js';
import type { Api } from '../server.js';
import { errors } from './common.js';

const FORM = 'application/x-www-form-urlencoded';

export function ingestRoutes(app: Api, deps: { watch: IngestWatch }): void {
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
        schema: {
          operationId: 'nanostreamWebhook',
          summary: 'nanoStream Cloud custom ingest webhook: allow (200) or refuse (403) a published stream',
          description:
            "Called by nanoStream Cloud with a form-urlencoded POST on `publish`, `update_publish` and `publish_done`. 200 when a managed device is configured to send the stream `name` (and, where broadcast windows apply, inside its window); 403 otherwise. Each call also records whether the device's stream arrived: its status gains `ingest: confirmed | missing`.",
          tags: ['ingest'],
          consumes: [FORM],
          body: WebhookForm,
          response: {
            200: Type.Object({ result: Type.Literal('allowed') }),
            403: { ...Type.Ref('ErrorReply'), description: 'No managed device sends this stream (now).' },
            ...errors(400, 413),
          },
        },
      },
      async (request, reply) => {
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

/** /v1/webhooks: signed event deliveries to your own endpoints, with a delivery log. */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import { FLEET_EVENT_TYPES } from '../../fleet/events.js';
import { selectorOf } from '../../fleet/inventory.js';
import type { WebhookDispatcher } from '../../fleet/webhook-dispatcher.js';
import { refusedAsBadRequest } from '../../security/network-guard.js';
import type { WebhookRecord, WebhookRepo } from '../../store/webhooks.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { EXAMPLE_WEBHOOK, EXAMPLE_WEBHOOK_PATCH, withExamples } from '../examples.js';
import type { Api } from '../server.js';
import { errors, IdParams } from './common.js';

const EventType = Type.Union(FLEET_EVENT_TYPES.map((t) => Type.Literal(t)));

const ReceiverUrl = Type.String({
  format: 'http-url',
  maxLength: 2048,
  description:
    'Where deliveries are POSTed. Refused (SSRF guard) when its host is, or resolves to at delivery, ' +
    'a link-local or cloud metadata, unspecified, multicast or broadcast address, or loopback unless ' +
    'ALLOW_DEVICE_NETWORKS lists it. An IP literal is checked here (400 naming body/url); a name at ' +
    "every delivery, where a refusal is the attempt's lastError. Redirects are not followed.",
});

const WebhookCreate = Type.Object(
  {
    url: ReceiverUrl,
    /** HMAC key; generated (and shown once, in the reply to this request) when left out. */
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
    types: Type.Array(EventType, { maxItems: 32, uniqueItems: true, default: [] }),
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const WebhookPatch = Type.Object(
  {
    url: Type.Optional(ReceiverUrl),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
    types: Type.Optional(Type.Array(EventType, { maxItems: 32, uniqueItems: true })),
    selector: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  secret: Type.Object({ set: Type.Literal(true) }),
  types: Type.Array(Type.String()),
  selector: Type.Optional(Type.String()),
  enabled: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const DeliveryView = Type.Object({
  id: Type.Integer(),
  eventId: Type.Integer(),
  eventType: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  lastStatus: Type.Optional(Type.Integer()),
  lastError: Type.Optional(Type.String()),
  nextAttemptAt: Type.String(),
  createdAt: Type.String(),
  deliveredAt: Type.Optional(Type.String()),
});

function view(h: WebhookRecord) {
  return {
    id: h.id,
    url: h.url,
    secret: { set: true as const },
    types: [...h.types],
    ...(h.selector ? { selector: h.selector } : {}),
    enabled: h.enabled,
    createdAt: h.createdAt,
    updatedAt: h.updatedAt,
  };
}

/**
 * The SSRF guard's verdict on a receiver URL whose host is an IP literal, as a 400 naming the field.
 * Names are not resolved here: they are checked at every delivery, for every address they resolve
 * to then, which a check now could not promise anyway (DNS rebinding).
 */
function checkReceiver(
  url: string,
  field: string,
  checkAddress: ((address: string) => void) | undefined,
): Promise<void> {
  let host: string;
  try {
    // The WHATWG parser is the one undici dials with: it turns `0xa9fea9fe` or `[::ffff:a9fe:a9fe]`
    // into the address that would really be called.
    host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    throw new BadRequestError(`${field}: not a valid URL`, [{ field, reason: 'not a valid URL' }]);
  }
  if (!checkAddress || !isIP(host)) return Promise.resolve();
  return refusedAsBadRequest(field, () => checkAddress(host));
}

export function webhookRoutes(
  app: Api,
  deps: {
    repo: WebhookRepo;
    dispatcher: WebhookDispatcher;
    /** The SSRF guard's check of a receiver address (`NetworkGuard.checkWebhook`). */
    checkAddress?: (address: string) => void;
  },
): void {
  const { repo, dispatcher } = deps;
  const tags = ['webhooks'];
  const find = async (id: string) => {
    const hook = await repo.get(id);
    if (!hook) throw new NotFoundError('webhook', id);
    return hook;
  };

  app.post(
    '/v1/webhooks',
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        operationId: 'createWebhook',
        summary: 'Subscribe a URL to events (signed with HMAC-SHA256)',
        tags,
        body: withExamples(WebhookCreate, EXAMPLE_WEBHOOK),
        response: {
          201: Type.Object({
            webhook: WebhookView,
            secret: Type.Optional(
              Type.String({ description: 'The generated secret; shown only in this reply.' }),
            ),
          }),
          ...errors(400),
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      if (body.selector) selectorOf(body.selector, 'body/selector');
      await checkReceiver(body.url, 'body/url', deps.checkAddress);
      const secret = body.secret ?? randomBytes(24).toString('base64url');
      const hook = await repo.create({ ...body, secret });
      await dispatcher.reload();
      reply.code(201);
      return { webhook: view(hook), ...(body.secret ? {} : { secret }) };
    },
  );

  app.get(
    '/v1/webhooks',
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        operationId: 'listWebhooks',
        summary: 'Webhook subscriptions',
        tags,
        response: { 200: Type.Object({ items: Type.Array(WebhookView) }) },
      },
    },
    async () => ({ items: (await repo.list()).map(view) }),
  );

  app.patch(
    '/v1/webhooks/:id',
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        operationId: 'updateWebhook',
        summary: 'Change a webhook',
        tags,
        params: IdParams,
        body: withExamples(WebhookPatch, EXAMPLE_WEBHOOK_PATCH),
        response: { 200: WebhookView, ...errors(400, 404) },
      },
    },
    async (request) => {
      await find(request.params.id);
      if (request.body.selector) selectorOf(request.body.selector, 'body/selector');
      if (request.body.url !== undefined)
        await checkReceiver(request.body.url, 'body/url', deps.checkAddress);
      const hook = await repo.update(request.params.id, request.body);
      await dispatcher.reload();
      return view(hook!);
    },
  );

  app.delete(
    '/v1/webhooks/:id',
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        operationId: 'deleteWebhook',
        summary: 'Remove a webhook',
        tags,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(404) },
      },
    },
    async (request, reply) => {
      if (!(await repo.delete(request.params.id))) throw new NotFoundError('webhook', request.params.id);
      await dispatcher.reload();
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      config: { permission: 'webhooks:manage' },
      schema: {
        operationId: 'listWebhookDeliveries',
        summary: 'Delivery log of a webhook, newest first',
        tags,
        params: IdParams,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: { 200: Type.Object({ items: Type.Array(DeliveryView) }), ...errors(404) },
      },
    },
    async (request) => {
      await find(request.params.id);
      const items = await repo.deliveries(request.params.id, request.query.limit);
      return { items: items.map(({ body: _body, webhookId: _hook, ...rest }) => rest) };
    },
  );
}

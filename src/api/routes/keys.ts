/** /v1/keys: API keys. A key is shown once, in the reply that makes it; the store keeps its hash. */
import { Type } from '@sinclair/typebox';
import { selectorOf } from '../../fleet/inventory.js';
import { formatSelector } from '../../fleet/selector.js';
import { generateApiKey } from '../../security/api-keys.js';
import { noteAudit } from '../../security/audit-trail.js';
import { Role } from '../../security/permissions.js';
import type { ApiKeyRepo } from '../../store/api-keys.js';
import { ApiError, NotFoundError } from '../errors.js';
import { EXAMPLE_KEY, withExamples } from '../examples.js';
import type { Api } from '../server.js';
import { KeyView, keyView } from '../views.js';
import { errors, IdParams } from './common.js';

const KeyCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'Who or what uses the key.' }),
    role: Role,
    scope: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: 'Label selector limiting the key to matching devices, e.g. `site=berlin`.',
      }),
    ),
  },
  { additionalProperties: false },
);

export function keyRoutes(app: Api, keys: ApiKeyRepo): void {
  const tags = ['keys'];
  const config = { permission: 'keys:manage' as const };

  app.post(
    '/v1/keys',
    {
      config,
      schema: {
        operationId: 'createKey',
        summary: 'Make an API key (the key is in this reply only)',
        tags,
        body: withExamples(KeyCreate, EXAMPLE_KEY),
        response: {
          201: Type.Object({
            key: Type.Ref(KeyView),
            secret: Type.String({ description: 'The API key. Shown once: store it now.' }),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const { name, role, scope } = request.body;
      const canonical = scope ? formatSelector(selectorOf(scope, 'body/scope')) : undefined;
      const material = generateApiKey();
      const key = await keys.create({
        name,
        role,
        ...(canonical ? { scope: canonical } : {}),
        prefix: material.prefix,
        hash: material.hash,
        source: 'api',
        ...(request.principal ? { createdBy: request.principal.keyId } : {}),
      });
      noteAudit(request, { detail: { keyId: key.id, role } });
      reply.code(201);
      return { key: keyView(key), secret: material.secret };
    },
  );

  app.get(
    '/v1/keys',
    {
      config,
      schema: {
        operationId: 'listKeys',
        summary: 'API keys (never the keys themselves)',
        tags,
        querystring: Type.Object(
          { revoked: Type.Boolean({ default: false, description: 'Include revoked keys.' }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(Type.Ref(KeyView)) }), ...errors(401, 403) },
      },
    },
    async (request) => ({
      items: (await keys.list({ includeRevoked: request.query.revoked })).map(keyView),
    }),
  );

  app.get(
    '/v1/keys/:id',
    {
      config,
      schema: {
        operationId: 'getKey',
        summary: 'An API key',
        tags,
        params: IdParams,
        response: { 200: Type.Ref(KeyView), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const key = await keys.get(request.params.id);
      if (!key) throw new NotFoundError('key', request.params.id);
      return keyView(key);
    },
  );

  app.delete(
    '/v1/keys/:id',
    {
      config,
      schema: {
        operationId: 'revokeKey',
        summary: 'Revoke an API key (refused at once, everywhere)',
        tags,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const key = await keys.get(request.params.id);
      if (!key || key.revokedAt) throw new NotFoundError('key', request.params.id);
      const admins = (await keys.list()).filter((k) => k.role === 'admin' && !k.scope);
      if (admins.length === 1 && admins[0]!.id === key.id) {
        throw new ApiError(
          409,
          'last_admin_key',
          'this is the last unscoped admin key; make another one first',
        );
      }
      await keys.revoke(key.id, request.principal?.keyId);
      noteAudit(request, { detail: { keyId: key.id } });
      reply.code(204);
      return null;
    },
  );
}

/**
 * The HTTP server: strict validation (every field error named, no silent stripping, no type
 * guessing in JSON bodies), one error shape, the OpenAPI document generated from the route schemas.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import type { PublicEndpoint } from '../config.js';
import { installAuditTrail } from '../security/audit-trail.js';
import { installAuth } from '../security/auth.js';
import type { ApiKeyRepo } from '../store/api-keys.js';
import type { AuditLog } from '../store/audit.js';
import { compileValidator, createAjv, formatErrors } from '../validation.js';
import { ApiError, type ErrorReply, errorHandler, ValidationFailed } from './errors.js';
import { completeErrorResponses, finishDocument, SECURITY_SCHEMES } from './openapi.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { API_VERSION } from './version.js';

export type Api = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Largest JSON body accepted by default; the import route raises its own limit. */
export const BODY_LIMIT_BYTES = 256 * 1024;

export interface ServerSecurity {
  readonly keys: ApiKeyRepo;
  readonly audit: AuditLog;
  /** Endpoints answering without a key. */
  readonly publicEndpoints: ReadonlySet<PublicEndpoint>;
  /** Requests per minute per key; 0 = no limit. */
  readonly rateLimitPerMinute: number;
}

const DOCS_PREFIX = '/docs';

export async function createServer(logger: Logger, security: ServerSecurity): Promise<Api> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // One log line per request, from the onResponse hook below, at a level that depends on the status.
    logController: new LogController({ disableRequestLogging: true }),
    // Reject duplicate or prototype-polluting keys rather than guessing.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Path parameters up to 200 characters reach the route schemas (which name the field);
    // longer ones are refused by the router, in the API's own error shape.
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: (err, _request, reply) => {
      const status = err.statusCode ?? 400;
      const body: ErrorReply = {
        error: status === 414 ? 'uri_too_long' : 'bad_request',
        message: err.message,
      };
      (reply as unknown as { code(status: number): { send(body: ErrorReply): void } })
        .code(status)
        .send(body);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const bodyAjv = createAjv({ coerce: false });
  const textAjv = createAjv({ coerce: true });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : textAjv;
    return ajv.compile(schema);
  });
  app.setSchemaErrorFormatter((errors, dataVar) => new ValidationFailed(formatErrors(errors, dataVar)));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
  app.addHook('onResponse', (request, reply, done) => {
    const level = reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'info' : 'debug';
    request.log[level](
      {
        method: request.method,
        url: request.routeOptions.url ?? request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
    done();
  });

  // Security headers on every reply, refusals included (so before the key check).
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"], upgradeInsecureRequests: null },
    },
    // Plain HTTP on loopback or behind a TLS-terminating proxy: HSTS is that proxy's business.
    strictTransportSecurity: false,
  });
  // Strict query strings and path parameters on every route, as the body schemas are: a misspelt
  // or unknown parameter is a 400 naming it, never silently ignored (a route that takes no query
  // parameters refuses any).
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return;
    const strict = (part: unknown) =>
      part && typeof part === 'object' && !('additionalProperties' in part)
        ? { ...part, additionalProperties: false }
        : part;
    route.schema = {
      ...route.schema,
      querystring: strict(route.schema.querystring ?? { type: 'object', properties: {} }),
      ...(route.schema.params ? { params: strict(route.schema.params) } : {}),
    };
  });
  const docsAccess = security.publicEndpoints.has('docs') ? 'public' : 'service:read';
  installAuth(app, {
    keys: security.keys,
    defaultAccess: (url) => (url.startsWith(DOCS_PREFIX) ? docsAccess : undefined),
  });
  if (security.rateLimitPerMinute > 0) {
    // Route-level hooks run after the key check above, so limits count per key (per address without one).
    await app.register(rateLimit, {
      max: security.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => request.principal?.keyId ?? request.ip,
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          429,
          'rate_limited',
          `more than ${context.max} requests per minute with this API key; retry in ${Math.ceil(context.ttl / 1000)} s`,
        ),
    });
  }
  installAuditTrail(app, security.audit);

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  app.addHook('onRoute', completeErrorResponses());
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'encoder-fleet',
        version: API_VERSION,
        description:
          'Control a fleet of hardware live-video encoders (Osprey Talon, Videon, Teradek) over their own web APIs.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      servers: [{ url: 'http://localhost:8080', description: 'local service' }],
      components: {
        securitySchemes: {
          bearerAuth: {
            ...SECURITY_SCHEMES.bearerAuth,
            description:
              'An API key (`Authorization: Bearer efk_…`), made with POST /v1/keys or `npm run keys -- create`.',
          },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    transformObject: (document) =>
      finishDocument('openapiObject' in document ? document.openapiObject : document.swaggerObject),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true }, config: { permission: docsAccess } }, async () =>
    app.swagger(),
  );
  return app;
}

/** Validates a value with the API's own rules, for inputs that do not arrive as a request body. */
export function bodyValidator<T>(schema: object, prefix: string) {
  return compileValidator<T>(createAjv({ coerce: false }), schema, prefix);
}

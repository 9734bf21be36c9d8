/**
 * The HTTP server: strict validation (every field error named, no silent stripping, no type
 * guessing in JSON bodies), one error shape, the OpenAPI document generated from the route schemas.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { compileValidator, createAjv, formatErrors } from '../validation.js';
import { errorHandler, ValidationFailed } from './errors.js';
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

export async function createServer(logger: Logger): Promise<Api> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // One log line per request, from the onResponse hook below, at a level that depends on the status.
    logController: new LogController({ disableRequestLogging: true }),
    // Reject duplicate or prototype-polluting keys rather than guessing.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
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
      components: { securitySchemes: SECURITY_SCHEMES },
      security: [{ bearerAuth: [] }],
    },
    transformObject: (document) =>
      finishDocument('openapiObject' in document ? document.openapiObject : document.swaggerObject),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** Validates a value with the API's own rules, for inputs that do not arrive as a request body. */
export function bodyValidator<T>(schema: object, prefix: string) {
  return compileValidator<T>(createAjv({ coerce: false }), schema, prefix);
}

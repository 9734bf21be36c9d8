/**
 * Completes the generated OpenAPI document: the error responses each route can return, the bearer
 * security scheme, and a post-pass that rewrites the few JSON Schema (draft-07) keywords our
 * validators use into their OpenAPI 3.0 equivalents, so a strict linter accepts the document.
 */
import type { RouteOptions } from 'fastify';
import { errors } from './routes/common.js';

/** Declared once for the whole API; routes that need no key override `security` with `[]`. */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key, sent as `Authorization: Bearer <key>`.',
  },
} as const;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

type RouteSchema = NonNullable<RouteOptions['schema']> & { response?: Record<string, unknown> };

/**
 * onRoute hook: adds the `{ error, message, details? }` responses the framework itself produces,
 * which routes do not spell out: 400 for any validated input or malformed JSON, 413 and 415 for
 * request bodies. `always` adds statuses every route can return (e.g. 401 once keys are required).
 */
export function completeErrorResponses(always: readonly number[] = []) {
  return (route: RouteOptions): void => {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema || (schema as { hide?: boolean }).hide || !schema.response) return;
    const methods = ([] as string[]).concat(route.method);
    const statuses = new Set(always);
    const writes = methods.some((m) => WRITE_METHODS.has(m));
    if (writes || schema.body) for (const s of [400, 413, 415]) statuses.add(s);
    if (schema.querystring || schema.params || schema.headers) statuses.add(400);
    const missing = [...statuses].filter((s) => !(String(s) in schema.response!));
    if (missing.length) schema.response = { ...schema.response, ...errors(...missing) };
  };
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * transformObject for @fastify/swagger: OpenAPI 3.0 has no numeric exclusiveMinimum, no `examples`
 * array and no `dependencies` in schema objects; tagged unions get named branches and a mapping,
 * and component schemas nothing refers to are dropped.
 */
export function finishDocument(document: Json): Json {
  const doc = structuredClone(document);
  const components = ((doc.components as Json | undefined) ?? {}) as Json;
  const schemas = ((components.schemas as Json | undefined) ?? {}) as Json;
  walk(doc, (node) => nameUnionBranches(node, schemas));
  walk(doc, toOpenApi30);
  dropUnused(doc, schemas);
  return doc;
}

function walk(node: unknown, visit: (node: Json) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
  } else if (isObject(node)) {
    visit(node);
    for (const value of Object.values(node)) walk(value, visit);
  }
}

function toOpenApi30(node: Json): void {
  for (const [bound, exclusive] of [
    ['minimum', 'exclusiveMinimum'],
    ['maximum', 'exclusiveMaximum'],
  ] as const) {
    if (typeof node[exclusive] === 'number') {
      node[bound] = node[exclusive];
      node[exclusive] = true;
    }
  }
  // A media type's `examples` is a map; only a schema's is an array.
  if (Array.isArray(node.examples)) {
    if (node.example === undefined && node.examples.length) node.example = node.examples[0];
    delete node.examples;
  }
  if (isObject(node.dependencies)) {
    const pairs = Object.entries(node.dependencies)
      .map(([field, needs]) => `\`${field}\` needs ${([] as string[]).concat(needs as string[]).join(', ')}`)
      .join('; ');
    node.description = [node.description, `Together: ${pairs}.`].filter(Boolean).join(' ');
    node['x-dependencies'] = node.dependencies;
    delete node.dependencies;
  }
}

/** Moves titled inline branches of a discriminated `oneOf` into components, with a mapping. */
function nameUnionBranches(node: Json, schemas: Json): void {
  const discriminator = node.discriminator;
  if (!isObject(discriminator) || !Array.isArray(node.oneOf)) return;
  const tag = String(discriminator.propertyName);
  const mapping: Record<string, string> = {};
  node.oneOf = node.oneOf.map((branch: unknown) => {
    if (!isObject(branch) || typeof branch.title !== 'string') return branch;
    const name = branch.title;
    const existing = schemas[name];
    if (existing && JSON.stringify(existing) !== JSON.stringify(branch)) return branch;
    schemas[name] = branch;
    const ref = `#/components/schemas/${name}`;
    const property = (branch.properties as Json | undefined)?.[tag] as Json | undefined;
    const value = property?.const ?? (property?.enum as unknown[] | undefined)?.[0];
    if (typeof value === 'string') mapping[value] = ref;
    return { $ref: ref };
  });
  if (Object.keys(mapping).length) node.discriminator = { ...discriminator, mapping };
}

function dropUnused(doc: Json, schemas: Json): void {
  for (;;) {
    const text = JSON.stringify(doc);
    const unused = Object.keys(schemas).filter((name) => !text.includes(`"#/components/schemas/${name}"`));
    if (!unused.length) return;
    for (const name of unused) delete schemas[name];
  }
}

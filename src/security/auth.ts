/**
 * Authentication and authorisation for every route: an `Authorization: Bearer <key>` header is
 * looked up (by its SHA-256) in the store on every request — no cache, so a revoked key is refused
 * at once, on every replica — and the route's declared permission is checked against the key's role.
 *
 * A route must declare what it needs in `config.permission` (see permissions.ts); registering one
 * that does not fails at start-up, so a new route cannot slip through unprotected.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../api/errors.js';
import { type Labelled, matches, parseSelector, type Selector } from '../fleet/selector.js';
import type { ApiKeyRecord, ApiKeyRepo } from '../store/api-keys.js';
import { bearerToken, hashApiKey } from './api-keys.js';
import { type Permission, type Principal, type RouteAccess, refusal } from './permissions.js';

export interface AuthOptions {
  readonly keys: ApiKeyRepo;
  /** Access for routes registered by plugins that cannot declare it (the API docs). */
  readonly defaultAccess?: (url: string) => RouteAccess | undefined;
}

/** A registered route and what it needs (for tests and tools that check every route). */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
  readonly schema?: Readonly<Record<string, unknown>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered so far, with its declared access. */
    readonly routeTable: RouteEntry[];
  }
}

/** Adds the checks; call before any route is registered. */
export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const declared = route.config?.permission ?? opts.defaultAccess?.(route.url);
    if (!declared) {
      throw new Error(
        `route ${route.method} ${route.url} declares no permission: add config.permission (see src/security/permissions.ts)`,
      );
    }
    route.config = { ...route.config, permission: declared };
    if (route.schema && !route.schema.hide) route.schema = documented(route.schema, declared);
    for (const method of [route.method].flat()) {
      table.push({
        method,
        url: route.url,
        access: declared,
        ...(route.schema ? { schema: route.schema as Record<string, unknown> } : {}),
      });
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config?.permission;
    if (access === 'public' || access === 'external') return;
    const token = bearerToken(request.headers.authorization);
    let why = 'an API key is required: send Authorization: Bearer <key>';
    const key = token ? await opts.keys.byHash(hashApiKey(token)) : undefined;
    if (token) why = key ? 'this API key has been revoked' : 'unknown API key';
    if (!key || key.revokedAt) {
      reply.header('www-authenticate', 'Bearer realm="encoder-fleet"');
      throw new UnauthorizedError(why);
    }
    request.principal = principalOf(key);
    // Unknown routes (access undefined) only need a valid key; the 404 follows.
    if (access) requirePermission(request, access);
  });
}

/** The OpenAPI operation says what it needs: no key, or the permission. */
function documented<S extends { description?: string }>(schema: S, access: RouteAccess): S {
  if (access === 'public' || access === 'external') return { ...schema, security: [] };
  const note = `Needs permission \`${access}\`.`;
  return { ...schema, description: schema.description ? `${schema.description}\n\n${note}` : note };
}

export function principalOf(key: ApiKeyRecord): Principal {
  return {
    keyId: key.id,
    keyName: key.name,
    role: key.role,
    ...(key.scope ? { scope: parseSelector(key.scope), scopeText: key.scope } : {}),
  };
}

/** Throws 403 naming the permission unless the caller has it (for checks that depend on the body). */
export function requirePermission(request: FastifyRequest, permission: Permission): void {
  const principal = request.principal;
  if (!principal) return;
  const why = refusal(principal, permission);
  if (why) throw new ForbiddenError(permission, why);
}

/** The caller's device scope; undefined when the caller may see the whole fleet. */
export function scopeOf(request: FastifyRequest): Selector | undefined {
  return request.principal?.scope;
}

/** Whether the caller may see and act on this device. */
export function inScope(request: FastifyRequest, device: Labelled): boolean {
  const scope = scopeOf(request);
  return !scope || matches(scope, device);
}

/**
 * Roles and permissions. Every route declares the one permission it needs in its route config
 * (`config: { permission: 'devices:operate' }`); a route without one cannot be registered.
 *
 *   viewer    reads everything a key's scope allows
 *   operator  + starts and stops streams, applies configs, runs and cancels jobs and schedules
 *   admin     + devices and their credentials, profiles, webhooks, API keys, reboots, the audit log
 *
 * A key may be scoped to a label selector (`site=berlin`): it then sees and touches only matching
 * devices, and cannot use fleet-wide permissions at all (a profile or webhook change reaches devices
 * outside its scope; a key it made could be unscoped).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { Selector } from '../fleet/selector.js';

export const Role = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')], {
  description: 'viewer: read; operator: + start/stop/apply, jobs, schedules; admin: everything.',
});
export type Role = Static<typeof Role>;
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

export type Permission =
  /** Read devices, profiles, jobs, events, schedules, the fleet summary. */
  | 'fleet:read'
  /** Service health and metrics (when not public). */
  | 'service:read'
  /** Start, stop, apply configs; run, cancel and schedule jobs on existing devices. */
  | 'devices:operate'
  | 'devices:reboot'
  /**
   * Schedules name devices by a selector resolved when each run fires, over the whole fleet, so
   * they are fleet-wide: a scoped key can neither see nor make one.
   */
  | 'schedules:read'
  | 'schedules:manage'
  /** Add, change, import and remove devices (credentials included). */
  | 'devices:manage'
  | 'profiles:manage'
  | 'webhooks:manage'
  | 'keys:manage'
  | 'audit:read';

/** The least role that has each permission. */
const LEAST_ROLE: Record<Permission, Role> = {
  'fleet:read': 'viewer',
  'service:read': 'viewer',
  'devices:operate': 'operator',
  'devices:reboot': 'admin',
  'schedules:read': 'viewer',
  'schedules:manage': 'operator',
  'devices:manage': 'admin',
  'profiles:manage': 'admin',
  'webhooks:manage': 'admin',
  'keys:manage': 'admin',
  'audit:read': 'admin',
};
export const PERMISSIONS = Object.keys(LEAST_ROLE) as Permission[];

/** Permissions whose effect is not limited to some devices: never granted to a scoped key. */
const FLEET_WIDE: ReadonlySet<Permission> = new Set([
  'schedules:read',
  'schedules:manage',
  'service:read',
  'profiles:manage',
  'webhooks:manage',
  'keys:manage',
  'audit:read',
]);

/**
 * What a route needs: a permission; `public` (no key at all); or `external`, for a route that
 * authenticates its callers itself (e.g. a shared-secret webhook from an ingest platform) and so is
 * not asked for an API key.
 */
export type RouteAccess = Permission | 'public' | 'external';

/** Who is calling: the API key, its role and its scope. */
export interface Principal {
  readonly keyId: string;
  readonly keyName: string;
  readonly role: Role;
  /** Devices this key is limited to; undefined = the whole fleet. */
  readonly scope?: Selector;
  /** The scope as the key was given it, for messages. */
  readonly scopeText?: string;
}

/** Why `principal` may not use `permission`, or undefined when it may. */
export function refusal(principal: Principal, permission: Permission): string | undefined {
  const needed = LEAST_ROLE[permission];
  if (ROLES.indexOf(principal.role) < ROLES.indexOf(needed)) {
    return `permission "${permission}" is needed (role ${needed} or above); this key has role ${principal.role}`;
  }
  if (principal.scope && FLEET_WIDE.has(permission)) {
    return `permission "${permission}" is fleet-wide and this key is scoped to "${principal.scopeText}"`;
  }
  return undefined;
}

export function rolePermissions(role: Role, scoped = false): Permission[] {
  const principal = { keyId: '', keyName: '', role, ...(scoped ? { scope: [], scopeText: '' } : {}) };
  return PERMISSIONS.filter((p) => !refusal(principal, p));
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a caller needs to use this route (see src/security/permissions.ts). Required. */
    permission?: RouteAccess;
  }
  interface FastifyRequest {
    /** The authenticated caller; absent on public and externally authenticated routes. */
    principal?: Principal;
  }
}

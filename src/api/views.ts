/**
 * What the API shows of stored things. Every secret goes through `maskSecret` here, and the
 * response schemas below declare secret fields as `{ set, last4 }` objects, so the serializer would
 * drop a raw secret string even if one slipped through.
 */
import { type Static, Type } from '@sinclair/typebox';
import { DeviceTls } from '../../drivers/contract.js';
import { maskSecret } from '../../drivers/converge.js';
import { ObservedState } from '../fleet/observed.js';
import { Role, rolePermissions } from '../security/permissions.js';
import type { ApiKeyRecord } from '../store/api-keys.js';
import type { DeviceRecord } from '../store/devices.js';
import type { ProfileRecord } from '../store/profiles.js';
import { mapTargetSecrets } from '../store/secret-fields.js';

export const SecretView = Type.Object(
  { set: Type.Literal(true), last4: Type.Optional(Type.String({ maxLength: 4 })) },
  {
    $id: 'SecretView',
    title: 'SecretView',
    description: 'A secret is never returned: only that it is set, and at most its last 4 characters.',
  },
);

const secretRef = Type.Ref(SecretView);

export const TargetView = Type.Object(
  {
    /** Absent in overrides that change only some fields of the target. */
    protocol: Type.Optional(Type.String()),
    url: Type.Optional(Type.String()),
    streamKey: Type.Optional(secretRef),
    host: Type.Optional(Type.String()),
    port: Type.Optional(Type.Integer()),
    mode: Type.Optional(Type.String()),
    streamId: Type.Optional(secretRef),
    latencyMs: Type.Optional(Type.Integer()),
    passphrase: Type.Optional(secretRef),
    bearerToken: Type.Optional(secretRef),
    ingest: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    streamName: Type.Optional(secretRef),
  },
  { $id: 'TargetView', title: 'TargetView' },
);

const AvView = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]));

const RenditionView = Type.Object({
  target: Type.Optional(Type.Ref(TargetView)),
  video: Type.Optional(AvView),
  audio: Type.Optional(AvView),
});

export const ConfigView = Type.Object(
  {
    target: Type.Optional(Type.Ref(TargetView)),
    video: Type.Optional(AvView),
    audio: Type.Optional(AvView),
    renditions: Type.Optional(Type.Array(RenditionView)),
  },
  { $id: 'ConfigView', title: 'ConfigView', description: 'A config as shown: secrets masked.' },
);
export type ConfigView = Static<typeof ConfigView>;

/** Masks secret target fields of any config-shaped value (its target and each rendition's). */
export function maskConfig(config: unknown): ConfigView | undefined {
  if (!config || typeof config !== 'object') return undefined;
  return mapTargetSecrets(config, maskSecret) as ConfigView;
}

export const DeviceView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    vendor: Type.String(),
    host: Type.String(),
    port: Type.Integer(),
    tls: DeviceTls,
    /** Set when TLS verification is switched off for this device. */
    tlsWarning: Type.Optional(Type.String()),
    credentials: Type.Object({
      username: Type.Optional(Type.String()),
      password: Type.Union([secretRef, Type.Null()]),
    }),
    labels: Type.Record(Type.String(), Type.String()),
    profile: Type.Optional(Type.Object({ id: Type.String(), name: Type.String(), version: Type.Integer() })),
    overrides: Type.Optional(Type.Ref(ConfigView)),
    desired: Type.Object({
      /** The config the device is converged to: base (profile or last applied config) ⊕ overrides. */
      config: Type.Optional(Type.Ref(ConfigView)),
      /** Where the base comes from. */
      base: Type.Union([Type.Literal('profile'), Type.Literal('config'), Type.Literal('none')]),
      state: Type.Optional(Type.Union([Type.Literal('streaming'), Type.Literal('stopped')])),
    }),
    driftPolicy: Type.Union([Type.Literal('report'), Type.Literal('heal')]),
    status: Type.Optional(Type.Ref(ObservedState)),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    version: Type.Integer(),
  },
  { $id: 'DeviceView', title: 'Device' },
);
export type DeviceView = Static<typeof DeviceView>;

/** A warning for devices whose certificate is not checked (yet): shown wherever the device is. */
export function tlsFlag(tls: DeviceRecord['tls']): { tlsWarning?: string } {
  if (tls.mode === 'insecure')
    return { tlsWarning: 'TLS certificate checks are switched off for this device' };
  if (tls.mode === 'pin' && !tls.fingerprint256)
    return { tlsWarning: 'the first certificate this device presents will be trusted and pinned' };
  return {};
}

export function deviceView(
  d: DeviceRecord,
  extra: { profile?: ProfileRecord; effective?: unknown; status?: Static<typeof ObservedState> } = {},
): DeviceView {
  return {
    id: d.id,
    name: d.name,
    vendor: d.vendor,
    host: d.host,
    port: d.port,
    tls: d.tls.mode === 'verify' ? { mode: 'verify', ...(d.tls.ca ? { ca: '(set)' } : {}) } : d.tls,
    ...tlsFlag(d.tls),
    credentials: {
      ...(d.username ? { username: d.username } : {}),
      password: d.hasPassword ? { set: true } : null,
    },
    labels: { ...d.labels },
    ...(extra.profile
      ? { profile: { id: extra.profile.id, name: extra.profile.name, version: extra.profile.version } }
      : {}),
    ...(d.overrides ? { overrides: maskConfig(d.overrides)! } : {}),
    desired: {
      ...(extra.effective ? { config: maskConfig(extra.effective)! } : {}),
      base: d.profileId ? 'profile' : d.baseConfig ? 'config' : 'none',
      ...(d.desiredState ? { state: d.desiredState } : {}),
    },
    driftPolicy: d.driftPolicy,
    ...(extra.status ? { status: extra.status } : {}),
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    version: d.version,
  };
}

export const ProfileView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Optional(Type.String()),
    config: Type.Ref(ConfigView),
    driftPolicy: Type.Optional(Type.Union([Type.Literal('report'), Type.Literal('heal')])),
    version: Type.Integer(),
    devices: Type.Optional(Type.Integer({ description: 'Devices following this profile.' })),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { $id: 'ProfileView', title: 'Profile' },
);

export function profileView(p: ProfileRecord, devices?: number): Static<typeof ProfileView> {
  return {
    id: p.id,
    name: p.name,
    ...(p.description ? { description: p.description } : {}),
    config: maskConfig(p.config) ?? {},
    ...(p.driftPolicy ? { driftPolicy: p.driftPolicy } : {}),
    version: p.version,
    ...(devices !== undefined ? { devices } : {}),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

export const KeyView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    role: Role,
    scope: Type.Optional(Type.String()),
    prefix: Type.String({ description: 'The first characters of the key, to recognise it.' }),
    source: Type.String({
      description: 'api, cli, bootstrap (generated at first start) or env (ADMIN_API_KEY).',
    }),
    permissions: Type.Array(Type.String()),
    createdAt: Type.String(),
    createdBy: Type.Optional(Type.String()),
    revokedAt: Type.Optional(Type.String()),
    revokedBy: Type.Optional(Type.String()),
  },
  { $id: 'ApiKey', title: 'ApiKey' },
);

export function keyView(k: ApiKeyRecord) {
  return { ...k, permissions: rolePermissions(k.role, !!k.scope) };
}

export const AuditEntryView = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String(),
    keyId: Type.Optional(Type.String({ description: 'The API key used; absent when none was valid.' })),
    keyName: Type.Optional(Type.String()),
    method: Type.String(),
    route: Type.String({ description: 'The route, e.g. `/v1/devices/:id`.' }),
    path: Type.String(),
    status: Type.Integer({ description: 'The HTTP status of the reply: the outcome.' }),
    deviceIds: Type.Optional(Type.Array(Type.String())),
    jobId: Type.Optional(
      Type.String({ description: 'The job the request started: its per-device outcomes are there.' }),
    ),
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    ip: Type.Optional(Type.String()),
  },
  { $id: 'AuditEntry', title: 'AuditEntry' },
);

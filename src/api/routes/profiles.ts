/** /v1/profiles: named, versioned config templates that devices follow. */
import { Type } from '@sinclair/typebox';
import { DriftPolicyField } from '../../fleet/device-fields.js';
import { JobConfig } from '../../fleet/jobs/model.js';
import { assertShorthands } from '../../ingest/expand.js';
import type { ProfileRepo } from '../../store/profiles.js';
import { NotFoundError } from '../errors.js';
import { EXAMPLE_PROFILE, EXAMPLE_PROFILE_UPDATE, withExamples } from '../examples.js';
import type { Api } from '../server.js';
import { ConfigView, maskConfig, ProfileView, profileView } from '../views.js';
import { errors, etag, IdParams, ifMatch } from './common.js';

const ProfileName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._/-]*$' });

const ProfileCreate = Type.Object(
  {
    name: ProfileName,
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    config: JobConfig,
    driftPolicy: Type.Optional(DriftPolicyField),
  },
  { additionalProperties: false },
);

const ProfileUpdate = Type.Object(
  {
    name: Type.Optional(ProfileName),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
    config: Type.Optional(JobConfig),
    driftPolicy: Type.Optional(Type.Union([DriftPolicyField, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export function profileRoutes(app: Api, profiles: ProfileRepo): void {
  const tags = ['profiles'];
  const find = async (id: string) => {
    const profile = await profiles.get(id);
    if (!profile) throw new NotFoundError('profile', id);
    return profile;
  };

  app.post(
    '/v1/profiles',
    {
      config: { permission: 'profiles:manage' },
      schema: {
        operationId: 'createProfile',
        summary: 'Create a profile',
        tags,
        body: withExamples(ProfileCreate, EXAMPLE_PROFILE),
        response: { 201: Type.Ref(ProfileView), ...errors(400, 409) },
      },
    },
    async (request, reply) => {
      assertShorthands(request.body.config, 'body/config');
      const profile = await profiles.create(request.body);
      reply.code(201).header('etag', etag(profile.version)).header('location', `/v1/profiles/${profile.id}`);
      return profileView(profile, 0);
    },
  );

  app.get(
    '/v1/profiles',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'listProfiles',
        summary: 'List profiles',
        tags,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref(ProfileView)) }) },
      },
    },
    async () => ({
      items: await Promise.all(
        (await profiles.list()).map(async (p) => profileView(p, await profiles.usage(p.id))),
      ),
    }),
  );

  app.get(
    '/v1/profiles/:id',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'getProfile',
        summary: 'A profile, by id or name',
        tags,
        params: IdParams,
        response: { 200: Type.Ref(ProfileView), ...errors(404) },
      },
    },
    async (request, reply) => {
      const profile = await find(request.params.id);
      reply.header('etag', etag(profile.version));
      return profileView(profile, await profiles.usage(profile.id));
    },
  );

  app.put(
    '/v1/profiles/:id',
    {
      config: { permission: 'profiles:manage' },
      schema: {
        operationId: 'updateProfile',
        summary: 'Change a profile (new version; send If-Match to refuse a stale write)',
        tags,
        params: IdParams,
        body: withExamples(ProfileUpdate, EXAMPLE_PROFILE_UPDATE),
        response: { 200: Type.Ref(ProfileView), ...errors(400, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const current = await find(request.params.id);
      assertShorthands(request.body.config, 'body/config');
      const profile = await profiles.update(current.id, request.body, ifMatch(request));
      reply.header('etag', etag(profile.version));
      return profileView(profile, await profiles.usage(profile.id));
    },
  );

  app.get(
    '/v1/profiles/:id/versions',
    {
      config: { permission: 'fleet:read' },
      schema: {
        operationId: 'listProfileVersions',
        summary: 'Every version of a profile, newest first',
        tags,
        params: IdParams,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                version: Type.Integer(),
                config: Type.Ref(ConfigView),
                createdAt: Type.String(),
              }),
            ),
          }),
          ...errors(404),
        },
      },
    },
    async (request) => {
      const profile = await find(request.params.id);
      const versions = await profiles.versions(profile.id);
      return {
        items: versions.map((v) => ({
          version: v.version,
          config: maskConfig(v.config) ?? {},
          createdAt: v.createdAt,
        })),
      };
    },
  );

  app.delete(
    '/v1/profiles/:id',
    {
      config: { permission: 'profiles:manage' },
      schema: {
        operationId: 'deleteProfile',
        summary: 'Delete a profile no device follows',
        tags,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(404, 409) },
      },
    },
    async (request, reply) => {
      const profile = await find(request.params.id);
      await profiles.delete(profile.id);
      reply.code(204);
      return null;
    },
  );
}

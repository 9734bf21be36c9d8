/**
 * Profiles: named, versioned config templates. Every change gets a new version number and the
 * previous config stays in the history; a profile that devices follow cannot be deleted.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { JobConfig } from '../fleet/jobs/model.js';
import type { SecretBox } from '../security/secrets.js';
import type { Db } from './db.js';
import type { DriftPolicy } from './devices.js';
import { ConflictError, PreconditionFailedError, StoreNotFoundError, translateDbError } from './errors.js';
import type { Database } from './schema.js';
import { openJson, sealJson } from './secret-fields.js';

export interface ProfileRecord {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly config: JobConfig;
  /** Default drift policy for devices following the profile (a device's own setting wins). */
  readonly driftPolicy?: DriftPolicy;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface NewProfile {
  readonly name: string;
  readonly description?: string;
  readonly config: JobConfig;
  readonly driftPolicy?: DriftPolicy;
}

export interface ProfilePatch {
  readonly name?: string;
  readonly description?: string | null;
  readonly config?: JobConfig;
  readonly driftPolicy?: DriftPolicy | null;
}

type Row = Database['profiles'];

export class ProfileRepo {
  private readonly db: Kysely<Database>;

  constructor(
    store: Db,
    private readonly box: SecretBox,
  ) {
    this.db = store.kysely;
  }

  async create(input: NewProfile): Promise<ProfileRecord> {
    const now = new Date().toISOString();
    const row: Row = {
      id: randomUUID(),
      name: input.name,
      description: input.description ?? null,
      config: sealJson(input.config, this.box)!,
      drift_policy: input.driftPolicy ?? null,
      version: 1,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('profiles').values(row).execute();
        await tx
          .insertInto('profile_versions')
          .values({ profile_id: row.id, version: 1, config: row.config, created_at: now })
          .execute();
      });
    } catch (err) {
      throw translateDbError(err, 'profile');
    }
    return this.toRecord(row);
  }

  /** By id or by name. */
  async get(idOrName: string): Promise<ProfileRecord | undefined> {
    const row = await this.db
      .selectFrom('profiles')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    return row ? this.toRecord(row) : undefined;
  }

  async list(): Promise<ProfileRecord[]> {
    const rows = await this.db.selectFrom('profiles').selectAll().orderBy('name').execute();
    return rows.map((r) => this.toRecord(r));
  }

  async update(id: string, patch: ProfilePatch, expectedVersion?: number): Promise<ProfileRecord> {
    const now = new Date().toISOString();
    try {
      await this.db.transaction().execute(async (tx) => {
        const current = await tx.selectFrom('profiles').selectAll().where('id', '=', id).executeTakeFirst();
        if (!current) throw new StoreNotFoundError('profile', id);
        if (expectedVersion !== undefined && current.version !== expectedVersion) {
          throw new PreconditionFailedError('profile', current.version);
        }
        const version = current.version + 1;
        const config = patch.config ? sealJson(patch.config, this.box)! : current.config;
        const result = await tx
          .updateTable('profiles')
          .set({
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.driftPolicy !== undefined ? { drift_policy: patch.driftPolicy } : {}),
            config,
            version,
            updated_at: now,
          })
          .where('id', '=', id)
          .where('version', '=', current.version)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0)
          throw new PreconditionFailedError('profile', current.version + 1);
        await tx
          .insertInto('profile_versions')
          .values({ profile_id: id, version, config, created_at: now })
          .execute();
      });
    } catch (err) {
      throw translateDbError(err, 'profile');
    }
    return (await this.get(id))!;
  }

  async versions(id: string): Promise<{ version: number; config: JobConfig; createdAt: string }[]> {
    const rows = await this.db
      .selectFrom('profile_versions')
      .selectAll()
      .where('profile_id', '=', id)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((r) => ({
      version: Number(r.version),
      config: openJson<JobConfig>(r.config, this.box)!,
      createdAt: r.created_at,
    }));
  }

  /** Devices following the profile. */
  async usage(id: string): Promise<number> {
    const row = await this.db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('profile_id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async delete(id: string): Promise<boolean> {
    const used = await this.usage(id);
    if (used > 0)
      throw new ConflictError(
        `${used} device(s) follow this profile; move them to another profile first`,
        'profile',
      );
    const result = await this.db.deleteFrom('profiles').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  private toRecord(row: Row): ProfileRecord {
    return {
      id: row.id,
      name: row.name,
      ...(row.description !== null ? { description: row.description } : {}),
      config: openJson<JobConfig>(row.config, this.box)!,
      ...(row.drift_policy !== null ? { driftPolicy: row.drift_policy as DriftPolicy } : {}),
      version: Number(row.version),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

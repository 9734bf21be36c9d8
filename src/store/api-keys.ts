/** API keys in the store: hashes only; revocation is a timestamp (rows are kept for the audit log). */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Role } from '../security/permissions.js';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export type KeySource = 'api' | 'cli' | 'bootstrap' | 'env';

export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly scope?: string;
  readonly prefix: string;
  readonly source: KeySource;
  readonly createdAt: string;
  readonly createdBy?: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

export interface NewApiKey {
  readonly name: string;
  readonly role: Role;
  readonly scope?: string;
  readonly prefix: string;
  readonly hash: string;
  readonly source: KeySource;
  readonly createdBy?: string;
  /** Default: a random UUID. */
  readonly id?: string;
}

/** The id of the key generated at first start; fixed, so replicas starting together make one. */
export const BOOTSTRAP_KEY_ID = 'bootstrap-admin';

type Row = Database['api_keys'];

export class ApiKeyRepo {
  private readonly db: Kysely<Database>;

  constructor(store: Db) {
    this.db = store.kysely;
  }

  async create(key: NewApiKey): Promise<ApiKeyRecord> {
    const row: Row = {
      id: key.id ?? randomUUID(),
      name: key.name,
      role: key.role,
      scope: key.scope ?? null,
      prefix: key.prefix,
      hash: key.hash,
      source: key.source,
      created_at: new Date().toISOString(),
      created_by: key.createdBy ?? null,
      revoked_at: null,
      revoked_by: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return toRecord(row);
  }

  /** The key with this hash, revoked or not. Read from the store on every request: no cache to go stale. */
  async byHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** All keys, oldest first; revoked ones only when asked. */
  async list(opts: { includeRevoked?: boolean } = {}): Promise<ApiKeyRecord[]> {
    let q = this.db.selectFrom('api_keys').selectAll();
    if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toRecord);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Revokes a key now; false when there is no such key or it was already revoked. */
  async revoke(id: string, by?: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date().toISOString(), revoked_by: by ?? null })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Makes ADMIN_API_KEY an admin key: stored once (a key revoked through the API stays revoked);
   * env keys with another hash (the variable was changed) are revoked.
   */
  async ensureEnvKey(key: { hash: string; prefix: string }): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const now = new Date().toISOString();
      await tx
        .updateTable('api_keys')
        .set({ revoked_at: now, revoked_by: 'ADMIN_API_KEY changed' })
        .where('source', '=', 'env')
        .where('hash', '!=', key.hash)
        .where('revoked_at', 'is', null)
        .execute();
      const existing = await tx
        .selectFrom('api_keys')
        .select('id')
        .where('hash', '=', key.hash)
        .executeTakeFirst();
      if (existing) return;
      await tx
        .insertInto('api_keys')
        .values({
          id: randomUUID(),
          name: 'ADMIN_API_KEY',
          role: 'admin',
          scope: null,
          prefix: key.prefix,
          hash: key.hash,
          source: 'env',
          created_at: now,
          created_by: null,
          revoked_at: null,
          revoked_by: null,
        })
        .execute();
    });
  }

  /**
   * Stores the bootstrap admin key if the store has no key at all. True when this call stored it
   * (so the caller shows it); false when keys exist or another replica got there first.
   */
  async insertBootstrapKey(key: { hash: string; prefix: string }): Promise<boolean> {
    if ((await this.count()) > 0) return false;
    try {
      await this.create({
        id: BOOTSTRAP_KEY_ID,
        name: 'bootstrap admin',
        role: 'admin',
        prefix: key.prefix,
        hash: key.hash,
        source: 'bootstrap',
      });
      return true;
    } catch (err) {
      if (await this.get(BOOTSTRAP_KEY_ID)) return false;
      throw err;
    }
  }
}

function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    ...(row.scope !== null ? { scope: row.scope } : {}),
    prefix: row.prefix,
    source: row.source as KeySource,
    createdAt: row.created_at,
    ...(row.created_by !== null ? { createdBy: row.created_by } : {}),
    ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}),
    ...(row.revoked_by !== null ? { revokedBy: row.revoked_by } : {}),
  };
}

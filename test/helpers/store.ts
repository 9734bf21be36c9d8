/**
 * Test stores on both backends: SQLite in a fresh temp directory, PostgreSQL (the server on
 * 127.0.0.1:5432) in a fresh schema per store, dropped afterwards, so runs never collide.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SecretBox } from '../../src/security/secrets.js';
import { openStore, type Store } from '../../src/store/index.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  readonly store: Store;
  readonly box: SecretBox;
  readonly dataDir: string;
  readonly pgSchema?: string;
  /** Closes and reopens the same database (a service restart). */
  reopen(): Promise<Store>;
  dispose(): Promise<void>;
}

export function testBox(): SecretBox {
  return new SecretBox(randomBytes(32));
}

export async function openTestStore(backend: Backend, box = testBox()): Promise<TestStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ef-store-'));
  const pgSchema = backend === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const open = () =>
    openStore({ dataDir, box, ...(pgSchema ? { databaseUrl: TEST_DATABASE_URL, pgSchema } : {}) });
  let store = await open();
  return {
    get store() {
      return store;
    },
    box,
    dataDir,
    ...(pgSchema ? { pgSchema } : {}),
    async reopen() {
      await store.close();
      store = await open();
      return store;
    },
    async dispose() {
      await store.close();
      if (pgSchema) await dropSchema(pgSchema);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}

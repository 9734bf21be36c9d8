/**
 * Opens the store: embedded SQLite in DATA_DIR by default, PostgreSQL when DATABASE_URL is set.
 * Both get the same migrations at start-up and are used through the same Kysely queries.
 *
 * Why SQLite for the embedded default (measured, see README "Storage"): the jobs and poll
 * benchmarks hold the whole service under 400–500 MB RSS with 10,000 devices; PGlite alone takes
 * ~350 MB RSS and ~4 s to initialise, SQLite a few MB and milliseconds.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Dialect } from './migrations/dialect.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export const SQLITE_FILE = 'encoder-fleet.db';

export interface OpenDatabaseOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string;
  /** PostgreSQL schema to use (created when missing); tests give each run its own. */
  readonly pgSchema?: string;
  readonly logger?: Logger;
}

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

export class MigrationError extends Error {}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Db> {
  const db = opts.databaseUrl ? await openPostgres(opts.databaseUrl, opts) : await openSqlite(opts.dataDir);
  // Kysely looks for its migration tables in every schema unless told which one: with another
  // schema in the database holding them (another app, a parallel test run), it would skip creating
  // its own and then fail to find them.
  const migrationTableSchema =
    db.dialect === 'postgres'
      ? (opts.pgSchema ??
        (await sql<{ s: string }>`select current_schema() as s`.execute(db.kysely)).rows[0]?.s)
      : undefined;
  const migrator = new Migrator({
    db: db.kysely,
    provider: { getMigrations: async () => migrations(db.dialect) },
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === 'Success') opts.logger?.info({ migration: r.migrationName }, 'applied migration');
  }
  if (error) {
    await db.close();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new MigrationError(
      `database migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`,
    );
  }
  return db;
}

async function openSqlite(dataDir: string): Promise<Db> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new SQLite(join(dataDir, SQLITE_FILE));
  // WAL: readers never block the writer; NORMAL sync is durable against process crashes (kill -9),
  // and loses at most the last transactions on power loss.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachedStatements(sqlite) }) });
  return { kysely, dialect: 'sqlite', close: () => kysely.destroy() };
}

/** Distinct SQL texts kept prepared; the service issues a few dozen shapes, chunked IN lists add some. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query afresh, and SQLite compiling the same SQL again costs more than
 * running it for the small lookups behind most API calls. Statements are kept by SQL text (oldest
 * dropped first); one still being iterated is never handed out twice.
 */
function cachedStatements(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql: string) {
      const cached = statements.get(sql);
      if (cached && !cached.busy) return cached;
      const statement = sqlite.prepare(sql);
      if (!cached) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
    close: () => sqlite.close(),
  };
}

async function openPostgres(url: string, opts: OpenDatabaseOptions): Promise<Db> {
  if (opts.pgSchema) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(opts.pgSchema))
      throw new Error(`invalid schema name ${opts.pgSchema}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${opts.pgSchema}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
  });
  // An idle connection dropped by a database restart must not take the process down; the pool
  // replaces it and the next query reconnects.
  pool.on('error', (err) =>
    opts.logger?.warn({ err }, 'database connection lost; reconnecting on next query'),
  );
  // The pool listens for errors only on idle connections. A connection lost while checked out
  // (between two statements of a transaction) would emit an error nobody handles and take the
  // process down; its query fails by itself and the pool drops it on release.
  pool.on('connect', (client) =>
    client.on('error', (err) => opts.logger?.warn({ err }, 'database connection lost while in use')),
  );
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: 'postgres', close: () => kysely.destroy() };
}

import type { ColumnDefinitionBuilder } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The one place where the two SQL dialects differ in schema: an auto-increment integer key
 * (SQLite `INTEGER PRIMARY KEY AUTOINCREMENT`, PostgreSQL `BIGSERIAL`). Everything else is portable.
 */
export function serialKey(dialect: Dialect) {
  return {
    type: dialect === 'postgres' ? ('bigserial' as const) : ('integer' as const),
    build: (c: ColumnDefinitionBuilder) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
  };
}

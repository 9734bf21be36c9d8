/**
 * Store errors, one class per outcome the API distinguishes. Driver errors of SQLite and PostgreSQL
 * are translated into them in `translateDbError`, the only place that knows either's error codes.
 */
export class StoreNotFoundError extends Error {
  constructor(
    readonly what: string,
    readonly id: string,
  ) {
    super(`${what} ${JSON.stringify(id)} does not exist`);
  }
}

/** A unique value is taken, or a referenced row is missing or still in use. */
export class ConflictError extends Error {
  constructor(
    message: string,
    /** The field at fault, e.g. `name`, `host:port`, `profile`. */
    readonly field: string,
  ) {
    super(message);
  }
}

/** An optimistic-concurrency write lost: the row changed since the caller read it. */
export class PreconditionFailedError extends Error {
  constructor(
    readonly what: string,
    readonly currentVersion: number,
  ) {
    super(`${what} was changed by someone else (now at version ${currentVersion}); read it again and retry`);
  }
}

const FIELD_OF_CONSTRAINT: Record<string, string> = {
  devices_name_key: 'name',
  'devices.name': 'name',
  devices_host_port_unique: 'host:port',
  'devices.host, devices.port': 'host:port',
  profiles_name_key: 'name',
  'profiles.name': 'name',
  schedules_name_key: 'name',
  'schedules.name': 'name',
};

/** Unique and foreign-key violations become ConflictError; anything else passes through. */
export function translateDbError(err: unknown, what: string): unknown {
  const e = err as { code?: string; constraint?: string; message?: string };
  const sqliteUnique = e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  if (sqliteUnique || e.code === '23505') {
    const key = sqliteUnique
      ? (e.message ?? '').replace(/^UNIQUE constraint failed: /, '')
      : (e.constraint ?? '');
    const field = FIELD_OF_CONSTRAINT[key] ?? key;
    return new ConflictError(`a ${what} with this ${field} already exists`, field);
  }
  if (e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e.code === '23503') {
    return new ConflictError(
      `the ${what} refers to something that does not exist or is still in use`,
      'reference',
    );
  }
  return err;
}

export interface RowProblem {
  readonly row: number;
  readonly field: string;
  readonly reason: string;
}

/** A bulk import refused as a whole; every problem names its row (as the user counts rows). */
export class ImportRejectedError extends Error {
  constructor(readonly problems: readonly RowProblem[]) {
    super(`${new Set(problems.map((p) => p.row)).size} row(s) have problems; nothing was imported`);
  }
}

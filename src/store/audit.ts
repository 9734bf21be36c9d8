/**
 * The audit log: one entry per state-changing request — who (key), what (method, route, path),
 * which devices, when, the outcome (HTTP status) and the job it started. Append-only: this class
 * has no update or delete, and database triggers refuse both.
 */
import type { Kysely } from 'kysely';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import type { Db } from './db.js';
import { chunks } from './devices.js';
import type { Database } from './schema.js';

export interface NewAuditEntry {
  readonly at: string;
  readonly keyId?: string;
  readonly keyName?: string;
  readonly method: string;
  readonly route: string;
  readonly path: string;
  readonly status: number;
  readonly deviceIds?: readonly string[];
  readonly jobId?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly ip?: string;
}

export interface AuditEntry extends Omit<NewAuditEntry, 'deviceIds'> {
  readonly id: number;
  readonly deviceIds?: string[];
}

export interface AuditQuery {
  readonly keyId?: string;
  /** Entries that named this device, or started a job that included it. */
  readonly deviceId?: string;
  readonly jobId?: string;
  /** ISO times, inclusive. */
  readonly since?: string;
  readonly until?: string;
  readonly cursor?: string;
  readonly limit: number;
}

/** More device ids than this are not listed in the entry itself (a job links them instead). */
const MAX_LISTED_DEVICES = 1000;

export class AuditLog {
  private readonly db: Kysely<Database>;

  constructor(store: Db) {
    this.db = store.kysely;
  }

  async append(entry: NewAuditEntry): Promise<number> {
    const devices = entry.deviceIds ?? [];
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .insertInto('audit_log')
        .values({
          at: entry.at,
          key_id: entry.keyId ?? null,
          key_name: entry.keyName ?? null,
          method: entry.method,
          route: entry.route,
          path: entry.path,
          status: entry.status,
          device_ids: devices.length ? JSON.stringify(devices.slice(0, MAX_LISTED_DEVICES)) : null,
          job_id: entry.jobId ?? null,
          detail: entry.detail ? JSON.stringify(entry.detail) : null,
          ip: entry.ip ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const id = Number(row.id);
      for (const part of chunks([...new Set(devices)], 500)) {
        await tx
          .insertInto('audit_devices')
          .values(part.map((deviceId) => ({ audit_id: id, device_id: deviceId })))
          .execute();
      }
      return id;
    });
  }

  /** Entries newest first, with a cursor for the next page. */
  async list(query: AuditQuery): Promise<Page<AuditEntry>> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (query.keyId) q = q.where('key_id', '=', query.keyId);
    if (query.jobId) q = q.where('job_id', '=', query.jobId);
    if (query.since) q = q.where('at', '>=', query.since);
    if (query.until) q = q.where('at', '<=', query.until);
    if (query.deviceId) {
      const deviceId = query.deviceId;
      q = q.where((eb) =>
        eb.or([
          eb('id', 'in', eb.selectFrom('audit_devices').select('audit_id').where('device_id', '=', deviceId)),
          eb('job_id', 'in', eb.selectFrom('job_tasks').select('job_id').where('device_id', '=', deviceId)),
        ]),
      );
    }
    if (query.cursor) {
      const [, id] = decodeCursor(query.cursor);
      q = q.where('id', '<', Number(id));
    }
    const rows = await q
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        id: Number(r.id),
        at: r.at,
        ...(r.key_id !== null ? { keyId: r.key_id } : {}),
        ...(r.key_name !== null ? { keyName: r.key_name } : {}),
        method: r.method,
        route: r.route,
        path: r.path,
        status: Number(r.status),
        ...(r.device_ids !== null ? { deviceIds: JSON.parse(r.device_ids) as string[] } : {}),
        ...(r.job_id !== null ? { jobId: r.job_id } : {}),
        ...(r.detail !== null ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
        ...(r.ip !== null ? { ip: r.ip } : {}),
      })),
      ...(rows.length > query.limit && last ? { nextCursor: encodeCursor(['audit', last.id]) } : {}),
    };
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

/** The ingest-side stream (bintu) created for each device by provisioning, to look its state up. */
import type { Kysely } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export interface IngestStreamRecord {
  readonly deviceId: string;
  readonly provider: 'bintu';
  readonly streamId: string;
  readonly createdAt: string;
}

export class IngestStreamRepo {
  private readonly db: Kysely<Database>;

  constructor(store: Db) {
    this.db = store.kysely;
  }

  /** Records (or replaces) the device's stream. */
  async set(deviceId: string, streamId: string): Promise<void> {
    const row = {
      device_id: deviceId,
      provider: 'bintu',
      stream_id: streamId,
      created_at: new Date().toISOString(),
    };
    await this.db
      .insertInto('ingest_streams')
      .values(row)
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet({ stream_id: streamId, created_at: row.created_at }),
      )
      .execute();
  }

  async get(deviceId: string): Promise<IngestStreamRecord | undefined> {
    const row = await this.db
      .selectFrom('ingest_streams')
      .selectAll()
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row
      ? { deviceId: row.device_id, provider: 'bintu', streamId: row.stream_id, createdAt: row.created_at }
      : undefined;
  }

  /** Which of these devices already have a stream. */
  async existing(deviceIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < deviceIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('ingest_streams')
        .select(['device_id', 'stream_id'])
        .where('device_id', 'in', deviceIds.slice(i, i + 500))
        .execute();
      for (const r of rows) found.set(r.device_id, r.stream_id);
    }
    return found;
  }
}

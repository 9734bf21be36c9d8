/**
 * The store: one SQL schema behind repositories, on embedded SQLite or on PostgreSQL.
 */
import type { Logger } from 'pino';
import type { SecretBox } from '../security/secrets.js';
import { ApiKeyRepo } from './api-keys.js';
import { AuditLog } from './audit.js';
import { type Db, openDatabase } from './db.js';
import { DeviceRepo } from './devices.js';
import { EventLog } from './events.js';
import { IngestStreamRepo } from './ingest-streams.js';
import { SqlJobRepo } from './jobs.js';
import { ObservedRepo } from './observed.js';
import { PollLeaseRepo } from './poll-leases.js';
import { ProfileRepo } from './profiles.js';
import { SqlScheduleRepo } from './schedules.js';
import { WebhookRepo } from './webhooks.js';

export interface Store {
  readonly db: Db;
  readonly backend: Db['dialect'];
  readonly devices: DeviceRepo;
  readonly profiles: ProfileRepo;
  readonly jobs: SqlJobRepo;
  readonly observed: ObservedRepo;
  readonly events: EventLog;
  readonly webhooks: WebhookRepo;
  readonly schedules: SqlScheduleRepo;
  readonly apiKeys: ApiKeyRepo;
  readonly audit: AuditLog;
  readonly ingestStreams: IngestStreamRepo;
  readonly pollLeases: PollLeaseRepo;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly pgSchema?: string;
  readonly box: SecretBox;
  readonly logger?: Logger;
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const db = await openDatabase(opts);
  const devices = new DeviceRepo(db, opts.box);
  return {
    db,
    backend: db.dialect,
    devices,
    profiles: new ProfileRepo(db, opts.box),
    jobs: new SqlJobRepo(db, opts.box, devices),
    observed: new ObservedRepo(db),
    events: new EventLog(db),
    webhooks: new WebhookRepo(db, opts.box),
    schedules: new SqlScheduleRepo(db, opts.box),
    apiKeys: new ApiKeyRepo(db),
    audit: new AuditLog(db),
    ingestStreams: new IngestStreamRepo(db),
    pollLeases: new PollLeaseRepo(db),
    close: () => db.close(),
  };
}

/**
 * The one SQL schema, as Kysely table types. Portable across SQLite and PostgreSQL: ids and
 * timestamps are TEXT (timestamps ISO-8601 UTC, which sort as text), JSON is TEXT, booleans are
 * INTEGER 0/1. Secrets inside JSON columns are encrypted field by field (see secret-fields.ts).
 */
import type { Generated } from 'kysely';

export interface DevicesTable {
  id: string;
  name: string;
  vendor: string;
  host: string;
  /** Always the effective port (the vendor default filled in), so host:port is unique. */
  port: number;
  tls: string;
  username: string | null;
  /** Encrypted token. */
  password: string | null;
  profile_id: string | null;
  /** Per-device parts of the config (JSON, secrets encrypted). */
  overrides: string | null;
  /** Inline desired base config when the device follows no profile (JSON, secrets encrypted). */
  base_config: string | null;
  desired_state: string | null;
  drift_policy: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface DeviceLabelsTable {
  device_id: string;
  key: string;
  value: string;
}

export interface ProfilesTable {
  id: string;
  name: string;
  description: string | null;
  config: string;
  drift_policy: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ProfileVersionsTable {
  profile_id: string;
  version: number;
  config: string;
  created_at: string;
}

/** The last observed state per device (written by the poller on change), for listing and restarts. */
export interface DeviceObservedTable {
  device_id: string;
  connectivity: string;
  stream_state: string;
  detail: string | null;
  updated_at: string;
}

export interface DeviceStateHistoryTable {
  id: Generated<number>;
  device_id: string;
  at: string;
  connectivity: string;
  stream_state: string;
  detail: string | null;
}

export interface JobsTable {
  id: string;
  action: string;
  state: string;
  origin: string;
  selector: string | null;
  profile: string | null;
  config: string | null;
  options: string;
  counts: string;
  reason: string | null;
  created_by: string | null;
  /** `<createdBy>:<Idempotency-Key>`, unique. */
  idempotency_scope: string | null;
  request_hash: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  cancel_requested: number;
  owner: string | null;
  lease_until: string | null;
}

export interface JobTasksTable {
  job_id: string;
  device_id: string;
  seq: number;
  device_name: string;
  vendor: string;
  canary: number;
  state: string;
  attempt_count: number;
  attempts: string;
  error: string | null;
  changes: string | null;
  config: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  at: string;
  type: string;
  device_id: string | null;
  job_id: string | null;
  schedule_id: string | null;
  /** The process that published it (replicas skip their own when tailing). */
  origin: string;
  data: string;
}

export interface WebhooksTable {
  id: string;
  url: string;
  /** Encrypted token: the HMAC key. */
  secret: string;
  types: string;
  selector: string | null;
  enabled: number;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: string;
  event_id: number;
  event_type: string;
  body: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: string;
  lease_until: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface PollMembersTable {
  instance_id: string;
  expires_at: string;
}

export interface PollLeasesTable {
  shard: number;
  owner: string;
  expires_at: string;
}

export interface Database {
  devices: DevicesTable;
  device_labels: DeviceLabelsTable;
  profiles: ProfilesTable;
  profile_versions: ProfileVersionsTable;
  device_observed: DeviceObservedTable;
  device_state_history: DeviceStateHistoryTable;
  jobs: JobsTable;
  job_tasks: JobTasksTable;
  events: EventsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  poll_members: PollMembersTable;
  poll_leases: PollLeasesTable;
}

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
  model: string | null;
  serial: string | null;
  firmware: string | null;
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
  /** Setting guidance (warnings, traffic estimate) computed when the job was created, JSON. */
  guidance: string | null;
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

export interface SchedulesTable {
  id: string;
  name: string;
  selector: string | null;
  /** JSON array, when the schedule names devices by id. */
  device_ids: string | null;
  profile: string | null;
  /** JSON, secrets encrypted. */
  config: string | null;
  /** One-shot broadcast: start and end, ISO-8601 UTC. */
  start_at: string | null;
  end_at: string | null;
  /** Recurring broadcast: 5-field cron in an IANA zone, each run lasting duration_minutes. */
  cron: string | null;
  timezone: string | null;
  duration_minutes: number | null;
  /** JSON: pre/post-roll, missed-run policy, overlap. */
  options: string;
  enabled: number;
  /** Start of the latest occurrence that has a run (or the instant before which none count). */
  last_occurrence: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ScheduleRunsTable {
  id: string;
  schedule_id: string;
  /** The scheduled start instant; unique per schedule. */
  occurrence: string;
  ends_at: string;
  preroll_at: string;
  stop_at: string;
  state: string;
  reason: string | null;
  /** JSON array: the devices resolved at pre-roll, which start and stop act on. */
  device_ids: string | null;
  /** JSON: { count, devices: [...] }. */
  preroll_failures: string | null;
  created_at: string;
  updated_at: string;
}

/** One row per run and phase: inserting it is the claim, so only one process fires a phase. */
export interface ScheduleFiringsTable {
  run_id: string;
  phase: string;
  state: string;
  owner: string;
  lease_until: string;
  job_id: string | null;
  late_ms: number | null;
  claimed_at: string;
  fired_at: string | null;
  error: string | null;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  role: string;
  /** Label selector the key is limited to; null = the whole fleet. */
  scope: string | null;
  /** The first characters of the key, to recognise it in lists. */
  prefix: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  hash: string;
  /** How it was made: api, cli, bootstrap (generated at first start) or env (ADMIN_API_KEY). */
  source: string;
  created_at: string;
  created_by: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

/** Append-only (database triggers refuse UPDATE and DELETE). */
export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  key_id: string | null;
  key_name: string | null;
  method: string;
  /** The route pattern, e.g. `/v1/devices/:id`. */
  route: string;
  /** The path asked for, without query string. */
  path: string;
  status: number;
  /** JSON array of the device ids the request named. */
  device_ids: string | null;
  job_id: string | null;
  /** JSON object with a few facts about the outcome (never request bodies). */
  detail: string | null;
  ip: string | null;
}

export interface AuditDevicesTable {
  audit_id: number;
  device_id: string;
}

/** The ingest-side stream created for a device (bintu), so its state can be looked up. */
export interface IngestStreamsTable {
  device_id: string;
  provider: string;
  stream_id: string;
  created_at: string;
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
  schedules: SchedulesTable;
  schedule_runs: ScheduleRunsTable;
  schedule_firings: ScheduleFiringsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  audit_devices: AuditDevicesTable;
  ingest_streams: IngestStreamsTable;
  poll_members: PollMembersTable;
  poll_leases: PollLeasesTable;
}

/**
 * Devices in the store: inventory, labels, credentials (encrypted), overrides and desired state.
 * Records come back with secrets decrypted for the engine's use; the API turns them into views that
 * mask every secret before anything leaves the process.
 */
import { randomUUID } from 'node:crypto';
import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type RawBuilder,
  type SqlBool,
  sql,
  type Transaction,
} from 'kysely';
import type { DeviceTls, VendorId } from '../../drivers/contract.js';
import type { ConfigOverrides } from '../fleet/effective-config.js';
import type { ImportRow } from '../fleet/import.js';
import type { JobConfig } from '../fleet/jobs/model.js';
import { matches, type Selector } from '../fleet/selector.js';
import type { SecretBox } from '../security/secrets.js';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import type { Db } from './db.js';
import {
  ImportRejectedError,
  PreconditionFailedError,
  type RowProblem,
  StoreNotFoundError,
  translateDbError,
} from './errors.js';
import type { Database } from './schema.js';
import { openJson, sealJson } from './secret-fields.js';

export type DesiredStreamState = 'streaming' | 'stopped';
export type DriftPolicy = 'report' | 'heal';

export interface DeviceRecord {
  readonly id: string;
  readonly name: string;
  readonly vendor: VendorId;
  readonly host: string;
  readonly port: number;
  readonly tls: DeviceTls;
  readonly username?: string;
  readonly hasPassword: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly profileId?: string;
  readonly overrides?: ConfigOverrides;
  /** The inline base config (from the last apply job with a config) when no profile is followed. */
  readonly baseConfig?: JobConfig;
  readonly desiredState?: DesiredStreamState;
  readonly driftPolicy: DriftPolicy;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

/** A device as a list shows it: no config, no secrets, nothing that needs decrypting. */
export type DeviceListing = Pick<
  DeviceRecord,
  'id' | 'name' | 'vendor' | 'host' | 'port' | 'tls' | 'labels' | 'version'
>;

/** A device as a job sees it when it is created. */
export type JobTarget = Pick<DeviceRecord, 'id' | 'name' | 'vendor' | 'overrides'>;

/** What connecting to a device takes: its address, TLS and credentials (password decrypted). */
export type DeviceConnection = Pick<
  DeviceWithSecrets,
  'id' | 'vendor' | 'host' | 'port' | 'tls' | 'username' | 'password'
>;

export interface DeviceWithSecrets extends DeviceRecord {
  readonly password?: string;
}

export interface NewDevice {
  readonly name: string;
  readonly vendor: VendorId;
  readonly host: string;
  /** The effective port: the caller fills in the vendor default. */
  readonly port: number;
  readonly tls?: DeviceTls;
  readonly username?: string;
  readonly password?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly profileId?: string;
  readonly overrides?: ConfigOverrides;
  readonly driftPolicy?: DriftPolicy;
}

/** `null` clears a field; absent leaves it. */
export interface DevicePatch {
  /** Only the service sets this: a `teradek` device once its control plane is known. */
  readonly vendor?: VendorId;
  readonly name?: string;
  readonly host?: string;
  readonly port?: number;
  readonly tls?: DeviceTls;
  readonly username?: string | null;
  readonly password?: string | null;
  readonly labels?: Readonly<Record<string, string>>;
  readonly profileId?: string | null;
  readonly overrides?: ConfigOverrides | null;
  readonly desiredState?: DesiredStreamState | null;
  readonly driftPolicy?: DriftPolicy;
}

export type DeviceSort = 'name' | 'createdAt' | 'vendor' | 'host';

export interface DeviceQuery {
  readonly selector?: Selector;
  readonly ids?: readonly string[];
  readonly vendor?: string;
  /** Observed stream state (from the poller's last recorded state). */
  readonly state?: string;
  /** The model and firmware version the device last reported (exact match). */
  readonly model?: string;
  readonly firmware?: string;
  /** Case-insensitive substring of name or host. */
  readonly text?: string;
  readonly sort?: DeviceSort;
  readonly order?: 'asc' | 'desc';
  readonly cursor?: string;
  readonly limit: number;
}

export interface DesiredUpdate {
  readonly base?: { readonly profileId: string } | { readonly config: JobConfig };
  readonly state?: DesiredStreamState;
}

type Row = Database['devices'];
type Eb = ExpressionBuilder<Database, 'devices'>;

const SORT_COLUMN = { name: 'name', createdAt: 'created_at', vendor: 'vendor', host: 'host' } as const;

export class DeviceRepo {
  private readonly db: Kysely<Database>;
  /** Each device's labels as one JSON object text, in a subquery of the device's row. */
  private readonly labelsJson: RawBuilder<string>;

  constructor(
    store: Db,
    private readonly box: SecretBox,
  ) {
    this.db = store.kysely;
    this.labelsJson =
      store.dialect === 'postgres'
        ? sql<string>`(select coalesce(json_object_agg(l.key, l.value), '{}')::text from device_labels l where l.device_id = devices.id)`
        : sql<string>`(select json_group_object(l.key, l.value) from device_labels l where l.device_id = devices.id)`;
  }

  async create(input: NewDevice): Promise<DeviceRecord> {
    const [created] = await this.insertMany([input]);
    return created!;
  }

  /** Inserts devices and their labels in one transaction (all or nothing). */
  async insertMany(inputs: readonly NewDevice[], trx?: Transaction<Database>): Promise<DeviceRecord[]> {
    const now = new Date().toISOString();
    const rows: Row[] = inputs.map((d) => ({
      id: randomUUID(),
      name: d.name,
      vendor: d.vendor,
      host: d.host,
      port: d.port,
      tls: JSON.stringify(d.tls ?? { mode: 'off' }),
      username: d.username ?? null,
      password: d.password ? this.box.encrypt(d.password) : null,
      profile_id: d.profileId ?? null,
      overrides: sealJson(d.overrides, this.box),
      base_config: null,
      desired_state: null,
      drift_policy: d.driftPolicy ?? 'report',
      created_at: now,
      updated_at: now,
      version: 1,
    }));
    const write = async (tx: Transaction<Database>) => {
      for (const chunk of chunks(rows, 200)) await tx.insertInto('devices').values(chunk).execute();
      const labels = inputs.flatMap((d, i) =>
        Object.entries(d.labels ?? {}).map(([key, value]) => ({ device_id: rows[i]!.id, key, value })),
      );
      for (const chunk of chunks(labels, 300)) await tx.insertInto('device_labels').values(chunk).execute();
    };
    try {
      if (trx) await write(trx);
      else await this.db.transaction().execute(write);
    } catch (err) {
      throw translateDbError(err, 'device');
    }
    return rows.map((row, i) => this.toRecord(row, inputs[i]!.labels ?? {}));
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const [record] = await this.getMany([id]);
    return record;
  }

  async getByName(name: string): Promise<DeviceRecord | undefined> {
    const row = await this.db.selectFrom('devices').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? (await this.withLabels([row]))[0] : undefined;
  }

  async getMany(ids: readonly string[]): Promise<DeviceRecord[]> {
    if (!ids.length) return [];
    const rows: Row[] = [];
    for (const chunk of chunks(ids, 500)) {
      rows.push(...(await this.db.selectFrom('devices').selectAll().where('id', 'in', chunk).execute()));
    }
    return this.withLabels(rows);
  }

  /** Devices with their passwords decrypted, for connecting to them. */
  async getWithSecrets(ids: readonly string[]): Promise<DeviceWithSecrets[]> {
    if (!ids.length) return [];
    const rows: Row[] = [];
    for (const chunk of chunks(ids, 500)) {
      rows.push(...(await this.db.selectFrom('devices').selectAll().where('id', 'in', chunk).execute()));
    }
    const records = await this.withLabels(rows);
    const passwords = new Map(rows.map((r) => [r.id, r.password]));
    return records.map((r) => {
      const sealed = passwords.get(r.id);
      return sealed ? { ...r, password: this.box.decrypt(sealed) } : r;
    });
  }

  /**
   * Connection details of these devices (missing ids are absent): only the columns a driver needs,
   * so a job over 10,000 devices does not read their labels or decrypt their configs to start.
   */
  async connections(ids: readonly string[]): Promise<DeviceConnection[]> {
    const result: DeviceConnection[] = [];
    for (const chunk of chunks(ids, 500)) {
      const rows = await this.db
        .selectFrom('devices')
        .select(['id', 'vendor', 'host', 'port', 'tls', 'username', 'password'])
        .where('id', 'in', chunk)
        .execute();
      for (const r of rows) {
        result.push({
          id: r.id,
          vendor: r.vendor as VendorId,
          host: r.host,
          port: r.port,
          tls: JSON.parse(r.tls) as DeviceTls,
          ...(r.username !== null ? { username: r.username } : {}),
          ...(r.password !== null ? { password: this.box.decrypt(r.password) } : {}),
        });
      }
    }
    return result;
  }

  async list(query: DeviceQuery): Promise<Page<DeviceListing>> {
    const column = SORT_COLUMN[query.sort ?? 'name'];
    const desc = query.order === 'desc';
    let q = this.db
      .selectFrom('devices')
      .select(['id', 'name', 'vendor', 'host', 'port', 'tls', 'version', 'created_at'])
      .select(this.labelsJson.as('labels'))
      .where((eb) => this.filter(eb, query));
    if (query.cursor) {
      const [value, id] = decodeCursor(query.cursor);
      q = q.where((eb) =>
        eb.or([
          eb(column, desc ? '<' : '>', value as string),
          eb.and([eb(column, '=', value as string), eb('id', desc ? '<' : '>', id as string)]),
        ]),
      );
    }
    const rows = await q
      .orderBy(column, desc ? 'desc' : 'asc')
      .orderBy('id', desc ? 'desc' : 'asc')
      .limit(query.limit + 1)
      .execute();
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        id: r.id,
        name: r.name,
        vendor: r.vendor as VendorId,
        host: r.host,
        port: r.port,
        tls: JSON.parse(r.tls) as DeviceTls,
        labels: JSON.parse(r.labels) as Record<string, string>,
        version: Number(r.version),
      })),
      ...(more && last ? { nextCursor: encodeCursor([last[column], last.id]) } : {}),
    };
  }

  async count(query: Omit<DeviceQuery, 'limit' | 'cursor' | 'sort' | 'order'> = {}): Promise<number> {
    const row = await this.db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where((eb) => this.filter(eb, { ...query, limit: 0 }))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Ids of all devices matching a selector (or id list), in name order. */
  async resolve(query: { selector?: Selector; ids?: readonly string[] }): Promise<DeviceRecord[]> {
    const rows = await this.db
      .selectFrom('devices')
      .selectAll()
      .where((eb) => this.filter(eb, { ...query, limit: 0 }))
      .orderBy('name')
      .execute();
    return this.withLabels(rows);
  }

  /**
   * What a job needs of the devices it names, by name: id, name, vendor and overrides (decrypted),
   * without labels or stored configs, so creating a 10,000-device job reads and decrypts little.
   */
  async jobTargets(query: { selector?: Selector; ids?: readonly string[] }): Promise<JobTarget[]> {
    const targets: JobTarget[] = [];
    const rows = [];
    for (const ids of query.ids ? chunks(query.ids, 500) : [undefined]) {
      rows.push(
        ...(await this.db
          .selectFrom('devices')
          .select(['id', 'name', 'vendor', 'overrides'])
          .where((eb) => this.filter(eb, { ...query, ...(ids ? { ids } : {}), limit: 0 }))
          .orderBy('name')
          .execute()),
      );
    }
    for (const r of rows) {
      const overrides = openJson<ConfigOverrides>(r.overrides, this.box);
      targets.push({
        id: r.id,
        name: r.name,
        vendor: r.vendor as VendorId,
        ...(overrides ? { overrides } : {}),
      });
    }
    return targets;
  }

  /**
   * Changes a device. With `expectedVersion`, the write only happens if nobody changed the device
   * since that version (otherwise PreconditionFailedError); every write bumps the version.
   */
  async update(id: string, patch: DevicePatch, expectedVersion?: number): Promise<DeviceRecord> {
    const set: Partial<Row> = { updated_at: new Date().toISOString() };
    if (patch.vendor !== undefined) set.vendor = patch.vendor;
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.host !== undefined) set.host = patch.host;
    if (patch.port !== undefined) set.port = patch.port;
    if (patch.tls !== undefined) set.tls = JSON.stringify(patch.tls);
    if (patch.username !== undefined) set.username = patch.username;
    if (patch.password !== undefined)
      set.password = patch.password === null ? null : this.box.encrypt(patch.password);
    if (patch.profileId !== undefined) {
      set.profile_id = patch.profileId;
      if (patch.profileId !== null) set.base_config = null;
    }
    if (patch.overrides !== undefined) set.overrides = sealJson(patch.overrides, this.box);
    if (patch.desiredState !== undefined) set.desired_state = patch.desiredState;
    if (patch.driftPolicy !== undefined) set.drift_policy = patch.driftPolicy;
    try {
      await this.db.transaction().execute(async (tx) => {
        let q = tx
          .updateTable('devices')
          .set((eb) => ({ ...set, version: eb('version', '+', 1) }))
          .where('id', '=', id);
        if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
        const result = await q.executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) {
          const current = await tx
            .selectFrom('devices')
            .select('version')
            .where('id', '=', id)
            .executeTakeFirst();
          if (!current) throw new StoreNotFoundError('device', id);
          throw new PreconditionFailedError('device', current.version);
        }
        if (patch.labels) {
          await tx.deleteFrom('device_labels').where('device_id', '=', id).execute();
          const labels = Object.entries(patch.labels).map(([key, value]) => ({ device_id: id, key, value }));
          if (labels.length) await tx.insertInto('device_labels').values(labels).execute();
        }
      });
    } catch (err) {
      throw translateDbError(err, 'device');
    }
    return (await this.get(id))!;
  }

  /**
   * Trust on first use: stores the certificate fingerprint a device in `pin` mode presented on its
   * first TLS connection. Only while it has none, so a later certificate never replaces the pin.
   */
  async recordFingerprint(id: string, fingerprint256: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('devices').select('tls').where('id', '=', id).executeTakeFirst();
      const tls = row ? (JSON.parse(row.tls) as DeviceTls) : undefined;
      if (tls?.mode !== 'pin' || tls.fingerprint256) return false;
      await tx
        .updateTable('devices')
        .set((eb) => ({
          tls: JSON.stringify({ mode: 'pin', fingerprint256 }),
          updated_at: new Date().toISOString(),
          version: eb('version', '+', 1),
        }))
        .where('id', '=', id)
        .where('tls', '=', row!.tls)
        .execute();
      return true;
    });
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('devices').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Records desired config base and/or streaming state for many devices (inside a job's
   * transaction). Returns each device's version after the write.
   */
  async setDesired(
    tx: Transaction<Database>,
    ids: readonly string[],
    desired: DesiredUpdate,
  ): Promise<Map<string, number>> {
    const set: Partial<Row> = { updated_at: new Date().toISOString() };
    if (desired.base) {
      if ('profileId' in desired.base) {
        set.profile_id = desired.base.profileId;
        set.base_config = null;
      } else {
        set.profile_id = null;
        set.base_config = sealJson(desired.base.config, this.box);
      }
    }
    if (desired.state) set.desired_state = desired.state;
    const versions = new Map<string, number>();
    for (const chunk of chunks(ids, 500)) {
      const rows = await tx
        .updateTable('devices')
        .set((eb) => ({ ...set, version: eb('version', '+', 1) }))
        .where('id', 'in', chunk)
        .returning(['id', 'version'])
        .execute();
      for (const r of rows) versions.set(r.id, Number(r.version));
    }
    return versions;
  }

  /**
   * Bulk import in one transaction: every row is checked against the stored inventory first (names,
   * host:port, profiles) and any clash imports nothing. `upsert` updates devices of the same name;
   * a cell left empty keeps the stored value (re-importing an export without passwords is safe).
   */
  async importMany(
    rows: readonly ImportRow[],
    mode: 'create' | 'upsert',
    /** The importing key's scope: every row must stay inside it, and touch no device outside it. */
    scope?: Selector,
  ): Promise<{ created: number; updated: number }> {
    return this.db.transaction().execute(async (tx) => {
      const problems: RowProblem[] = [];
      const profileIds = new Map<string, string>();
      for (const part of chunks([...new Set(rows.flatMap((r) => (r.profile ? [r.profile] : [])))], 500)) {
        for (const p of await tx
          .selectFrom('profiles')
          .select(['id', 'name'])
          .where('name', 'in', part)
          .execute())
          profileIds.set(p.name, p.id);
      }
      const byName = new Map<string, { id: string; name: string; vendor: string }>();
      for (const part of chunks([...new Set(rows.map((r) => r.name))], 500)) {
        for (const d of await tx
          .selectFrom('devices')
          .select(['id', 'name', 'vendor'])
          .where('name', 'in', part)
          .execute())
          byName.set(d.name, d);
      }
      const byAddress = new Map<string, string>();
      for (const part of chunks([...new Set(rows.map((r) => r.host))], 500)) {
        for (const d of await tx
          .selectFrom('devices')
          .select(['name', 'host', 'port'])
          .where('host', 'in', part)
          .execute()) {
          byAddress.set(`${d.host}:${d.port}`, d.name);
        }
      }
      const existingLabels = new Map<string, Record<string, string>>();
      if (scope) {
        for (const part of chunks(
          [...byName.values()].map((d) => d.id),
          500,
        )) {
          for (const l of await tx
            .selectFrom('device_labels')
            .selectAll()
            .where('device_id', 'in', part)
            .execute())
            existingLabels.set(l.device_id, { ...existingLabels.get(l.device_id), [l.key]: l.value });
        }
      }
      for (const r of rows) {
        if (scope) {
          const existing = byName.get(r.name);
          const before = existing && {
            vendor: existing.vendor,
            labels: existingLabels.get(existing.id) ?? {},
          };
          if (before && !matches(scope, before))
            problems.push({ row: r.row, field: 'name', reason: "names a device outside this key's scope" });
          else if (!matches(scope, { vendor: r.vendor, labels: r.labels ?? before?.labels ?? {} }))
            problems.push({
              row: r.row,
              field: 'labels',
              reason: "would put the device outside this key's scope",
            });
        }
        if (r.profile && !profileIds.has(r.profile))
          problems.push({ row: r.row, field: 'profile', reason: `no profile named "${r.profile}"` });
        if (byName.has(r.name) && mode === 'create')
          problems.push({ row: r.row, field: 'name', reason: `a device named "${r.name}" already exists` });
        // Conservative on purpose: an address held by another device clashes even if this import
        // moves that device elsewhere (a swap takes two imports).
        const holder = byAddress.get(`${r.host}:${r.port}`);
        if (holder && holder !== r.name)
          problems.push({
            row: r.row,
            field: 'host',
            reason: `${r.host}:${r.port} is already used by device "${holder}"`,
          });
      }
      if (problems.length) throw new ImportRejectedError(problems.sort((a, b) => a.row - b.row));

      const fresh: NewDevice[] = [];
      let updated = 0;
      const now = new Date().toISOString();
      for (const r of rows) {
        const existing = byName.get(r.name);
        const profileId = r.profile ? profileIds.get(r.profile) : undefined;
        if (!existing) {
          fresh.push({
            name: r.name,
            vendor: r.vendor,
            host: r.host,
            port: r.port,
            ...(r.tls ? { tls: r.tls } : {}),
            ...(r.username ? { username: r.username } : {}),
            ...(r.password ? { password: r.password } : {}),
            ...(r.labels ? { labels: r.labels } : {}),
            ...(profileId ? { profileId } : {}),
          });
          continue;
        }
        updated++;
        await tx
          .updateTable('devices')
          .set((eb) => ({
            vendor: r.vendor,
            host: r.host,
            port: r.port,
            ...(r.username !== undefined ? { username: r.username } : {}),
            ...(r.password !== undefined ? { password: this.box.encrypt(r.password) } : {}),
            ...(profileId !== undefined ? { profile_id: profileId, base_config: null } : {}),
            ...(r.tls !== undefined ? { tls: JSON.stringify(r.tls) } : {}),
            updated_at: now,
            version: eb('version', '+', 1),
          }))
          .where('id', '=', existing.id)
          .execute();
        if (r.labels) {
          await tx.deleteFrom('device_labels').where('device_id', '=', existing.id).execute();
          const labels = Object.entries(r.labels).map(([key, value]) => ({
            device_id: existing.id,
            key,
            value,
          }));
          if (labels.length) await tx.insertInto('device_labels').values(labels).execute();
        }
      }
      await this.insertMany(fresh, tx);
      return { created: fresh.length, updated };
    });
  }

  /** Ids and versions of the devices changed since `since` (ISO time). */
  async versionsChangedSince(since: string): Promise<{ id: string; version: number }[]> {
    const rows = await this.db
      .selectFrom('devices')
      .select(['id', 'version'])
      .where('updated_at', '>=', since)
      .execute();
    return rows.map((r) => ({ id: r.id, version: Number(r.version) }));
  }

  async allIds(): Promise<string[]> {
    return (await this.db.selectFrom('devices').select('id').execute()).map((r) => r.id);
  }

  /** Devices with these names or host:port pairs already stored (for import conflict reports). */
  async findClashes(names: readonly string[], endpoints: readonly { host: string; port: number }[]) {
    const byName = new Set<string>();
    for (const chunk of chunks(names, 500)) {
      for (const r of await this.db.selectFrom('devices').select('name').where('name', 'in', chunk).execute())
        byName.add(r.name);
    }
    const hosts = [...new Set(endpoints.map((e) => e.host))];
    const byEndpoint = new Map<string, string>();
    for (const chunk of chunks(hosts, 500)) {
      const rows = await this.db
        .selectFrom('devices')
        .select(['host', 'port', 'name'])
        .where('host', 'in', chunk)
        .execute();
      for (const r of rows) byEndpoint.set(`${r.host}:${r.port}`, r.name);
    }
    return { names: byName, endpoints: byEndpoint };
  }

  private filter(eb: Eb, query: DeviceQuery): Expression<SqlBool> {
    const conditions: Expression<SqlBool>[] = [];
    if (query.ids) conditions.push(query.ids.length ? eb('devices.id', 'in', [...query.ids]) : eb.lit(false));
    if (query.vendor) conditions.push(vendorCondition(eb, query.vendor));
    if (query.text) {
      const pattern = `%${query.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(
        eb.or([
          sql<SqlBool>`lower(${eb.ref('devices.name')}) like ${pattern} escape '\\'`,
          sql<SqlBool>`lower(${eb.ref('devices.host')}) like ${pattern} escape '\\'`,
        ]),
      );
    }
    if (query.state) {
      // A device never polled has no row; it counts as "unknown".
      const known = (state: string, op: '=' | '!=') =>
        eb.exists(
          eb
            .selectFrom('device_observed')
            .select('device_observed.device_id')
            .whereRef('device_observed.device_id', '=', 'devices.id')
            .where('device_observed.stream_state', op, state),
        );
      conditions.push(query.state === 'unknown' ? eb.not(known('unknown', '!=')) : known(query.state, '='));
    }
    for (const column of ['model', 'firmware'] as const) {
      const wanted = query[column];
      if (wanted === undefined) continue;
      conditions.push(
        eb.exists(
          eb
            .selectFrom('device_observed')
            .select('device_observed.device_id')
            .whereRef('device_observed.device_id', '=', 'devices.id')
            .where(`device_observed.${column}`, '=', wanted),
        ),
      );
    }
    if (query.selector?.length) conditions.push(deviceSelectorCondition(eb, query.selector));
    return conditions.length ? eb.and(conditions) : eb.lit(true);
  }

  /** Whether a device with this id exists (cheaper than reading it). */
  async exists(id: string): Promise<boolean> {
    return (
      (await this.db.selectFrom('devices').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
    );
  }

  private async withLabels(rows: readonly Row[]): Promise<DeviceRecord[]> {
    const labels = await this.labelsOf(rows.map((r) => r.id));
    return rows.map((r) => this.toRecord(r, labels.get(r.id) ?? {}));
  }

  private async labelsOf(ids: readonly string[]): Promise<Map<string, Record<string, string>>> {
    const labels = new Map<string, Record<string, string>>();
    for (const chunk of chunks(ids, 500)) {
      const found = await this.db
        .selectFrom('device_labels')
        .selectAll()
        .where('device_id', 'in', chunk)
        .execute();
      for (const l of found) {
        const set = labels.get(l.device_id) ?? {};
        set[l.key] = l.value;
        labels.set(l.device_id, set);
      }
    }
    return labels;
  }

  private toRecord(row: Row, labels: Readonly<Record<string, string>>): DeviceRecord {
    const overrides = openJson<ConfigOverrides>(row.overrides, this.box);
    const baseConfig = openJson<JobConfig>(row.base_config, this.box);
    return {
      id: row.id,
      name: row.name,
      vendor: row.vendor as VendorId,
      host: row.host,
      port: row.port,
      tls: JSON.parse(row.tls) as DeviceTls,
      ...(row.username !== null ? { username: row.username } : {}),
      hasPassword: row.password !== null,
      labels,
      ...(row.profile_id !== null ? { profileId: row.profile_id } : {}),
      ...(overrides ? { overrides } : {}),
      ...(baseConfig ? { baseConfig } : {}),
      ...(row.desired_state !== null ? { desiredState: row.desired_state as DesiredStreamState } : {}),
      driftPolicy: row.drift_policy as DriftPolicy,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      version: Number(row.version),
    };
  }
}

/** A label selector as SQL on `devices` (the same rules as `matches` in fleet/selector.ts). */
export function deviceSelectorCondition(eb: Eb, selector: Selector): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  for (const r of selector) {
    if (r.key === 'vendor') {
      const hit = eb.or(r.values.map((v) => vendorCondition(eb, v)));
      if (r.op === 'eq' || r.op === 'in') conditions.push(hit);
      else if (r.op === 'neq' || r.op === 'notin') conditions.push(eb.not(hit));
      else if (r.op === 'absent') conditions.push(eb.lit(false));
      continue;
    }
    let labels = eb
      .selectFrom('device_labels')
      .select('device_labels.device_id')
      .whereRef('device_labels.device_id', '=', 'devices.id')
      .where('device_labels.key', '=', r.key);
    if (r.values.length) labels = labels.where('device_labels.value', 'in', [...r.values]);
    const present = eb.exists(labels);
    conditions.push(r.op === 'eq' || r.op === 'in' || r.op === 'exists' ? present : eb.not(present));
  }
  return conditions.length ? eb.and(conditions) : eb.lit(true);
}

/** `vendor=teradek` matches the vendor id itself or any id of that family (`teradek-…`). */
function vendorCondition(eb: Eb, name: string): Expression<SqlBool> {
  const family = `${name.replace(/[\\%_]/g, (c) => `\\${c}`)}-%`;
  return eb.or([
    eb('devices.vendor', '=', name),
    sql<SqlBool>`${eb.ref('devices.vendor')} like ${family} escape '\\'`,
  ]);
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

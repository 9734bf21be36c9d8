/**
 * The device inventory as the API sees it: adding a device never contacts it (devices are often
 * offline when they are entered); vendor defaults are filled in; profiles are referred to by name
 * or id; every change is a versioned write.
 */
import { type Static, Type } from '@sinclair/typebox';
import { DeviceTls, type VendorId } from '../../drivers/contract.js';
import { getDriverModule } from '../../drivers/index.js';
import { ApiError, BadRequestError, NotFoundError } from '../api/errors.js';
import { assertShorthands } from '../ingest/expand.js';
import { AddressRefusedError, refusedAsBadRequest } from '../security/network-guard.js';
import type { DevicePatch, DeviceQuery, DeviceRecord, DeviceRepo, NewDevice } from '../store/devices.js';
import { ImportRejectedError, type RowProblem } from '../store/errors.js';
import type { ProfileRecord, ProfileRepo } from '../store/profiles.js';
import type { DesiredConfigs } from './desired-config.js';
import { Credentials, DeviceName, DriftPolicyField, LabelMap, VendorField } from './device-fields.js';
import { ConfigOverrides, effectiveConfig } from './effective-config.js';
import { normaliseHost } from './host.js';
import { type ImportFormat, type ImportRow, parseImport } from './import.js';
import { inventoryCsv } from './inventory-export.js';
import { checkLabels } from './labels.js';
import {
  formatSelector,
  type Labelled,
  matches,
  parseSelector,
  type Selector,
  SelectorError,
} from './selector.js';

export const DeviceCreate = Type.Object(
  {
    name: DeviceName,
    vendor: VendorField,
    host: Type.String({ format: 'host', minLength: 1, maxLength: 253 }),
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: "Default: the vendor's port (Talon 80, Videon 2020, Teradek 80).",
      }),
    ),
    tls: Type.Optional(DeviceTls),
    credentials: Type.Optional(Credentials),
    labels: Type.Optional(LabelMap),
    profile: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Profile id or name to follow.' }),
    ),
    overrides: Type.Optional(ConfigOverrides),
    driftPolicy: Type.Optional(DriftPolicyField),
  },
  { additionalProperties: false, $id: 'DeviceCreate', title: 'DeviceCreate' },
);
export type DeviceCreate = Static<typeof DeviceCreate>;

export const DevicePatchBody = Type.Object(
  {
    name: Type.Optional(DeviceName),
    host: Type.Optional(Type.String({ format: 'host', minLength: 1, maxLength: 253 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    tls: Type.Optional(DeviceTls),
    credentials: Type.Optional(Type.Union([Credentials, Type.Null()])),
    labels: Type.Optional(LabelMap),
    profile: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
    overrides: Type.Optional(Type.Union([ConfigOverrides, Type.Null()])),
    driftPolicy: Type.Optional(DriftPolicyField),
  },
  { additionalProperties: false, minProperties: 1, $id: 'DevicePatch', title: 'DevicePatch' },
);
export type DevicePatchBody = Static<typeof DevicePatchBody>;

export interface DeviceDetail {
  readonly device: DeviceRecord;
  readonly profile?: ProfileRecord;
  /** base ⊕ overrides, unvalidated (may be incomplete). */
  readonly effective?: Record<string, unknown>;
}

export interface InventoryOptions {
  /** Told after every inventory change (the monitor starts polling a new device at once). */
  readonly onChange?: () => void;
  /** The SSRF guard's check of a device host; throws AddressRefusedError. */
  readonly checkHost?: (host: string) => Promise<void>;
}

/**
 * Methods that take a `scope` act for a caller limited to the devices matching it: other devices
 * do not exist for it (404), and it cannot move a device out of its scope or add one outside it.
 */
export class Inventory {
  private readonly onChange: () => void;

  constructor(
    private readonly devices: DeviceRepo,
    private readonly profiles: ProfileRepo,
    private readonly configs: DesiredConfigs,
    private readonly opts: InventoryOptions = {},
  ) {
    this.onChange = opts.onChange ?? (() => {});
  }

  async create(input: DeviceCreate, scope?: Selector): Promise<DeviceDetail> {
    checkLabelSet(input.labels);
    checkScope(scope, { vendor: input.vendor, labels: input.labels ?? {} });
    await this.checkHost(input.host, 'body/host');
    const profile = input.profile ? await this.profileFor(input.profile) : undefined;
    if (input.overrides)
      assertShorthands(effectiveConfig(profile?.config, input.overrides), 'body/overrides');
    const device = await this.devices.create(this.toNew(input, profile?.id));
    this.onChange();
    return this.detail(device, profile);
  }

  /** The stored fields of a new device: vendor default port, credentials split for encryption. */
  toNew(input: DeviceCreate, profileId?: string): NewDevice {
    return {
      name: input.name,
      vendor: input.vendor,
      host: normaliseHost(input.host),
      port: input.port ?? defaultPort(input.vendor),
      ...(input.tls ? { tls: input.tls } : {}),
      ...(input.credentials
        ? { username: input.credentials.username, password: input.credentials.password }
        : {}),
      ...(input.labels ? { labels: input.labels } : {}),
      ...(profileId ? { profileId } : {}),
      ...(input.overrides ? { overrides: input.overrides } : {}),
      ...(input.driftPolicy ? { driftPolicy: input.driftPolicy } : {}),
    };
  }

  /** @throws NotFoundError when there is no such device */
  async mustExist(id: string): Promise<void> {
    if (!(await this.devices.exists(id))) throw new NotFoundError('device', id);
  }

  async get(id: string, scope?: Selector): Promise<DeviceDetail> {
    const device = await this.devices.get(id);
    if (!device || (scope && !matches(scope, device))) throw new NotFoundError('device', id);
    const profile = device.profileId ? await this.profiles.get(device.profileId) : undefined;
    return this.detail(device, profile);
  }

  async update(
    id: string,
    patch: DevicePatchBody,
    expectedVersion?: number,
    scope?: Selector,
  ): Promise<DeviceDetail> {
    checkLabelSet(patch.labels);
    if (scope) {
      const { device } = await this.get(id, scope);
      checkScope(scope, { vendor: device.vendor, labels: patch.labels ?? device.labels });
    }
    if (patch.host !== undefined) await this.checkHost(patch.host, 'body/host');
    const profile = typeof patch.profile === 'string' ? await this.profileFor(patch.profile) : undefined;
    if (patch.overrides) {
      const current = await this.devices.get(id);
      const currentProfile = current?.profileId ? await this.profiles.get(current.profileId) : undefined;
      const base =
        patch.profile === undefined ? (currentProfile?.config ?? current?.baseConfig) : profile?.config;
      assertShorthands(effectiveConfig(base, patch.overrides), 'body/overrides');
    }
    const change: DevicePatch = {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.host !== undefined ? { host: normaliseHost(patch.host) } : {}),
      ...(patch.port !== undefined ? { port: patch.port } : {}),
      ...(patch.tls !== undefined ? { tls: patch.tls } : {}),
      ...(patch.credentials !== undefined
        ? { username: patch.credentials?.username ?? null, password: patch.credentials?.password ?? null }
        : {}),
      ...(patch.labels !== undefined ? { labels: patch.labels } : {}),
      ...(patch.profile !== undefined ? { profileId: profile?.id ?? null } : {}),
      ...(patch.overrides !== undefined ? { overrides: patch.overrides } : {}),
      ...(patch.driftPolicy !== undefined ? { driftPolicy: patch.driftPolicy } : {}),
    };
    await this.devices.update(id, change, expectedVersion);
    this.onChange();
    return this.get(id);
  }

  async remove(id: string, scope?: Selector): Promise<void> {
    if (scope) await this.get(id, scope);
    if (!(await this.devices.delete(id))) throw new NotFoundError('device', id);
    this.onChange();
  }

  /**
   * Bulk import of a CSV or JSON file: all rows or none (`create`), or create-or-update by name
   * (`upsert`). Every problem is reported with its row number; nothing is stored if there is one.
   */
  async import(text: string, format: ImportFormat, mode: 'create' | 'upsert', scope?: Selector) {
    const parsed = parseImport(text, format, { defaultPort: (vendor) => defaultPort(vendor) });
    if (parsed.errors.length) throw new ImportRejectedError(parsed.errors);
    const refused = await this.refusedHosts(parsed.rows);
    if (refused.length) throw new ImportRejectedError(refused);
    const result = await this.devices.importMany(parsed.rows, mode, scope);
    this.onChange();
    return { ...result, rows: parsed.rows.length };
  }

  async list(query: Omit<DeviceQuery, 'selector'> & { selector?: string }, scope?: Selector) {
    const { selector, ...rest } = query;
    const wanted = [...(scope ?? []), ...(selector ? selectorOf(selector) : [])];
    return this.devices.list({ ...rest, ...(wanted.length ? { selector: wanted } : {}) });
  }

  /** The devices `selector` matches (all without one), as the import's CSV; see inventory-export.ts. */
  async exportCsv(selector?: string, scope?: Selector): Promise<string> {
    const wanted = [...(scope ?? []), ...(selector ? selectorOf(selector) : [])];
    const [devices, profiles] = await Promise.all([
      this.devices.resolve(wanted.length ? { selector: wanted } : {}),
      this.profiles.list(),
    ]);
    return inventoryCsv(devices, new Map(profiles.map((p) => [p.id, p.name])));
  }

  /** The SSRF guard's verdict on a host, as a 400 naming the field. */
  private checkHost(host: string, field: string): Promise<void> {
    return refusedAsBadRequest(field, () => this.opts.checkHost?.(normaliseHost(host)));
  }

  /** Import rows whose host the SSRF guard refuses (each distinct host is checked once). */
  private async refusedHosts(rows: readonly ImportRow[]): Promise<RowProblem[]> {
    const check = this.opts.checkHost;
    if (!check) return [];
    const verdicts = new Map<string, string | undefined>();
    const hosts = [...new Set(rows.map((r) => r.host))];
    // A few names resolved at once; IP literals are answered without waiting.
    for (let i = 0; i < hosts.length; i += 16) {
      await Promise.all(
        hosts.slice(i, i + 16).map(async (host) => {
          try {
            await check(host);
            verdicts.set(host, undefined);
          } catch (err) {
            if (!(err instanceof AddressRefusedError)) throw err;
            verdicts.set(host, err.message);
          }
        }),
      );
    }
    return rows.flatMap((r) => {
      const reason = verdicts.get(r.host);
      return reason ? [{ row: r.row, field: 'host', reason }] : [];
    });
  }

  private async detail(device: DeviceRecord, profile?: ProfileRecord): Promise<DeviceDetail> {
    const base = profile?.config ?? device.baseConfig;
    const effective = this.configs.effective(base, device.overrides);
    return { device, ...(profile ? { profile } : {}), ...(effective ? { effective } : {}) };
  }

  private async profileFor(idOrName: string): Promise<ProfileRecord> {
    const profile = await this.profiles.get(idOrName);
    if (!profile)
      throw new ApiError(422, 'unknown_profile', `profile ${JSON.stringify(idOrName)} does not exist`);
    return profile;
  }
}

export function defaultPort(vendor: VendorId): number {
  return getDriverModule(vendor).defaultPort;
}

/** `vendor` is answered from the vendor column, so it may not be a label (nor any invalid key). */
function checkLabelSet(labels: Readonly<Record<string, string>> | undefined): void {
  const problems = checkLabels(labels ?? {});
  if (problems.length) {
    const details = problems.map((p) => ({ field: `body/labels/${p.key}`, reason: p.reason }));
    throw new BadRequestError(details.map((d) => `${d.field} ${d.reason}`).join('; '), details);
  }
}

/** Refuses a device that would lie outside the caller's scope. */
function checkScope(scope: Selector | undefined, device: Labelled): void {
  if (scope && !matches(scope, device)) {
    throw new ApiError(
      403,
      'out_of_scope',
      `the device's labels would put it outside this API key's scope (${formatSelector(scope)})`,
      { field: 'body/labels' },
    );
  }
}

/** Parses a selector from a request, as a 400 naming the field and position when it is malformed. */
export function selectorOf(text: string, field = 'selector'): Selector {
  try {
    return parseSelector(text);
  } catch (err) {
    if (err instanceof SelectorError)
      throw new BadRequestError(`${field}: ${err.reason} at position ${err.position + 1}`, [
        { field, reason: `${err.reason} at position ${err.position + 1}` },
      ]);
    throw err;
  }
}

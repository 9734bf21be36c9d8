/**
 * The device inventory as the API sees it: adding a device never contacts it (devices are often
 * offline when they are entered); vendor defaults are filled in; profiles are referred to by name
 * or id; every change is a versioned write.
 */
import { type Static, Type } from '@sinclair/typebox';
import { DeviceTls, type VendorId } from '../../drivers/contract.js';
import { getDriverModule } from '../../drivers/index.js';
import { ApiError, BadRequestError, NotFoundError } from '../api/errors.js';
import type { DevicePatch, DeviceQuery, DeviceRecord, DeviceRepo, NewDevice } from '../store/devices.js';
import { ImportRejectedError } from '../store/errors.js';
import type { ProfileRecord, ProfileRepo } from '../store/profiles.js';
import { Credentials, DeviceName, DriftPolicyField, LabelMap, VendorField } from './device-fields.js';
import { ConfigOverrides, effectiveConfig } from './effective-config.js';
import { normaliseHost } from './host.js';
import { type ImportFormat, parseImport } from './import.js';
import { checkLabels } from './labels.js';
import { parseSelector, type Selector, SelectorError } from './selector.js';

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

export class Inventory {
  constructor(
    private readonly devices: DeviceRepo,
    private readonly profiles: ProfileRepo,
    /** Told after every inventory change (the monitor starts polling a new device at once). */
    private readonly onChange: () => void = () => {},
  ) {}

  async create(input: DeviceCreate): Promise<DeviceDetail> {
    checkLabelSet(input.labels);
    const profile = input.profile ? await this.profileFor(input.profile) : undefined;
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

  async get(id: string): Promise<DeviceDetail> {
    const device = await this.devices.get(id);
    if (!device) throw new NotFoundError('device', id);
    const profile = device.profileId ? await this.profiles.get(device.profileId) : undefined;
    return this.detail(device, profile);
  }

  async update(id: string, patch: DevicePatchBody, expectedVersion?: number): Promise<DeviceDetail> {
    checkLabelSet(patch.labels);
    const profile = typeof patch.profile === 'string' ? await this.profileFor(patch.profile) : undefined;
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

  async remove(id: string): Promise<void> {
    if (!(await this.devices.delete(id))) throw new NotFoundError('device', id);
    this.onChange();
  }

  /**
   * Bulk import of a CSV or JSON file: all rows or none (`create`), or create-or-update by name
   * (`upsert`). Every problem is reported with its row number; nothing is stored if there is one.
   */
  async import(text: string, format: ImportFormat, mode: 'create' | 'upsert') {
    const parsed = parseImport(text, format, { defaultPort: (vendor) => defaultPort(vendor) });
    if (parsed.errors.length) throw new ImportRejectedError(parsed.errors);
    const result = await this.devices.importMany(parsed.rows, mode);
    this.onChange();
    return { ...result, rows: parsed.rows.length };
  }

  async list(query: Omit<DeviceQuery, 'selector'> & { selector?: string }) {
    const { selector, ...rest } = query;
    return this.devices.list({ ...rest, ...(selector ? { selector: selectorOf(selector) } : {}) });
  }

  private async detail(device: DeviceRecord, profile?: ProfileRecord): Promise<DeviceDetail> {
    const base = profile?.config ?? device.baseConfig;
    const effective = effectiveConfig(base, device.overrides);
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

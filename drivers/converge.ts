/**
 * Config as a transaction, shared by every driver: read → diff → write only what differs → read back
 * → compare. Drivers supply the vendor reads and writes; the plan and the comparison live here once.
 */
import {
  type ApplyOptions,
  type ApplyResult,
  type AudioSettings,
  type Capabilities,
  type ConfigChange,
  checkCapabilities,
  type DeviceConfig,
  type DeviceRef,
  type EncoderConfig,
  type Rendition,
  type Target,
  UnsupportedConfigError,
  type VideoSettings,
} from './contract.js';

/**
 * Target fields that carry credentials. `streamId` is among them because ingests such as nanoStream
 * put the stream name, which is the publishing secret, into the SRT stream id (`push:<name>`).
 */
export const SECRET_TARGET_FIELDS = ['streamKey', 'passphrase', 'bearerToken', 'streamId'] as const;

/** How a secret is shown: that it is set, and its last four characters when that gives little away. */
export interface SecretView {
  readonly set: true;
  readonly last4?: string;
}

/**
 * The one way secrets are shown: never in full; the last four characters only when the secret is
 * long enough (12+) that they do not give much of it away.
 * @example maskSecret('ABCDE-XYZ12-77QQ') → { set: true, last4: '77QQ' }; maskSecret('short') → { set: true }
 */
export function maskSecret(value: string): SecretView {
  return value.length >= 12 ? { set: true, last4: value.slice(-4) } : { set: true };
}

/** A copy of the target fit for logs, diffs and API replies. */
export function describeTarget(target: Target): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...target };
  for (const field of SECRET_TARGET_FIELDS) {
    const value = shown[field];
    if (typeof value === 'string') shown[field] = maskSecret(value);
  }
  return shown;
}

/**
 * What would change on the device to make it match `desired`. The target is managed as a whole
 * (a field absent from the desired target is cleared on the device); video and audio fields are
 * managed only where `desired` names them. Secret values are masked in the result.
 * @example diffConfig({ target, video: { codec: 'h264', bitrateKbps: 1500 } }, { target, video: { codec: 'h264', bitrateKbps: 2500 } })
 *   → [{ path: 'video.bitrateKbps', from: 2500, to: 1500 }]
 */
export function diffConfig(desired: EncoderConfig, observed: DeviceConfig): ConfigChange[] {
  const changes: ConfigChange[] = [];
  diffOutput('', desired, observed, changes);
  // Renditions are compared only when both sides have them: absent on the device = not read.
  if (desired.renditions && observed.renditions) {
    const count = Math.max(desired.renditions.length, observed.renditions.length);
    for (let i = 0; i < count; i++) {
      const want = desired.renditions[i];
      const have = observed.renditions[i];
      const path = `renditions.${i}`;
      if (want) diffOutput(`${path}.`, want, have ?? {}, changes);
      else if (have?.target) changes.push({ path, from: describeTarget(have.target), to: null });
    }
  }
  return changes;
}

/** The changes of one output (the main one, or a rendition), paths prefixed with `prefix`. */
function diffOutput(
  prefix: string,
  desired: Pick<EncoderConfig, 'target' | 'video' | 'audio'>,
  observed: DeviceConfig,
  changes: ConfigChange[],
): void {
  const have = observed.target;
  const want = desired.target;
  if (!have || have.protocol !== want.protocol) {
    changes.push({
      path: `${prefix}target`,
      from: have ? describeTarget(have) : null,
      to: describeTarget(want),
    });
  } else {
    const haveFields = have as Record<string, unknown>;
    const wantFields = want as Record<string, unknown>;
    const keys = new Set([...Object.keys(haveFields), ...Object.keys(wantFields)]);
    for (const key of keys) {
      if (!sameValue(haveFields[key], wantFields[key])) {
        const secret = (SECRET_TARGET_FIELDS as readonly string[]).includes(key);
        changes.push({
          path: `${prefix}target.${key}`,
          from: show(haveFields[key], secret),
          to: show(wantFields[key], secret),
        });
      }
    }
  }
  diffSection(`${prefix}video`, desired.video, observed.video, changes);
  diffSection(`${prefix}audio`, desired.audio, observed.audio, changes);
}

function diffSection(
  name: string,
  want: VideoSettings | AudioSettings | undefined,
  have: Partial<VideoSettings> | Partial<AudioSettings> | undefined,
  changes: ConfigChange[],
): void {
  if (!want) return;
  const haveFields = (have ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(want)) {
    if (value !== undefined && !sameValue(haveFields[key], value)) {
      changes.push({ path: `${name}.${key}`, from: haveFields[key] ?? null, to: value });
    }
  }
}

function show(value: unknown, secret: boolean): unknown {
  if (value === undefined) return null;
  return secret && typeof value === 'string' ? maskSecret(value) : value;
}

/** Frame rates such as 29.97 come back as 29.970029…; compare numbers to 1/100. */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) < 0.01;
  return (a ?? null) === (b ?? null);
}

/** The sections of a config a driver must write; each is the complete desired section. */
export interface ConfigWrite {
  target?: Target;
  video?: VideoSettings;
  audio?: AudioSettings;
  /**
   * Renditions to write, by index (output `i + 2`): the whole desired rendition, or `null` to clear
   * that output. Indexes not present are left as they are.
   */
  renditions?: ReadonlyMap<number, Rendition | null>;
}

export interface ConvergeSteps {
  readonly ref: DeviceRef;
  readonly capabilities: Capabilities;
  /** Reads and normalises the device's current config (with its renditions when `renditions`). */
  read(renditions: boolean): Promise<DeviceConfig>;
  /** Writes the given sections; `current` is what `read` returned just before. */
  write(sections: ConfigWrite, current: DeviceConfig): Promise<void>;
  /** The caller's hook from ApplyOptions, told before the first write. */
  readonly onWrite?: ApplyOptions['onWrite'];
}

/**
 * Converges a device to `desired` and reports what happened. Refuses unsupported settings before
 * any read or write; writes nothing when the device already matches.
 */
export async function convergeConfig(desired: EncoderConfig, steps: ConvergeSteps): Promise<ApplyResult> {
  const problems = checkCapabilities(steps.capabilities, desired);
  if (problems.length) throw new UnsupportedConfigError(steps.ref, problems);

  const withRenditions = desired.renditions !== undefined;
  const current = await steps.read(withRenditions);
  const changes = diffConfig(desired, current);
  if (!changes.length) return { changes, readBack: current, deviations: [] };

  const sections: ConfigWrite = {};
  for (const section of ['target', 'video', 'audio'] as const) {
    if (changes.some((c) => c.path === section || c.path.startsWith(`${section}.`))) {
      Object.assign(sections, { [section]: desired[section] });
    }
  }
  const renditions = new Map<number, Rendition | null>();
  for (const change of changes) {
    const index = /^renditions\.(\d+)/.exec(change.path)?.[1];
    if (index !== undefined) renditions.set(Number(index), desired.renditions?.[Number(index)] ?? null);
  }
  if (renditions.size) sections.renditions = renditions;
  steps.onWrite?.(changes);
  await steps.write(sections, current);

  const readBack = await steps.read(withRenditions);
  return { changes, readBack, deviations: diffConfig(desired, readBack) };
}

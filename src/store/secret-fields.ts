/**
 * Encrypts the secret fields inside config-shaped JSON (a `target` with stream keys, passphrases,
 * tokens, stream ids, nanoStream stream names, also in each rendition's target) before it is
 * stored, and decrypts them after reading; the rest of the JSON stays readable in the database.
 */
import { SECRET_TARGET_FIELDS } from '../../drivers/converge.js';
import { SHORTHAND_SECRET_FIELDS } from '../ingest/nanostream-target.js';
import type { SecretBox } from '../security/secrets.js';

type Json = Record<string, unknown>;

/** Every secret field a stored target can have: concrete targets' and the shorthand's. */
export const CONFIG_SECRET_FIELDS: readonly string[] = [...SECRET_TARGET_FIELDS, ...SHORTHAND_SECRET_FIELDS];

/** Applies `fn` to every secret target field of a config: its target and each rendition's. */
export function mapTargetSecrets(config: unknown, fn: (value: string) => unknown): unknown {
  if (!config || typeof config !== 'object') return config;
  const c = config as Json;
  const out: Json = { ...c };
  if (c.target && typeof c.target === 'object') out.target = mapFields(c.target as Json, fn);
  if (Array.isArray(c.renditions))
    out.renditions = c.renditions.map((r: unknown) =>
      r && typeof r === 'object' && (r as Json).target && typeof (r as Json).target === 'object'
        ? { ...(r as Json), target: mapFields((r as Json).target as Json, fn) }
        : r,
    );
  return out;
}

function mapFields(target: Json, fn: (value: string) => unknown): Json {
  const sealed: Json = { ...target };
  for (const field of CONFIG_SECRET_FIELDS) {
    const value = sealed[field];
    if (typeof value === 'string') sealed[field] = fn(value);
  }
  return sealed;
}

/** JSON text with secret target fields encrypted; null for absent configs. */
export function sealJson(config: unknown, box: SecretBox): string | null {
  if (config === undefined || config === null) return null;
  return JSON.stringify(mapTargetSecrets(config, (v) => box.encrypt(v)));
}

export function openJson<T>(text: string | null, box: SecretBox): T | undefined {
  if (text === null) return undefined;
  return mapTargetSecrets(JSON.parse(text), (v) => box.decrypt(v)) as T;
}

/** Re-encrypts stored JSON under the box's current key (rotation); null when nothing changed. */
export function resealJson(text: string | null, box: SecretBox): string | null {
  if (text === null) return null;
  let stale = false;
  const config = mapTargetSecrets(JSON.parse(text), (v) => {
    if (box.isStale(v) || !v.startsWith('enc:')) stale = true;
    return v;
  });
  return stale
    ? sealJson(
        mapTargetSecrets(config, (v) => box.decrypt(v)),
        box,
      )
    : null;
}

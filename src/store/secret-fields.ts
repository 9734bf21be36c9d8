/**
 * Encrypts the secret fields inside config-shaped JSON (a `target` with stream keys, passphrases,
 * tokens, stream ids) before it is stored, and decrypts them after reading; the rest of the JSON
 * stays readable in the database.
 */
import { SECRET_TARGET_FIELDS } from '../../drivers/converge.js';
import type { SecretBox } from '../security/secrets.js';

type Json = Record<string, unknown>;

function mapTargetSecrets(config: unknown, fn: (value: string) => string): unknown {
  if (!config || typeof config !== 'object') return config;
  const target = (config as Json).target;
  if (!target || typeof target !== 'object') return config;
  const sealed: Json = { ...(target as Json) };
  for (const field of SECRET_TARGET_FIELDS) {
    const value = sealed[field];
    if (typeof value === 'string') sealed[field] = fn(value);
  }
  return { ...(config as Json), target: sealed };
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

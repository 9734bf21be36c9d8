/**
 * API key material. A key is `efk_` + 32 random bytes (base64url): far too much entropy to guess, so
 * a plain SHA-256 of it is a safe thing to store and to look keys up by (a slow password hash buys
 * nothing for random keys and would cost on every request). The key is shown once, when made.
 */
import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'efk_';
/** How much of a key is kept in clear, to recognise it in lists: `efk_` and 8 characters. */
const SHOWN_LENGTH = KEY_PREFIX.length + 8;

export interface NewKeyMaterial {
  /** The key itself: give it to its user once, never store or log it. */
  readonly secret: string;
  readonly hash: string;
  readonly prefix: string;
}

export function generateApiKey(): NewKeyMaterial {
  return keyMaterial(`${KEY_PREFIX}${randomBytes(32).toString('base64url')}`);
}

/** The stored form of a given key (ADMIN_API_KEY, or a key presented by a client). */
export function keyMaterial(secret: string): NewKeyMaterial {
  return { secret, hash: hashApiKey(secret), prefix: secret.slice(0, SHOWN_LENGTH) };
}

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The key from an `Authorization: Bearer <key>` header, or undefined when there is none or it is malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+([\x21-\x7e]{1,512})[ \t]*$/i.exec(header);
  return match?.[1];
}

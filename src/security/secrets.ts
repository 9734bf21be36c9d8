/**
 * Secrets at rest: AES-256-GCM, one token per secret value,
 *   enc:v1:<keyId>:<iv>:<tag>:<ciphertext>   (base64url parts; keyId = first 8 hex of SHA-256(key))
 * so a database dump shows that a secret exists and under which key, never the secret. Several keys
 * can be loaded at once: the current one encrypts, older ones still decrypt (key rotation).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const PREFIX = 'enc:v1:';
export const KEY_FILE = 'secret.key';

export class SecretKeyError extends Error {}

export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  /** `current` encrypts; `previous` keys only decrypt. Each key is 32 bytes. */
  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new SecretKeyError(`secret keys are 32 bytes; got ${key.length}`);
      this.keys.set(keyId(key), key);
    }
    this.currentKeyId = keyId(current);
  }

  encrypt(plain: string): string {
    const key = this.keys.get(this.currentKeyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.currentKeyId}:${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${data.toString('base64url')}`;
  }

  /** Decrypts a token; a value that is not a token is returned as is (rows written before encryption). */
  decrypt(value: string): string {
    if (!isToken(value)) return value;
    const [id, iv, tag, data] = value.slice(PREFIX.length).split(':') as [string, string, string, string];
    const key = this.keys.get(id);
    if (!key)
      throw new SecretKeyError(
        `a stored secret was encrypted with key ${id}, which is not loaded (SECRET_KEY / SECRET_KEY_PREVIOUS)`,
      );
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  /** True when the token was encrypted under a key other than the current one. */
  isStale(value: string): boolean {
    return isToken(value) && !value.startsWith(`${PREFIX}${this.currentKeyId}:`);
  }
}

export function isToken(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export function parseKey(text: string, name: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32)
    throw new SecretKeyError(
      `${name} must be 32 bytes, base64-encoded (openssl rand -base64 32); got ${key.length} bytes`,
    );
  return key;
}

export interface LoadedKeys {
  readonly box: SecretBox;
  /** The current key itself (for rotation tooling). */
  readonly key: Buffer;
  /** True when a new key file was written (the caller says so, loudly). */
  readonly generated: boolean;
  readonly keyFile?: string;
}

/**
 * The key comes from SECRET_KEY when set (several replicas must share one); otherwise from
 * `<dataDir>/secret.key`, generated with owner-only permissions on first start. A key file that
 * others can read is refused rather than used.
 */
export async function loadSecretKeys(opts: {
  secretKey?: string;
  previousKeys?: string;
  dataDir: string;
}): Promise<LoadedKeys> {
  const previous = (opts.previousKeys ?? '')
    .split(',')
    .filter((k) => k.trim())
    .map((k, i) => parseKey(k, `SECRET_KEY_PREVIOUS[${i}]`));
  if (opts.secretKey) {
    const key = parseKey(opts.secretKey, 'SECRET_KEY');
    return { box: new SecretBox(key, previous), key, generated: false };
  }

  const file = join(opts.dataDir, KEY_FILE);
  const info = await stat(file).catch(() => undefined);
  if (info) {
    if ((info.mode & 0o077) !== 0) {
      throw new SecretKeyError(
        `${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
      );
    }
    const key = parseKey(await readFile(file, 'utf8'), file);
    return { box: new SecretBox(key, previous), key, generated: false, keyFile: file };
  }
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { box: new SecretBox(key, previous), key, generated: true, keyFile: file };
}

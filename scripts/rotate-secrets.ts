/**
 * Re-encrypts every stored secret under a new key. Stop the service (all replicas) first.
 *
 *   Key file (embedded default):  npm run secrets:rotate
 *     generates a new key, re-encrypts, and replaces DATA_DIR/secret.key (the old key is kept
 *     beside it as secret.key.<id>.old until you delete it).
 *   SECRET_KEY in the environment:  SECRET_KEY_NEW=$(openssl rand -base64 32) npm run secrets:rotate
 *     re-encrypts under SECRET_KEY_NEW; then start the service with SECRET_KEY set to that value.
 */
import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { KEY_FILE, keyId, loadSecretKeys, parseKey, SecretBox } from '../src/security/secrets.js';
import { openStore } from '../src/store/index.js';
import { rotateSecrets } from '../src/store/rotate-secrets.js';

const config = loadConfig();
const current = await loadSecretKeys({
  ...(process.env.SECRET_KEY ? { secretKey: process.env.SECRET_KEY } : {}),
  dataDir: config.DATA_DIR,
});
if (current.generated) {
  console.error('no secret key existed yet, so there is nothing to rotate (a new key file was created).');
  process.exit(1);
}
const next = process.env.SECRET_KEY_NEW
  ? parseKey(process.env.SECRET_KEY_NEW, 'SECRET_KEY_NEW')
  : randomBytes(32);
const oldKey = current.key;
const box = new SecretBox(next, [oldKey]);
const store = await openStore({
  dataDir: config.DATA_DIR,
  ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
  box,
});
const result = await rotateSecrets(store, box);
await store.close();

if (current.keyFile && !process.env.SECRET_KEY_NEW) {
  await rename(current.keyFile, join(config.DATA_DIR, `${KEY_FILE}.${keyId(oldKey)}.old`));
  await writeFile(current.keyFile, `${next.toString('base64')}\n`, { mode: 0o600 });
  console.log(
    `re-encrypted ${result.rows} rows under key ${result.keyId}; ${current.keyFile} now holds the new key.`,
  );
} else {
  console.log(
    `re-encrypted ${result.rows} rows under key ${result.keyId}; start the service with SECRET_KEY set to the new key.`,
  );
}

/**
 * The first admin key. With ADMIN_API_KEY set, that key is an admin key. Otherwise a store with no
 * key at all gets a generated one, shown once (on standard error, never through the logger, whose
 * lines are shipped and kept); it cannot be shown again, only revoked and replaced.
 */
import type { Logger } from 'pino';
import type { ApiKeyRepo } from '../store/api-keys.js';
import { generateApiKey, keyMaterial } from './api-keys.js';

export async function ensureAdminKey(opts: {
  readonly keys: ApiKeyRepo;
  readonly adminKey?: string;
  readonly announce: (key: string) => void;
  readonly logger: Logger;
}): Promise<void> {
  if (opts.adminKey) {
    await opts.keys.ensureEnvKey(keyMaterial(opts.adminKey));
    return;
  }
  const fresh = generateApiKey();
  if (await opts.keys.insertBootstrapKey(fresh)) {
    opts.announce(fresh.secret);
    opts.logger.warn(
      { keyPrefix: fresh.prefix },
      'generated the first admin API key and printed it once on standard error; store it, or set ADMIN_API_KEY',
    );
  }
}

/** Writes the bootstrap key to standard error, set apart so it is hard to miss. */
export function printBootstrapKey(key: string): void {
  process.stderr.write(
    `\n  encoder-fleet: first start on an empty store. The admin API key (shown only this once):\n\n    ${key}\n\n  Send it as "Authorization: Bearer <key>". Make more keys with POST /v1/keys or npm run keys.\n\n`,
  );
}

/**
 * API keys from the command line, straight on the store (DATA_DIR or DATABASE_URL, as the service):
 *
 *   npm run keys -- create --name ci --role operator [--scope site=berlin]   prints the key once
 *   npm run keys -- list [--all]                                            never prints keys
 *   npm run keys -- revoke <id>                                             refused at once
 *
 * For when no admin key is at hand (a lost bootstrap key); otherwise use POST /v1/keys.
 */
import { Command, InvalidArgumentError } from 'commander';
import { keyView } from '../src/api/views.js';
import { loadConfig } from '../src/config.js';
import { formatSelector, parseSelector, SelectorError } from '../src/fleet/selector.js';
import { generateApiKey } from '../src/security/api-keys.js';
import { ROLES, type Role } from '../src/security/permissions.js';
import { ApiKeyRepo } from '../src/store/api-keys.js';
import { openDatabase } from '../src/store/db.js';

async function withKeys<T>(work: (keys: ApiKeyRepo) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase({
    dataDir: config.DATA_DIR,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
  });
  try {
    return await work(new ApiKeyRepo(db));
  } finally {
    await db.close();
  }
}

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

function scope(value: string): string {
  try {
    return formatSelector(parseSelector(value));
  } catch (err) {
    if (err instanceof SelectorError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

const program = new Command('keys').description('Manage encoder-fleet API keys on the store directly.');

program
  .command('create')
  .description('make a key and print it (once)')
  .requiredOption('--name <name>', 'who or what uses the key')
  .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
  .option('--scope <selector>', 'limit the key to devices matching this label selector', scope)
  .action(async (opts: { name: string; role: Role; scope?: string }) => {
    const material = generateApiKey();
    const key = await withKeys((keys) =>
      keys.create({
        name: opts.name,
        role: opts.role,
        ...(opts.scope ? { scope: opts.scope } : {}),
        prefix: material.prefix,
        hash: material.hash,
        source: 'cli',
      }),
    );
    process.stderr.write(
      `made key ${key.id} (${key.role}${key.scope ? `, scope ${key.scope}` : ''}); shown once:\n`,
    );
    process.stdout.write(`${material.secret}\n`);
  });

program
  .command('list')
  .description('list keys (never the keys themselves)')
  .option('--all', 'include revoked keys')
  .action(async (opts: { all?: boolean }) => {
    const keys = await withKeys((repo) => repo.list({ includeRevoked: !!opts.all }));
    process.stdout.write(`${JSON.stringify(keys.map(keyView), null, 2)}\n`);
  });

program
  .command('revoke')
  .description('revoke a key by id')
  .argument('<id>')
  .action(async (id: string) => {
    const done = await withKeys((keys) => keys.revoke(id, 'cli'));
    if (!done) {
      process.stderr.write(`no active key with id ${id}\n`);
      process.exitCode = 1;
    } else process.stderr.write(`revoked ${id}\n`);
  });

await program.parseAsync();

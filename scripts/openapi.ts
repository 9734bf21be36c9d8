/**
 * Writes openapi/openapi.json from the route schemas (the running service serves the same document
 * at /openapi.json). `--check` fails when the checked-in file is stale, for CI.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const file = join(import.meta.dirname, '..', 'openapi', 'openapi.json');
const check = process.argv.includes('--check');

const dataDir = await mkdtemp(join(tmpdir(), 'ef-openapi-'));
const app = await buildApp({
  config: loadConfig({ DATA_DIR: dataDir }),
  logger: pino({ level: 'silent' }),
  secretKey: randomBytes(32).toString('base64'),
  announceKey: () => {}, // a throw-away store: its generated admin key is of no use to anyone
});
await app.server.ready();
const document = `${JSON.stringify(app.server.swagger(), null, 2)}\n`;
await app.close();
await rm(dataDir, { recursive: true, force: true });

if (check) {
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current !== document) {
    console.error('openapi/openapi.json is stale: run `npm run openapi` and commit the result.');
    process.exit(1);
  }
  console.log('openapi/openapi.json is current');
} else {
  await writeFile(file, document);
  console.log(`wrote ${file}`);
}

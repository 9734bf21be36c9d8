/** `npm run keys`: make, list and revoke keys on the store directly; the service honours them at once. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { bearer, TEST_ADMIN_KEY } from '../helpers/service.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

describe('keys CLI', () => {
  let dir: string;
  let app: App;
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dir, DATABASE_URL: '' },
    });
  const status = async (key: string) =>
    (await app.server.inject({ method: 'GET', url: '/v1/devices', headers: bearer(key) })).statusCode;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ef-cli-'));
    app = await buildApp({
      config: loadConfig({ DATA_DIR: dir, ADMIN_API_KEY: TEST_ADMIN_KEY }),
      logger: pino({ level: 'silent' }),
      secretKey: randomBytes(32).toString('base64'),
    });
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a key the running service accepts, lists it without the key, revokes it', async () => {
    const made = await cli('create', '--name', 'ops laptop', '--role', 'viewer', '--scope', 'site = berlin');
    const key = made.stdout.trim();
    expect(key).toMatch(/^efk_[A-Za-z0-9_-]{43}$/);
    expect(await status(key)).toBe(200);

    const listed = JSON.parse((await cli('list')).stdout);
    const entry = listed.find((k: any) => k.name === 'ops laptop');
    expect(entry).toMatchObject({
      role: 'viewer',
      scope: 'site=berlin',
      source: 'cli',
      prefix: key.slice(0, 12),
    });
    expect(JSON.stringify(listed)).not.toContain(key);

    await cli('revoke', entry.id);
    expect(await status(key)).toBe(401);
  }, 30_000);

  it('refuses a bad role or scope, naming the option', async () => {
    await expect(cli('create', '--name', 'x', '--role', 'root')).rejects.toThrow(
      /--role .* must be one of viewer/,
    );
    await expect(cli('create', '--name', 'x', '--role', 'viewer', '--scope', 'site=')).rejects.toThrow(
      /--scope .* expected a value/,
    );
  }, 30_000);
});

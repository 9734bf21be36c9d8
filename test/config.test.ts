import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('fills in defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8080,
      LOG_LEVEL: 'info',
      DEVICE_TIMEOUT_MS: 5000,
      POLL_INTERVAL_MS: 10_000,
      HEAP_GROWTH_PERCENT: 50,
    });
    expect(config.DATA_DIR).toMatch(/\/data$/);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('reads numbers and treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '9000', CONCURRENCY: '50', HOST: '' })).toMatchObject({
      PORT: 9000,
      CONCURRENCY: 50,
      HOST: '127.0.0.1',
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be integer (got "abc")'],
    [{ PORT: '70000' }, 'PORT must be <= 65535 (got "70000")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of "fatal", "error"'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must match pattern'],
    [{ DATABASE_SCHEMA: 'fleet; drop table x' }, 'DATABASE_SCHEMA must match pattern'],
    [{ DEVICE_TIMEOUT_MS: '5' }, 'DEVICE_TIMEOUT_MS must be >= 100 (got "5")'],
    [{ POLL_INTERVAL_MS: '1.5' }, 'POLL_INTERVAL_MS must be integer'],
    [{ HEAP_GROWTH_PERCENT: '-1' }, 'HEAP_GROWTH_PERCENT must be >= 0 (got "-1")'],
  ])('refuses %j with a line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: '-1', CONCURRENCY: 'many' })).toThrow(/PORT .*; CONCURRENCY /);
  });
});

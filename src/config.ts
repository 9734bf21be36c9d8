/**
 * Service configuration, read once from environment variables at start-up and validated by one
 * TypeBox schema. The variable names are a public interface: ops scripts rely on them.
 */
import { resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { compileValidator, createAjv, describeErrors } from './validation.js';

export const ConfigSchema = Type.Object(
  {
    /** HTTP port of the API. */
    PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    /** Address the API binds to; set 0.0.0.0 in containers. */
    HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
    LOG_LEVEL: Type.Union(
      [
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ],
      { default: 'info' },
    ),
    /** Where the embedded store keeps its data (and the generated secret key). */
    DATA_DIR: Type.String({ minLength: 1, default: './data' }),
    /** PostgreSQL instead of the embedded store, e.g. postgres://user@db:5432/fleet */
    DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    /** Time limit for one request to a device. */
    DEVICE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
    /** Device operations in flight at once across the fleet. */
    CONCURRENCY: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
    /** How often every device's status is polled. */
    POLL_INTERVAL_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 10_000 }),
    /**
     * A running job's lease: when the process running it dies, another replica (or the restarted
     * process) resumes it this long after the last renewal. Renewed every third of it.
     */
    JOB_LEASE_MS: Type.Integer({ minimum: 3000, maximum: 600_000, default: 30_000 }),
  },
  { additionalProperties: true },
);

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

const validate = compileValidator<Config>(createAjv({ coerce: true }), ConfigSchema, '');

/**
 * Builds the config from `env`; an empty variable counts as unset.
 * @throws ConfigError with one line naming each bad variable and why
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  // Validation coerces in place; keep the raw text for the message.
  const raw = { ...input };
  const result = validate(input);
  if (!result.ok) {
    const named = result.errors.map((e) => {
      const name = e.field.replace(/^\//, '');
      return { field: name, reason: `${e.reason} (got ${JSON.stringify(raw[name] ?? '')})` };
    });
    throw new ConfigError(`invalid environment: ${describeErrors(named)}`);
  }
  return { ...result.value, DATA_DIR: resolve(result.value.DATA_DIR) };
}

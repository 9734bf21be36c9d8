/**
 * Service configuration, read once from environment variables at start-up and validated by one
 * TypeBox schema. The variable names are a public interface: ops scripts rely on them.
 */
import { resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_DEVICE_NETWORKS, parseNetworks } from './security/network-guard.js';
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
    /** PostgreSQL schema to use (created when missing); default: the server's search_path (public). */
    DATABASE_SCHEMA: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' })),
    /** Time limit for one request to a device. */
    DEVICE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
    /** Device operations in flight at once across the fleet. */
    CONCURRENCY: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
    /** How often every device's status is polled. */
    POLL_INTERVAL_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 10_000 }),
    /**
     * An admin API key to accept (at least 32 characters). Without it, a fresh store gets a generated
     * admin key, printed once on standard error at first start.
     */
    ADMIN_API_KEY: Type.Optional(Type.String({ minLength: 32, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' })),
    /**
     * CIDR list of the networks devices may live in (SSRF guard). Link-local and cloud-metadata
     * addresses are refused whatever this says; loopback only when listed.
     */
    ALLOW_DEVICE_NETWORKS: Type.String({ minLength: 1, default: DEFAULT_DEVICE_NETWORKS.join(',') }),
    /** Which service endpoints answer without an API key: any of healthz, metrics, docs; or `none`. */
    PUBLIC_ENDPOINTS: Type.String({
      pattern: '^(none|(healthz|metrics|docs)(,(healthz|metrics|docs))*)$',
      default: 'healthz,metrics,docs',
    }),
    /** Requests per minute per API key (0: no limit). */
    RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 1200 }),
    /**
     * Driver operations whose wire format is inferred, not documented (each driver's
     * `capabilities.provisional`): `allow` runs them, `refuse` fails them as unsupported before
     * anything is sent, for fleets that must not run unverified calls against real units.
     */
    PROVISIONAL_OPERATIONS: Type.Union([Type.Literal('allow'), Type.Literal('refuse')], { default: 'allow' }),

    // nanoStream Cloud ingest (src/ingest/). Hosts are config so tests point them at loopback.
    /** RTMP ingest URL a `nanostream` target with `ingest: 'rtmp'` expands to. */
    NANOSTREAM_RTMP_URL: Type.String({
      format: 'rtmp-url',
      default: 'rtmp://bintu-stream.nanocosmos.de/live',
    }),
    /** SRT ingest host (caller, port 5000) without a region. */
    NANOSTREAM_SRT_HOST: Type.String({ format: 'host', default: 'bintu-srt.nanocosmos.de' }),
    NANOSTREAM_SRT_HOST_EU: Type.String({ format: 'host', default: 'bintu-srt-eu.nanocosmos.de' }),
    NANOSTREAM_SRT_HOST_US: Type.String({ format: 'host', default: 'bintu-srt-us.nanocosmos.de' }),
    NANOSTREAM_SRT_HOST_AS: Type.String({ format: 'host', default: 'bintu-srt-as.nanocosmos.de' }),
    NANOSTREAM_SRT_HOST_SA: Type.String({ format: 'host', default: 'bintu-srt-sa.nanocosmos.de' }),
    /** WHIP endpoint; the stream name goes with it as the key (bearer token). */
    NANOSTREAM_WHIP_URL: Type.String({
      format: 'http-url',
      default: 'https://bintu-webrtc.nanocosmos.de/p/webrtc',
    }),
    /** A device streaming this long without a `publish` webhook for its stream is flagged `ingest: missing`. */
    NANOSTREAM_PUBLISH_GRACE_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
    /**
     * Shared secret for the nanoStream ingest webhook: when set, nanoStream must call
     * `/v1/ingest/nanostream/webhook?token=<it>` (configure that URL in the custom webhook);
     * other calls get 401. Unset: the webhook answers anyone (it reveals only allow/deny). Secret.
     */
    NANOSTREAM_WEBHOOK_TOKEN: Type.Optional(
      Type.String({ minLength: 16, maxLength: 256, pattern: '^[A-Za-z0-9._~-]+$' }),
    ),
    /** bintu REST API key; the bintu client (stream creation, provisioning) exists only when set. Secret. */
    BINTU_API_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    BINTU_API_URL: Type.String({ format: 'http-url', default: 'https://bintu.nanocosmos.de' }),
    /**
     * How far (in percent) V8 lets the heap grow past what survived the last full collection before
     * collecting again; 0 = V8's own adaptive policy, which allows up to 4×.
     */
    HEAP_GROWTH_PERCENT: Type.Integer({ minimum: 0, maximum: 300, default: 50 }),
    /**
     * A running job's lease, and a schedule firing's claim: when the process running it dies, another
     * replica (or the restarted process) resumes it this long after the last renewal. Renewed every
     * third of it.
     */
    JOB_LEASE_MS: Type.Integer({ minimum: 3000, maximum: 600_000, default: 30_000 }),
    /**
     * Days of history kept: the event log, device state history, finished jobs and their results,
     * the webhook delivery log, past schedule runs. 0 keeps everything. (The audit log is never
     * pruned by the service.)
     */
    RETENTION_DAYS: Type.Integer({ minimum: 0, maximum: 3650, default: 30 }),
  },
  { additionalProperties: true },
);

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Variables whose values must not be echoed in error messages. */
const SECRET_VARIABLES = new Set(['ADMIN_API_KEY', 'BINTU_API_KEY', 'NANOSTREAM_WEBHOOK_TOKEN']);

export type PublicEndpoint = 'healthz' | 'metrics' | 'docs';

/** The endpoints that answer without an API key. */
export function publicEndpoints(config: Config): ReadonlySet<PublicEndpoint> {
  if (config.PUBLIC_ENDPOINTS === 'none') return new Set();
  return new Set(config.PUBLIC_ENDPOINTS.split(',') as PublicEndpoint[]);
}

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
      const got = SECRET_VARIABLES.has(name) ? 'value not shown' : `got ${JSON.stringify(raw[name] ?? '')}`;
      return { field: name, reason: `${e.reason} (${got})` };
    });
    throw new ConfigError(`invalid environment: ${describeErrors(named)}`);
  }
  try {
    parseNetworks(result.value.ALLOW_DEVICE_NETWORKS);
  } catch (err) {
    throw new ConfigError(`invalid environment: ALLOW_DEVICE_NETWORKS ${(err as Error).message}`);
  }
  return { ...result.value, DATA_DIR: resolve(result.value.DATA_DIR) };
}

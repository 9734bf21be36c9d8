/**
 * Entry point: read the environment, build the service, listen, and shut down cleanly on SIGINT /
 * SIGTERM (in-flight device operations finish; job leases lapse for a successor).
 */
import { setFlagsFromString } from 'node:v8';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`encoder-fleet: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // The service's live set is large and steady (every device's connection, session and state) and
  // nearly all its garbage is short-lived; V8's default lets the old generation swell to several
  // times the live set between full collections (10,000 devices: ~600 MB RSS instead of ~400 MB).
  // The flag is read at each collection, so setting it now takes effect. See bench/poll.ts.
  if (config.HEAP_GROWTH_PERCENT > 0)
    setFlagsFromString(`--heap-growing-percent=${config.HEAP_GROWTH_PERCENT}`);
  const app = await buildApp({ config });
  await app.start();
  await app.server.listen({ port: config.PORT, host: config.HOST });
  app.logger.info(
    { store: app.store.backend, dataDir: config.DATABASE_URL ? undefined : config.DATA_DIR },
    'encoder-fleet ready',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('unhandledRejection', (reason) => app.logger.error({ err: reason }, 'unhandled rejection'));
}

main().catch((err: unknown) => {
  process.stderr.write(`encoder-fleet: failed to start: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});

/**
 * Entry point: read the environment, build the service, listen, and shut down cleanly on SIGINT /
 * SIGTERM (in-flight device operations finish; job leases lapse for a successor).
 */
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

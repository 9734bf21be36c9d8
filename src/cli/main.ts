#!/usr/bin/env node
/**
 * `encoder-fleet`: the command-line tool for the encoder-fleet REST API. The service URL and API
 * key come from --url / --api-key or ENCODER_FLEET_URL / ENCODER_FLEET_API_KEY; output is a table,
 * or JSON with --json; exit codes are listed in exit-codes.ts and `--help`.
 */
import { Command, CommanderError } from 'commander';
import { API_VERSION } from '../api/version.js';
import { ApiError } from '../client/api-client.js';
import { devicesCommand } from './commands/devices.js';
import { eventsCommand } from './commands/events.js';
import { jobCommands } from './commands/jobs.js';
import { schedulesCommand } from './commands/schedules.js';
import { DEFAULT_URL } from './context.js';
import { EXIT, EXIT_CODE_HELP, exitCodeOf, UsageError } from './exit-codes.js';

const program = new Command('encoder-fleet')
  .description('Control a fleet of live-video encoders through the encoder-fleet service.')
  .version(API_VERSION)
  .option('--url <url>', `service URL (env ENCODER_FLEET_URL, default ${DEFAULT_URL})`)
  .option('--api-key <key>', 'API key, sent as a bearer token (env ENCODER_FLEET_API_KEY)')
  .option('--json', 'machine-readable JSON output')
  .addHelpText('after', `\n${EXIT_CODE_HELP}`)
  .showHelpAfterError()
  .exitOverride();

devicesCommand(program);
jobCommands(program);
schedulesCommand(program);
eventsCommand(program);

try {
  await program.parseAsync();
} catch (err) {
  process.exitCode = handle(err);
}

function handle(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are successes; every other commander error is a usage error (already printed).
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof ApiError) {
    process.stderr.write(`error: ${err.message} (${err.status} ${err.code})\n`);
    for (const line of detailLines(err.details)) process.stderr.write(`  ${line}\n`);
  } else if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n`);
  } else {
    process.stderr.write(`error: ${(err as Error)?.message ?? String(err)}\n`);
  }
  return exitCodeOf(err);
}

function detailLines(details: unknown): string[] {
  if (!Array.isArray(details)) return details ? [JSON.stringify(details)] : [];
  return details.map((d) =>
    d && typeof d === 'object' && 'field' in d
      ? `${(d as { field: string }).field}: ${(d as { reason?: string }).reason ?? ''}`
      : JSON.stringify(d),
  );
}

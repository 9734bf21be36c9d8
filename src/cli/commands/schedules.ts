/**
 * `encoder-fleet schedules list|show|add|rm`: scheduled broadcasts (/v1/schedules). The body
 * follows the schedules API: a selector, an optional profile, start/end in ISO 8601 or a cron
 * recurrence with a time zone, pre-roll and the missed-run policy; --from-json sends any body.
 */
import type { Command } from 'commander';
import { contextOf, positiveInt } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { table } from '../output.js';
import { readJson } from '../read-input.js';

/** The fields the table shows; the schedules API owns the full shape (printed whole with --json). */
interface Schedule {
  id: string;
  name?: string;
  selector?: string;
  deviceIds?: string[];
  profile?: string;
  start?: string;
  end?: string;
  recurrence?: { cron: string; timezone?: string };
  enabled?: boolean;
}

interface ScheduleFlags {
  name?: string;
  selector?: string;
  devices?: string;
  profile?: string;
  start?: string;
  end?: string;
  cron?: string;
  timezone?: string;
  duration?: number;
  preRoll?: number;
  postRoll?: number;
}

export function schedulesCommand(program: Command): void {
  const schedules = program.command('schedules').description('scheduled broadcasts');

  schedules
    .command('list')
    .description('every schedule')
    .action(async (_opts, command: Command) => {
      const { client, output } = contextOf(command);
      const page = await client.get<{ items: Schedule[] }>('/v1/schedules');
      output.result(page.items, () =>
        table(page.items, {
          ID: (s) => s.id,
          NAME: (s) => s.name,
          DEVICES: (s) => s.selector ?? s.deviceIds?.join(','),
          PROFILE: (s) => s.profile,
          WHEN: (s) =>
            s.recurrence ? `${s.recurrence.cron} ${s.recurrence.timezone ?? ''}` : `${s.start} .. ${s.end}`,
          ENABLED: (s) => s.enabled,
        }),
      );
    });

  schedules
    .command('show <id>')
    .description('a schedule with its next runs')
    .option('--next <n>', 'how many upcoming runs to show', positiveInt, 5)
    .action(async (id: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const path = `/v1/schedules/${encodeURIComponent(id)}`;
      const schedule = await client.get<Schedule>(path);
      const next = await client.get<{ items?: unknown[] } | unknown[]>(`${path}/next`, { count: opts.next });
      const runs = Array.isArray(next) ? next : (next.items ?? []);
      output.result({ schedule, next: runs }, () =>
        [
          JSON.stringify(schedule, null, 2),
          'next runs:',
          ...runs.map((r) => `  ${typeof r === 'string' ? r : JSON.stringify(r)}`),
          '',
        ].join('\n'),
      );
    });

  schedules
    .command('add')
    .description('schedule a broadcast (one-shot with --start/--end, or recurring with --cron)')
    .option('--name <name>')
    .option('-s, --selector <selector>', 'devices by label selector')
    .option('-d, --devices <ids>', 'comma-separated device ids')
    .option('-p, --profile <profile>', 'profile to apply at pre-roll')
    .option('--start <iso>', 'start time, ISO 8601 with zone, e.g. 2026-12-01T18:00:00+01:00')
    .option('--end <iso>', 'end time, ISO 8601 with zone')
    .option('--cron <expr>', 'recurrence, e.g. "0 18 * * MON-FRI"')
    .option('--timezone <tz>', 'IANA time zone of --cron, e.g. Europe/Berlin')
    .option('--duration <minutes>', 'length of each recurring broadcast', positiveInt)
    .option('--pre-roll <minutes>', 'apply config and check devices this long before start', positiveInt)
    .option('--post-roll <minutes>', 'stop this long after the end', positiveInt)
    .option('--from-json <json>', 'the request body: inline JSON, @file or - for stdin')
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      const body = opts.fromJson ? await readJson(opts.fromJson, '--from-json') : scheduleBody(opts);
      const created = await client.post<Schedule>('/v1/schedules', body);
      output.result(created, () => `scheduled ${created.id}\n`);
    });

  schedules
    .command('rm <id...>')
    .description('delete schedules')
    .action(async (ids: string[], _opts, command: Command) => {
      const { client, output } = contextOf(command);
      for (const id of ids) {
        await client.request('DELETE', `/v1/schedules/${encodeURIComponent(id)}`);
        if (!output.json) output.line(`removed ${id}`);
      }
      if (output.json) output.result({ removed: ids });
    });
}

function scheduleBody(opts: ScheduleFlags): Record<string, unknown> {
  if (!!opts.selector === !!opts.devices)
    throw new UsageError('give exactly one of --selector and --devices');
  if (!opts.cron && !(opts.start && opts.end))
    throw new UsageError('give --start and --end, or --cron with --timezone');
  return {
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.selector ? { selector: opts.selector } : { deviceIds: String(opts.devices).split(',') }),
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(opts.cron
      ? {
          recurrence: {
            cron: opts.cron,
            ...(opts.timezone ? { timezone: opts.timezone } : {}),
            ...(opts.duration !== undefined ? { durationMinutes: opts.duration } : {}),
          },
        }
      : { start: opts.start, end: opts.end }),
    ...(opts.preRoll !== undefined ? { preRollMinutes: opts.preRoll } : {}),
    ...(opts.postRoll !== undefined ? { postRollMinutes: opts.postRoll } : {}),
  };
}

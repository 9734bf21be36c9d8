/** `encoder-fleet events`: tail the live event stream (one line per event, or NDJSON with --json). */
import type { Command } from 'commander';
import type { FleetEvent } from '../../client/api-client.js';
import { contextOf, positiveInt } from '../context.js';

export function eventsCommand(program: Command): void {
  program
    .command('events')
    .description('tail live fleet events until interrupted (or --count events arrived)')
    .option('-t, --types <types>', 'comma-separated event types, e.g. device.state,job.finished')
    .option('-s, --selector <selector>', 'only events of devices matching this selector')
    .option('--since <id>', 'replay from after this event id first', positiveInt)
    .option('--count <n>', 'exit after this many events', positiveInt)
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      let seen = 0;
      for await (const event of client.events(
        { types: opts.types, selector: opts.selector, since: opts.since },
        stop.signal,
      )) {
        output.line(output.json ? JSON.stringify(event) : eventLine(event));
        if (opts.count && ++seen >= opts.count) {
          stop.abort();
          break;
        }
      }
    });
}

/** The payload fields the one-line view shows, across event types. */
interface EventData {
  stream?: string;
  connectivity?: string;
  previous?: { stream?: string };
  lastError?: string;
  sync?: string;
  drift?: { field: string }[];
  alerts?: { kind: string }[];
  state?: string;
  error?: { message?: string };
  action?: string;
  counts?: { total: number; pending: number; running: number };
}

export function eventLine(e: FleetEvent): string {
  const d = e.data as EventData;
  const subject = e.deviceId ? `device ${e.deviceId}` : e.jobId ? `job ${e.jobId}` : '';
  let what = '';
  switch (e.type) {
    case 'device.state':
      what = `${d.previous?.stream ?? '?'} -> ${d.stream} (${d.connectivity})${d.lastError ? `: ${d.lastError}` : ''}`;
      break;
    case 'device.drift':
      what = `${d.sync}${d.drift?.length ? ` (${d.drift.map((f) => f.field).join(', ')})` : ''}`;
      break;
    case 'device.alert':
      what = d.alerts?.length ? d.alerts.map((a) => a.kind).join(', ') : 'alerts cleared';
      break;
    case 'job.task':
      what = `${e.deviceId} ${d.state}${d.error ? `: ${d.error.message}` : ''}`;
      break;
    case 'job.progress':
    case 'job.created':
    case 'job.finished':
      what = `${d.action ?? ''} ${d.state ?? ''} ${d.counts ? `${d.counts.total - d.counts.pending - d.counts.running}/${d.counts.total}` : ''}`;
      break;
    default:
      what = JSON.stringify(d);
  }
  return `${e.at}  ${e.type.padEnd(13)} ${e.type === 'job.task' ? `job ${e.jobId}` : subject}  ${what.replace(/\s+/g, ' ').trim()}`;
}

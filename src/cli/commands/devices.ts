/** `encoder-fleet devices list|add|import|export|show|rm` */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { type Command, Option } from 'commander';
import type { DeviceSummary } from '../../api/routes/devices.js';
import type { DeviceView } from '../../api/views.js';
import { collectLabel, contextOf, positiveInt } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { labelText, table } from '../output.js';
import { readJson, readText } from '../read-input.js';

const STATES = ['idle', 'starting', 'streaming', 'stopping', 'error', 'unknown'];

export function devicesCommand(program: Command): void {
  const devices = program.command('devices').description('the device inventory');

  devices
    .command('list')
    .description('list devices (all pages)')
    .option('-s, --selector <selector>', 'label selector, e.g. site=berlin,vendor=teradek')
    .option('--vendor <vendor>', 'only this vendor')
    .addOption(new Option('--state <state>', 'only devices in this stream state').choices(STATES))
    .option('-q, --query <text>', 'text in name or host')
    .option('--model <model>', 'only this model, as the units report it')
    .option('--firmware <version>', 'only this firmware version, as the units report it')
    .option('--limit <n>', 'at most this many devices', positiveInt)
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      const items: DeviceSummary[] = [];
      let cursor: string | undefined;
      do {
        const pageSize = Math.min(1000, opts.limit ? opts.limit - items.length : 1000);
        const page = await client.get<{ items: DeviceSummary[]; nextCursor?: string }>('/v1/devices', {
          selector: opts.selector,
          vendor: opts.vendor,
          state: opts.state,
          q: opts.query,
          model: opts.model,
          firmware: opts.firmware,
          limit: pageSize,
          cursor,
        });
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor && (!opts.limit || items.length < opts.limit));
      output.result(items, () =>
        table(items, {
          NAME: (d) => d.name,
          VENDOR: (d) => d.vendor,
          HOST: (d) => `${d.host}:${d.port}`,
          STREAM: (d) => d.stream,
          CONNECTIVITY: (d) => d.connectivity,
          SYNC: (d) => d.sync,
          KBPS: (d) => (d.bitrateKbps !== undefined ? Math.round(d.bitrateKbps) : undefined),
          FIRMWARE: (d) => d.firmware,
          ALERTS: (d) => d.alerts,
          LABELS: (d) => labelText(d.labels),
          ID: (d) => d.id,
        }),
      );
    });

  devices
    .command('add')
    .description('add a device (it is not contacted); --from-json takes the whole body')
    .option('--name <name>')
    .option('--vendor <vendor>', 'osprey-talon, videon, teradek-vidiu, teradek-prism')
    .option('--host <host>')
    .option('--port <port>', 'default: the vendor port', positiveInt)
    .option('--username <username>')
    .option('--password <password>', 'device password (or ENCODER_FLEET_DEVICE_PASSWORD)')
    .option('-l, --label <key=value>', 'a label, repeatable', collectLabel)
    .option('--profile <profile>', 'profile id or name to follow')
    .option('--from-json <json>', 'the request body: inline JSON, @file or - for stdin')
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      let body: unknown;
      if (opts.fromJson) {
        body = await readJson(opts.fromJson, '--from-json');
      } else {
        for (const flag of ['name', 'vendor', 'host'] as const) {
          if (!opts[flag]) throw new UsageError(`devices add needs --${flag} (or --from-json)`);
        }
        const password = opts.password ?? process.env.ENCODER_FLEET_DEVICE_PASSWORD;
        body = {
          name: opts.name,
          vendor: opts.vendor,
          host: opts.host,
          ...(opts.port ? { port: opts.port } : {}),
          ...(opts.username || password
            ? { credentials: { username: opts.username ?? 'admin', password: password ?? '' } }
            : {}),
          ...(opts.label ? { labels: opts.label } : {}),
          ...(opts.profile ? { profile: opts.profile } : {}),
        };
      }
      const device = await client.post<DeviceView>('/v1/devices', body);
      output.result(
        device,
        () => `added ${device.name} (${device.vendor} at ${device.host}:${device.port}) id ${device.id}\n`,
      );
    });

  devices
    .command('import <file>')
    .description('bulk import from CSV or a JSON array (all rows or none); - reads stdin')
    .option('--upsert', 'update devices that exist (by name) instead of refusing them')
    .addOption(new Option('--format <format>', 'default: from the file extension').choices(['csv', 'json']))
    .action(async (file: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const text = await readText(file);
      const format = opts.format ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'csv');
      const result = await client.request<{ rows: number; created: number; updated: number }>(
        'POST',
        '/v1/devices/import',
        {
          body: text,
          contentType: format === 'csv' ? 'text/csv' : 'application/json',
          query: { mode: opts.upsert ? 'upsert' : 'create' },
        },
      );
      output.result(
        result,
        () => `imported ${result.rows} rows: ${result.created} created, ${result.updated} updated\n`,
      );
    });

  devices
    .command('export [file]')
    .description(
      'the inventory as the import CSV, without passwords (re-import with --upsert); default: stdout',
    )
    .option('-s, --selector <selector>', 'only the devices this label selector matches')
    .action(async (file: string | undefined, opts, command: Command) => {
      const { client, output } = contextOf(command);
      const csv = await client.text('/v1/devices/export', { selector: opts.selector });
      if (file && file !== '-') await writeFile(file, csv);
      else output.out.write(csv);
    });

  devices
    .command('show <id>')
    .description('a device: inventory, effective config, observed status, drift')
    .action(async (id: string, _opts, command: Command) => {
      const { client, output } = contextOf(command);
      const d = await client.get<DeviceView>(`/v1/devices/${encodeURIComponent(id)}`);
      output.result(d, () => {
        const s = d.status;
        const lines = [
          `${d.name}  (${d.id}, version ${d.version})`,
          `  vendor      ${d.vendor}`,
          ...(s?.model
            ? [
                `  unit        ${s.model}${s.firmware ? `  firmware ${s.firmware}` : ''}${s.serial ? `  serial ${s.serial}` : ''}`,
              ]
            : []),
          `  address     ${d.host}:${d.port}  tls ${d.tls.mode}`,
          `  labels      ${labelText(d.labels) || '-'}`,
          `  profile     ${d.profile ? `${d.profile.name} v${d.profile.version}` : '-'}`,
          `  stream      ${s?.stream ?? 'unknown'}  connectivity ${s?.connectivity ?? 'unknown'}  sync ${s?.sync ?? 'unknown'}`,
          ...(s?.bitrateKbps !== undefined ? [`  bitrate     ${Math.round(s.bitrateKbps)} kbit/s`] : []),
          ...(s?.lastError ? [`  last error  ${s.lastError}`] : []),
          ...(s?.alerts ?? []).map((a) => `  alert       ${a.severity} ${a.kind}: ${a.message}`),
          ...(s?.drift ?? []).map(
            (f) =>
              `  drift       ${f.field}: wants ${JSON.stringify(f.desired)}, is ${JSON.stringify(f.observed)}`,
          ),
          `  desired     ${d.desired.base}${d.desired.state ? `, ${d.desired.state}` : ''}`,
          ...JSON.stringify(d.desired.config ?? {}, null, 2)
            .split('\n')
            .map((l) => `    ${l}`),
        ];
        return `${lines.join('\n')}\n`;
      });
    });

  devices
    .command('rm <id...>')
    .description('remove devices from the inventory')
    .action(async (ids: string[], _opts, command: Command) => {
      const { client, output } = contextOf(command);
      for (const id of ids) {
        await client.request('DELETE', `/v1/devices/${encodeURIComponent(id)}`);
        if (!output.json) output.line(`removed ${id}`);
      }
      if (output.json) output.result({ removed: ids });
    });
}

/**
 * The built `encoder-fleet` CLI, run as a process against a running service and simulated devices:
 * tables and JSON, jobs followed to the end with per-device failures, and the exit codes scripts
 * rely on.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, hasRoute, runCli } from '../helpers/cli.js';
import { addFleet, type FleetSetup } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';

const config = {
  target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'CLI-KEY-1' },
  video: { codec: 'h264', bitrateKbps: 2500 },
};

describe('encoder-fleet CLI', () => {
  let svc: TestService;
  let f: FleetSetup;
  let cli: ReturnType<typeof cliFor>;
  let dir: string;

  beforeAll(async () => {
    svc = await startService();
    f = await addFleet(
      svc,
      { 'osprey-talon': 4, 'teradek-vidiu': 2 },
      { labels: (i) => ({ site: i % 2 ? 'hamburg' : 'berlin' }) },
    );
    cli = cliFor(svc);
    dir = await mkdtemp(join(tmpdir(), 'ef-cli-'));
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  });
  afterAll(async () => {
    await svc.close();
    await f.fleet.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists devices as a table and as JSON, with filters', async () => {
    const text = await cli(['devices', 'list']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VENDOR\s+HOST\s+STREAM/);
    expect(lines).toHaveLength(7);
    expect(text.stdout).toContain('osprey-talon-00001');

    const json = await cli(['--json', 'devices', 'list', '--selector', 'site=berlin']);
    expect(json.code).toBe(0);
    const items = JSON.parse(json.stdout);
    expect(items).toHaveLength(3);
    expect(items.every((d: any) => d.labels.site === 'berlin')).toBe(true);
  });

  it('adds, shows and removes a device; names the bad field and exits 3; unknown id exits 4', async () => {
    const added = await cli([
      '--json',
      'devices',
      'add',
      '--name',
      'cli-studio',
      '--vendor',
      'videon',
      '--host',
      '127.0.0.9',
      '--label',
      'site=cli',
      '--label',
      'stage=test',
    ]);
    expect(added.code).toBe(0);
    const device = JSON.parse(added.stdout);
    expect(device.labels).toEqual({ site: 'cli', stage: 'test' });

    const shown = await cli(['devices', 'show', device.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/cli-studio/);
    expect(shown.stdout).toMatch(/labels\s+site=cli,stage=test/);

    const bad = await cli(['devices', 'add', '--name', 'x', '--vendor', 'sony', '--host', '127.0.0.9']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/body\/vendor/);

    expect((await cli(['devices', 'rm', device.id])).code).toBe(0);
    const gone = await cli(['devices', 'show', device.id]);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/does not exist/);
  });

  it('imports a CSV file, all rows or none', async () => {
    const csv = join(dir, 'devices.csv');
    await writeFile(
      csv,
      'name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint\n' +
        'cli-import-1,osprey-talon,127.0.0.21,,admin,osprey,site=import,,,\n' +
        'cli-import-2,videon,127.0.0.22,,,,site=import,,,\n',
    );
    const ok = await cli(['devices', 'import', csv]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/imported 2 rows: 2 created, 0 updated/);
    const again = await cli(['devices', 'import', csv]);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/row/);
    const upsert = await cli(['--json', 'devices', 'import', csv, '--upsert']);
    expect(JSON.parse(upsert.stdout)).toEqual({ rows: 2, created: 0, updated: 2 });
    const exported = await cli(['devices', 'export', '-s', 'site=import']);
    expect(exported.stdout).toBe(
      'name,vendor,host,port,username,password,labels,profile,tls_mode,tls_fingerprint\n' +
        'cli-import-1,osprey-talon,127.0.0.21,80,admin,,site=import,,off,\n' +
        'cli-import-2,videon,127.0.0.22,2020,,,site=import,,off,\n',
    );
    const file = join(dir, 'export.csv');
    expect((await cli(['devices', 'export', file, '-s', 'site=import'])).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(exported.stdout);
    const listed = JSON.parse((await cli(['--json', 'devices', 'list', '-s', 'site=import'])).stdout);
    for (const d of listed) expect((await cli(['devices', 'rm', d.id])).code).toBe(0);
  });

  it('dry-runs an apply (nothing written), then applies it with a progress bar to 100%', async () => {
    const talons = [...f.simOf.values()].filter((s) => s.vendor === 'osprey-talon');
    const writes = talons.map((s) => s.count('config'));
    const dry = await cli([
      'apply',
      '-s',
      'vendor=osprey-talon',
      '--config',
      `@${join(dir, 'config.json')}`,
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: nothing was written/);
    expect(dry.stdout).toMatch(/video\.bitrateKbps: \d+ -> 2500/);
    expect(talons.map((s) => s.count('config'))).toEqual(writes);

    const run = await cli(['apply', '-s', 'vendor=osprey-talon', '--config', `@${join(dir, 'config.json')}`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/job \S+: apply on 4 devices/);
    expect(run.stdout).toMatch(/\[#{30}\] 100%\s+4\/4\s+ok 4 .* succeeded/);
    expect(talons.every((s, i) => s.count('config') > writes[i]!)).toBe(true);
  });

  it('exits 1 and names each failed device when a job partly fails; jobs watch shows the same end', async () => {
    const broken = f.simOf.get(f.ids[0]!)!;
    broken.setFaults({ errorRate: 1 });
    try {
      const run = await cli(['start', '-s', 'vendor=osprey-talon,site=berlin', '--retries', '0']);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/1 device\(s\) failed:/);
      expect(run.stdout).toContain(broken.id);
      expect(run.stdout).toMatch(/partially_failed/);

      const jobs = JSON.parse((await cli(['--json', 'jobs', 'list', '--limit', '1'])).stdout);
      const watched = await cli(['--json', 'jobs', 'watch', jobs[0].id]);
      expect(watched.code).toBe(1);
      const report = JSON.parse(watched.stdout);
      expect(report.job.state).toBe('partially_failed');
      expect(report.failures.map((t: any) => t.deviceName)).toEqual([broken.id]);
    } finally {
      broken.setFaults({ errorRate: 0 });
    }
  });

  it('--no-wait prints the job id; jobs watch follows it live to the end', async () => {
    const submitted = await cli(['stop', '-s', 'site=berlin', '--no-wait']);
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    const watched = await cli(['jobs', 'watch', id]);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/100%\s+3\/3 .* succeeded/);
  });

  it('tails events as lines and as JSON', async () => {
    const replay = await cli(['--json', 'events', '--since', '0', '--count', '3']);
    expect(replay.code).toBe(0);
    const events = replay.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(3);
    expect(events[0].id).toBeLessThan(events[2].id);
    const text = await cli(['events', '--since', '0', '--count', '1', '--types', 'job.finished']);
    expect(text.stdout).toMatch(/^\S+\s+job\.finished\s+job \S+\s+apply succeeded 4\/4$/m);
  });

  // The schedules API lands on its own branch; these run once the service has it.
  it.skipIf(!hasRoute('/v1/schedules'))('adds, lists, shows and removes a schedule', async () => {
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const end = new Date(Date.now() + 7_200_000).toISOString();
    const added = await cli([
      '--json',
      'schedules',
      'add',
      '--name',
      'cli-show',
      '-s',
      'site=berlin',
      '--start',
      start,
      '--end',
      end,
    ]);
    expect(added.code, added.stderr).toBe(0);
    const id = JSON.parse(added.stdout).id;
    expect((await cli(['schedules', 'list'])).stdout).toContain(id);
    expect((await cli(['schedules', 'show', id])).code).toBe(0);
    expect((await cli(['schedules', 'rm', id])).code).toBe(0);
    expect((await cli(['schedules', 'show', id])).code).toBe(4);
  });

  it('exit codes: usage 2, unreachable 6', async () => {
    expect((await cli(['apply', '-s', 'x=y'])).code).toBe(2);
    expect((await cli(['devices', 'frobnicate'])).code).toBe(2);
    expect((await cli(['--help'])).code).toBe(0);
    const down = await runCli(['devices', 'list'], { ENCODER_FLEET_URL: 'http://127.0.0.1:9' });
    expect(down.code).toBe(6);
    expect(down.stderr).toMatch(/cannot reach the service at http:\/\/127\.0\.0\.1:9/);
  });

  it('sends the API key from --api-key or the environment as a bearer token', async () => {
    // A loopback stand-in that records the header (the service may not check keys yet).
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(
        (await runCli(['devices', 'list'], { ENCODER_FLEET_URL: url, ENCODER_FLEET_API_KEY: 'k-env' })).code,
      ).toBe(0);
      expect((await runCli(['--url', url, '--api-key', 'k-flag', 'devices', 'list'])).code).toBe(0);
      expect((await runCli(['--url', url, 'devices', 'list'])).code).toBe(0);
      expect(seen).toEqual(['Bearer k-env', 'Bearer k-flag', undefined]);
    } finally {
      server.close();
    }
  });
});

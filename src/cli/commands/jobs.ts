/**
 * `encoder-fleet apply|start|stop|reboot` (one action on many devices, followed to the end) and
 * `encoder-fleet jobs list|watch|cancel`.
 */
import type { Command } from 'commander';
import type { JobRecord, JobRequest, TaskRecord } from '../../fleet/jobs/model.js';
import { contextOf, positiveInt } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jobTasks, progressOf, watchJob } from '../job-watch.js';
import { type Output, table } from '../output.js';
import { readJson } from '../read-input.js';

interface TargetOptions {
  selector?: string;
  devices?: string;
  wait: boolean;
  canary?: number;
  maxFailures?: string;
  retries?: number;
}

function targetOf(opts: TargetOptions): Pick<JobRequest, 'selector' | 'deviceIds'> {
  if (!!opts.selector === !!opts.devices)
    throw new UsageError('give exactly one of --selector and --devices');
  if (opts.selector) return { selector: opts.selector };
  return {
    deviceIds: opts
      .devices!.split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  };
}

function jobOptions(opts: TargetOptions & { dryRun?: boolean }): JobRequest['options'] {
  const maxFailures = opts.maxFailures;
  return {
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(opts.canary !== undefined ? { canary: opts.canary } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(maxFailures !== undefined
      ? { maxFailures: maxFailures.endsWith('%') ? maxFailures : positiveInt(maxFailures) }
      : {}),
  };
}

function withTargetOptions(command: Command): Command {
  return command
    .option('-s, --selector <selector>', 'label selector, e.g. site=berlin,vendor=teradek')
    .option('-d, --devices <ids>', 'comma-separated device ids')
    .option('--canary <n>', 'run this many devices first; stop if one fails', positiveInt)
    .option('--max-failures <n|pct>', 'abort once more than this many (or "10%") failed')
    .option('--retries <n>', 'retries for transient failures', positiveInt)
    .option('--no-wait', 'print the job id and return at once');
}

/** Submits the job, follows it (unless --no-wait) and sets the exit code from how it ended. */
async function runJob(command: Command, request: JobRequest, wait: boolean): Promise<void> {
  const { client, output } = contextOf(command);
  const created = await client.post<JobRecord>('/v1/jobs', request);
  if (!wait) {
    output.result(created, () => `${created.id}\n`);
    return;
  }
  if (!output.json) output.line(`job ${created.id}: ${request.action} on ${created.counts.total} devices`);
  const job = await watchJob(client, created.id, output);
  await report(command, output, job);
}

async function report(command: Command, output: Output, job: JobRecord): Promise<void> {
  const { client } = contextOf(command);
  const dryRun = !!job.options.dryRun;
  const tasks = await jobTasks(client, job.id, dryRun ? undefined : 'failed');
  if (output.json) {
    output.result(dryRun ? { job, tasks } : { job, failures: tasks });
  } else {
    if (job.reason) output.line(`stopped early: ${job.reason}`);
    if (dryRun) {
      output.line('dry run: nothing was written. What would change:');
      output.out.write(
        table(tasks, {
          DEVICE: (t) => t.deviceName,
          RESULT: (t) => (t.state === 'succeeded' ? 'would change' : t.state),
          CHANGES: (t) => changesText(t),
        }),
      );
    } else if (tasks.length) {
      output.line(`${tasks.length} device(s) failed:`);
      output.out.write(
        table(tasks, {
          DEVICE: (t) => t.deviceName,
          VENDOR: (t) => t.vendor,
          ERROR: (t) => t.error?.type,
          ATTEMPTS: (t) => t.attempts.length,
          MESSAGE: (t) => t.error?.message,
        }),
      );
    }
  }
  if (job.state !== 'succeeded') process.exitCode = EXIT.jobFailed;
}

function changesText(task: TaskRecord): string {
  if (task.error) return `${task.error.type}: ${task.error.message}`;
  if (!task.changes?.length) return 'nothing';
  return task.changes
    .map((c) => `${c.path}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`)
    .join('; ');
}

export function jobCommands(program: Command): void {
  withTargetOptions(
    program
      .command('apply')
      .description('converge devices to a profile or a config, and follow the job')
      .option('-p, --profile <profile>', 'profile id or name')
      .option('-c, --config <json>', 'config: inline JSON, @file or - for stdin')
      .option('-n, --dry-run', 'report per device what would change; write nothing'),
  ).action(async (opts, command: Command) => {
    if (!!opts.profile === !!opts.config)
      throw new UsageError('apply needs exactly one of --profile and --config');
    const request: JobRequest = {
      action: 'apply',
      ...targetOf(opts),
      ...(opts.profile
        ? { profile: opts.profile }
        : { config: (await readJson(opts.config, '--config')) as never }),
      options: jobOptions(opts),
    };
    await runJob(command, request, opts.wait);
  });

  for (const action of ['start', 'stop', 'reboot'] as const) {
    withTargetOptions(
      program
        .command(action)
        .description(
          `${action === 'reboot' ? 'reboot devices' : `${action} the streams of devices`}, and follow the job`,
        ),
    ).action(async (opts, command: Command) => {
      await runJob(command, { action, ...targetOf(opts), options: jobOptions(opts) }, opts.wait);
    });
  }

  const jobs = program.command('jobs').description('jobs: one action on many devices');
  jobs
    .command('list')
    .description('recent jobs, newest first')
    .option('--limit <n>', 'how many', positiveInt, 20)
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      const page = await client.get<{ items: JobRecord[] }>('/v1/jobs', { limit: opts.limit });
      output.result(page.items, () =>
        table(page.items, {
          ID: (j) => j.id,
          ACTION: (j) => `${j.action}${j.options.dryRun ? ' (dry run)' : ''}`,
          STATE: (j) => j.state,
          PROGRESS: (j) => `${progressOf(j.counts)}%`,
          DEVICES: (j) => j.counts.total,
          FAILED: (j) => j.counts.failed,
          CREATED: (j) => j.createdAt,
        }),
      );
    });

  jobs
    .command('watch <id>')
    .description('follow a job: live progress bar and each device failure; exit 1 if devices failed')
    .action(async (id: string, _opts, command: Command) => {
      const { client, output } = contextOf(command);
      const job = await watchJob(client, id, output);
      await report(command, output, job);
    });

  jobs
    .command('cancel <id>')
    .description('stop scheduling devices of a job (in-flight operations finish)')
    .action(async (id: string, _opts, command: Command) => {
      const { client, output } = contextOf(command);
      const job = await client.post<JobRecord>(`/v1/jobs/${encodeURIComponent(id)}/cancel`);
      output.result(job, () => `cancel requested for ${job.id} (${job.state})\n`);
    });
}

/**
 * Follows a job to its end: a live progress bar (redrawn in place on a terminal, one line per step
 * otherwise) and each device failure as it happens, from the event stream; the job is also read
 * every few seconds, so a lost stream (or a service without one) still reaches the end.
 */
import type { ApiClient } from '../client/api-client.js';
import type { JobCounts, JobRecord, TaskRecord } from '../fleet/jobs/model.js';
import { TERMINAL_JOB_STATES } from '../fleet/jobs/model.js';
import type { Output } from './output.js';

const POLL_MS = 2000;
const BAR_WIDTH = 30;

export function isFinished(job: JobRecord): boolean {
  return TERMINAL_JOB_STATES.includes(job.state);
}

export function progressOf(counts: JobCounts): number {
  if (!counts.total) return 100;
  return Math.floor(((counts.total - counts.pending - counts.running) / counts.total) * 100);
}

export function progressLine(job: Pick<JobRecord, 'state' | 'counts'>): string {
  const c = job.counts;
  const pct = progressOf(c);
  const filled = Math.round((pct / 100) * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
  const done = c.total - c.pending - c.running;
  return `[${bar}] ${String(pct).padStart(3)}%  ${done}/${c.total}  ok ${c.succeeded}  unchanged ${c.unchanged}  failed ${c.failed}  skipped ${c.skipped}  ${job.state}`;
}

export async function watchJob(client: ApiClient, jobId: string, output: Output): Promise<JobRecord> {
  const live = !output.json;
  const tty = live && !!output.out.isTTY;
  let job: JobRecord;
  let lastPrinted = '';
  const draw = () => {
    if (!live) return;
    const text = progressLine(job);
    if (text === lastPrinted) return;
    lastPrinted = text;
    if (tty) output.out.write(`\r\x1b[2K${text}`);
    else output.line(text);
  };
  const failure = (deviceId: string, error: { type?: string; message?: string } | undefined) => {
    if (!live) return;
    const text = `  failed ${deviceId}: ${error?.type ?? 'error'}: ${error?.message ?? ''}`;
    if (tty) output.out.write(`\r\x1b[2K${text}\n`);
    else output.line(text);
    lastPrinted = '';
  };

  const stop = new AbortController();
  let resolveEnd!: () => void;
  const ended = new Promise<void>((resolve) => {
    resolveEnd = resolve;
  });
  const update = (next: Partial<JobRecord>) => {
    job = { ...job, ...next };
    draw();
    if (isFinished(job)) resolveEnd();
  };

  // Subscribe before reading the job, so nothing between the read and the stream is missed.
  const stream = client.events({ types: 'job.progress,job.task,job.finished' }, stop.signal);
  const first = stream.next();
  first.catch(() => undefined); // handled where it is awaited; this only keeps it from counting as unhandled
  const read = async () =>
    (await client.get<{ job: JobRecord }>(`/v1/jobs/${encodeURIComponent(jobId)}`, { results: 'none' })).job;
  job = await read();
  draw();
  if (!isFinished(job)) {
    const follow = (async () => {
      for (let next = await first; !next.done; next = await stream.next()) {
        const event = next.value;
        if (event.jobId !== jobId) continue;
        const data = event.data as { counts?: JobCounts; state?: string; error?: never };
        if (event.type === 'job.task' && data.state === 'failed' && event.deviceId)
          failure(event.deviceId, data.error);
        if (data.counts) update({ counts: data.counts });
        if (event.type === 'job.finished') update({ state: data.state as JobRecord['state'] });
      }
    })().catch(() => undefined); // the poll below carries on without the stream
    const poll = setInterval(() => {
      read()
        .then(update)
        .catch(() => undefined);
    }, POLL_MS);
    try {
      await ended;
    } finally {
      clearInterval(poll);
      stop.abort();
      await follow;
    }
  } else {
    stop.abort();
    await first.catch(() => undefined);
  }
  // The stored record has the final timings and reason.
  job = await read();
  if (tty) output.out.write(`\r\x1b[2K${progressLine(job)}\n`);
  else if (live && progressLine(job) !== lastPrinted) output.line(progressLine(job));
  return job;
}

/** Every task of a job in one state (or all), following pages. */
export async function jobTasks(
  client: ApiClient,
  jobId: string,
  state?: TaskRecord['state'],
): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.get<{ items: TaskRecord[]; nextCursor?: string }>(
      `/v1/jobs/${encodeURIComponent(jobId)}/tasks`,
      { limit: 1000, state, cursor },
    );
    tasks.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return tasks;
}

/**
 * Write-behind for task results: updates are collected and saved together every 100 ms, so a
 * 10,000-device job costs a few hundred transactions rather than tens of thousands. Losing the last
 * batch in a crash is safe: those tasks run again on resume, and every plan reads before it writes.
 * A failed save (database restarting) keeps the updates and tries again; nothing is dropped.
 */
import type { Logger } from 'pino';
import type { JobProgress, JobRepo, TaskUpdate } from './repo.js';

export class TaskWriter {
  private tasks = new Map<string, TaskUpdate>();
  private progressByJob = new Map<string, JobProgress>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly repo: JobRepo,
    private readonly log: Logger,
    private readonly intervalMs = 100,
  ) {}

  task(update: TaskUpdate): void {
    this.tasks.set(`${update.jobId}\u0000${update.deviceId}`, update);
    this.schedule();
  }

  /** Later progress for a job overrides earlier fields; fields it leaves out are kept. */
  progress(update: JobProgress): void {
    this.progressByJob.set(update.jobId, { ...this.progressByJob.get(update.jobId), ...update });
    this.schedule();
  }

  /** Saves everything collected so far (waits for a save already under way first). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.tasks.size && !this.progressByJob.size) return;
    const tasks = this.tasks;
    const progress = this.progressByJob;
    this.tasks = new Map();
    this.progressByJob = new Map();
    this.flushing = this.repo
      .save([...tasks.values()], [...progress.values()])
      .catch((err: unknown) => {
        this.log.warn({ err }, 'saving task results failed; will retry');
        // Put back what no newer update has replaced meanwhile.
        for (const [key, update] of tasks) if (!this.tasks.has(key)) this.tasks.set(key, update);
        for (const [key, update] of progress)
          this.progressByJob.set(key, { ...update, ...this.progressByJob.get(key) });
        this.schedule(1000);
        throw err;
      })
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  /** Flushes until everything is saved (retrying a failing store), then stops the timer. */
  async close(): Promise<void> {
    for (;;) {
      clearTimeout(this.timer);
      this.timer = undefined;
      try {
        await this.flush();
        if (!this.tasks.size && !this.progressByJob.size) return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private schedule(delay = this.intervalMs): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, delay);
  }
}

/**
 * A job's unfinished tasks, with their devices' connection details, read from the store a page at
 * a time in `seq` order. The first devices are contacted while later pages are still being read,
 * and a 10,000-device job never holds every task's decrypted config and credentials at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceEndpoint } from '../../../drivers/contract.js';
import type { JobDevices, JobRepo, RunnableTask } from './repo.js';

export interface SourcedTask {
  readonly task: RunnableTask;
  /** Absent when the device was deleted after the job was created. */
  readonly endpoint?: DeviceEndpoint;
}

export class TaskSource {
  private items: SourcedTask[] = [];
  private next = 0;
  private afterSeq = -1;
  private exhausted = false;
  private loading: Promise<void> | undefined;
  /** A failed read (database unreachable): every later take() throws it, ending the job run. */
  private failure: unknown;

  constructor(
    private readonly repo: JobRepo,
    private readonly devices: JobDevices,
    private readonly jobId: string,
    private readonly canary: boolean,
    private readonly pageSize = 1000,
  ) {}

  /**
   * How many tasks the source will give, as far as its first page tells, but at most `atMost`:
   * exact for a source that fits one page, `atMost` for a longer one, 0 for an empty one.
   */
  async expected(atMost: number): Promise<number> {
    while (this.next === this.items.length && !this.exhausted && !this.failure) {
      this.load();
      await this.loading;
    }
    if (this.failure) throw this.failure;
    const queued = this.items.length - this.next;
    return this.exhausted ? Math.min(atMost, queued) : atMost;
  }

  /** The next task to run, or undefined when there is none left. Safe to call concurrently. */
  async take(): Promise<SourcedTask | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      // Read ahead while half a page is still queued, so workers rarely wait for the store.
      if (this.items.length - this.next < this.pageSize / 2) this.load();
      if (this.next < this.items.length) {
        const item = this.items[this.next]!;
        this.items[this.next++] = undefined as never; // let it go once taken
        return item;
      }
      if (!this.loading) return undefined;
      await this.loading;
    }
  }

  private load(): void {
    if (this.exhausted || this.loading) return;
    this.loading = this.readPage()
      .catch((err: unknown) => {
        this.failure = err;
      })
      .finally(() => {
        this.loading = undefined;
      });
  }

  private async readPage(): Promise<void> {
    const tasks = await patiently(() =>
      this.repo.unfinishedTasks(this.jobId, {
        afterSeq: this.afterSeq,
        limit: this.pageSize,
        canary: this.canary,
      }),
    );
    if (tasks.length < this.pageSize) this.exhausted = true;
    if (!tasks.length) return;
    this.afterSeq = tasks.at(-1)!.seq;
    const endpoints = await patiently(() => this.devices.endpoints(tasks.map((t) => t.deviceId)));
    const page = tasks.map((task) => {
      const endpoint = endpoints.get(task.deviceId);
      return endpoint ? { task, endpoint } : { task };
    });
    this.items = [...this.items.slice(this.next), ...page];
    this.next = 0;
  }
}

/**
 * A read tried again a few times over about 10 s: a database restart or a dropped connection should
 * cost the job a pause, not the rest of its run.
 */
async function patiently<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(500 * attempt);
    }
  }
}

/**
 * Deleting old rows a batch at a time. One DELETE of a year's history would hold the embedded
 * store's only connection (and the event loop with it) for seconds; batches with a turn of the
 * event loop between them keep the API answering while a sweep runs.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Repeats `next` (the ids of up to `batch` rows to delete) and `remove` (deletes them) until `next`
 * finds none; returns how many rows went.
 */
export async function deleteInBatches<Id extends string | number>(
  batch: number,
  next: (limit: number) => Promise<readonly Id[]>,
  remove: (ids: readonly Id[]) => Promise<unknown>,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = await next(batch);
    if (!ids.length) return deleted;
    await remove(ids);
    deleted += ids.length;
    if (ids.length < batch) return deleted;
    await yieldToLoop();
  }
}

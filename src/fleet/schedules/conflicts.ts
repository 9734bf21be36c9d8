/**
 * Overlapping broadcasts: a device in two schedules whose runs (pre-roll to stop) overlap in time
 * would be told to start, stop or change config by both. Such a schedule is refused with 409 naming
 * the other schedule, unless it says `allowOverlap`.
 *
 * Runs are compared over the next CONFLICT_HORIZON_DAYS days (at most CONFLICT_MAX_RUNS runs per
 * schedule), and devices as the selectors resolve now.
 */
import { ApiError } from '../../api/errors.js';
import type { ScheduleRecord, ScheduleSpec } from './model.js';
import { iso, type Occurrence, occurrencesOverlapping } from './timing.js';

export const CONFLICT_HORIZON_DAYS = 90;
const CONFLICT_MAX_RUNS = 5000;
const DEVICES_NAMED = 10;

export type DeviceResolver = (
  spec: Pick<ScheduleSpec, 'selector' | 'deviceIds'>,
) => Promise<readonly string[]>;

export class ScheduleConflictError extends ApiError {
  constructor(other: ScheduleRecord, mine: Occurrence, theirs: Occurrence, devices: readonly string[]) {
    const shown = devices.slice(0, DEVICES_NAMED);
    super(
      409,
      'schedule_conflict',
      `${devices.length} device(s) are also in schedule ${JSON.stringify(other.name)} (${other.id}), whose run from ${iso(theirs.prerollAt)} to ${iso(theirs.stopAt)} overlaps this one's from ${iso(mine.prerollAt)} to ${iso(mine.stopAt)}; set options.allowOverlap to accept this`,
      {
        schedule: { id: other.id, name: other.name },
        devices: shown,
        deviceCount: devices.length,
        run: { from: iso(mine.prerollAt), to: iso(mine.stopAt) },
        otherRun: { from: iso(theirs.prerollAt), to: iso(theirs.stopAt) },
      },
    );
  }
}

/**
 * Throws ScheduleConflictError for the first enabled schedule (other than `selfId`) that shares a
 * device with `spec` while their runs overlap.
 */
export async function checkConflicts(
  spec: ScheduleSpec,
  selfId: string | undefined,
  others: readonly ScheduleRecord[],
  resolve: DeviceResolver,
  now: number,
): Promise<void> {
  if (!spec.enabled || spec.options.allowOverlap) return;
  const until = now + CONFLICT_HORIZON_DAYS * 86_400_000;
  const mine = occurrencesOverlapping(spec, now, until, CONFLICT_MAX_RUNS);
  if (!mine.length) return;
  let myDevices: Set<string> | undefined;
  for (const other of others) {
    if (other.id === selfId || !other.enabled) continue;
    const overlap = firstOverlap(mine, occurrencesOverlapping(other, now, until, CONFLICT_MAX_RUNS));
    if (!overlap) continue;
    myDevices ??= new Set(await resolve(spec));
    const shared = (await resolve(other)).filter((id) => myDevices!.has(id));
    if (shared.length) throw new ScheduleConflictError(other, overlap[0], overlap[1], shared);
  }
}

/** The first pair of runs (one from each list, both sorted by start) whose spans overlap. */
function firstOverlap(
  a: readonly Occurrence[],
  b: readonly Occurrence[],
): [Occurrence, Occurrence] | undefined {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x.prerollAt < y.stopAt && y.prerollAt < x.stopAt) return [x, y];
    if (x.stopAt <= y.stopAt) i++;
    else j++;
  }
  return undefined;
}

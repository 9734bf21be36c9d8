/**
 * The common setup of the schedule tests: the service with a clock the test drives, a simulated
 * fleet, the schedule events it published, and helpers to move time and read runs.
 */
import { expect } from 'vitest';
import type { FleetEvent } from '../../src/fleet/events.js';
import { ManualClock } from '../helpers/clock.js';
import { addFleet, type FleetSetup } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';
import type { Backend } from '../helpers/store.js';

export const MIN = 60_000;
export const iso = (ms: number) => new Date(ms).toISOString();
export const rtmp = { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'SCHEDULED-KEY-1' };

export interface ScheduleSetup {
  readonly svc: TestService;
  readonly clock: ManualClock;
  readonly f: FleetSetup;
  /** Every schedule.* event published, in order. */
  readonly events: FleetEvent[];
  sim(i: number): ReturnType<FleetSetup['simOf']['get']> & object;
  /** Moves the clock, letting the scheduler and every job it submitted finish after each timer. */
  advanceTo(to: number | string): Promise<void>;
  settle(): Promise<void>;
  runsOf(scheduleId: string): Promise<any[]>;
  create(body: object): Promise<any>;
  remove(scheduleId: string): Promise<void>;
  close(): Promise<void>;
}

export async function setupSchedules(
  backend: Backend,
  start: string,
  counts: Parameters<typeof addFleet>[1],
  labels?: (i: number) => Record<string, string>,
): Promise<ScheduleSetup> {
  const clock = new ManualClock(start);
  const svc = await startService({ backend, clock, env: { POLL_INTERVAL_MS: '600000' } });
  const events: FleetEvent[] = [];
  svc.app.hub.subscribe((e) => {
    if (e.type.startsWith('schedule.')) events.push(e);
  });
  const f = await addFleet(svc, counts, labels ? { labels } : {});
  const settle = async () => {
    await svc.app.scheduler.settle();
    for (;;) {
      // Queued first: a job moves queued → running → ended, so one that starts between the two
      // reads is still seen (read the other way round, it could slip between them).
      const queued = await svc.request('GET', '/v1/jobs?state=queued&limit=1');
      const running = await svc.request('GET', '/v1/jobs?state=running&limit=1');
      if (!running.body.items.length && !queued.body.items.length) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    svc,
    clock,
    f,
    events,
    sim: (i) => f.simOf.get(f.ids[i]!)!,
    settle,
    advanceTo: (to) => clock.advanceTo(to, settle),
    runsOf: async (id) => (await svc.request('GET', `/v1/schedules/${id}/runs`)).body.items,
    async create(body) {
      const res = await svc.request('POST', '/v1/schedules', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    },
    async remove(id) {
      expect((await svc.request('DELETE', `/v1/schedules/${id}`)).status).toBe(204);
    },
    async close() {
      await svc.close();
      await f.fleet.close();
    },
  };
}

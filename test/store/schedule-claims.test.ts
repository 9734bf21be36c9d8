/**
 * The store's half of exactly-once firing, with two stores on one database (two service
 * processes): every run is inserted once per occurrence, every firing is won by exactly one
 * claimant, and a claim whose owner died is taken over by exactly one successor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleSpec } from '../../src/fleet/schedules/model.js';
import { openStore, type Store } from '../../src/store/index.js';
import { BACKENDS, openTestStore, TEST_DATABASE_URL, type TestStore } from '../helpers/store.js';

const spec: ScheduleSpec = {
  name: 'claims',
  selector: 'site=berlin',
  start: '2026-07-01T18:00:00.000Z',
  end: '2026-07-01T19:00:00.000Z',
  enabled: true,
  options: { preRollMinutes: 2, postRollMinutes: 0, missedRunPolicy: 'skip', allowOverlap: false },
};
const T0 = Date.parse('2026-07-01T17:58:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(BACKENDS)('schedule firing claims on %s', (backend) => {
  let t: TestStore;
  let other: Store;
  let scheduleId: string;

  beforeAll(async () => {
    t = await openTestStore(backend);
    other = await openStore({
      dataDir: t.dataDir,
      box: t.box,
      ...(t.pgSchema ? { databaseUrl: TEST_DATABASE_URL, pgSchema: t.pgSchema } : {}),
    });
    scheduleId = (await t.store.schedules.create(spec, { id: 'sched-1', now: iso(T0 - 3600_000) })).id;
  });
  afterAll(async () => {
    await other?.close();
    await t?.dispose();
  });

  const newRun = (n: number) => ({
    id: `run-${n}`,
    scheduleId,
    occurrence: iso(T0 + n * 86_400_000),
    endsAt: iso(T0 + n * 86_400_000 + 3600_000),
    prerollAt: iso(T0 + n * 86_400_000 - 120_000),
    stopAt: iso(T0 + n * 86_400_000 + 3600_000),
    state: 'scheduled' as const,
    createdAt: iso(T0),
  });

  it('inserts a run once per occurrence, whoever tries', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => [
        t.store.schedules.insertRun(newRun(n)),
        other.schedules.insertRun({ ...newRun(n), id: `dup-${n}` }),
      ]).flat(),
    );
    for (let n = 0; n < 20; n++) expect(Number(results[2 * n]) + Number(results[2 * n + 1])).toBe(1);
    expect((await t.store.schedules.runs(scheduleId, 100)).length).toBe(20);
  });

  it('every firing is won by exactly one of two processes claiming it at once', async () => {
    const runIds = (await t.store.schedules.runs(scheduleId, 100)).map((r) => r.id);
    const claims = runIds.flatMap((runId) =>
      (['preroll', 'start', 'stop'] as const).flatMap((phase) =>
        (
          [
            [t.store, 'process-a'],
            [other, 'process-b'],
          ] as const
        ).map(([store, owner]) =>
          store.schedules
            .claim({ runId, phase, owner, now: iso(T0), leaseUntil: iso(T0 + 30_000) })
            .then((r) => ({ runId, phase, owner, ...r })),
        ),
      ),
    );
    const outcomes = await Promise.all(claims);
    const winners = new Map<string, string[]>();
    for (const o of outcomes) {
      if (o.won)
        winners.set(`${o.runId}/${o.phase}`, [...(winners.get(`${o.runId}/${o.phase}`) ?? []), o.owner]);
    }
    expect(winners.size).toBe(runIds.length * 3);
    expect([...winners.values()].every((w) => w.length === 1)).toBe(true);
    // The loser is told who holds it.
    for (const o of outcomes) {
      if (!o.won) expect(o.firing.owner).toBe(winners.get(`${o.runId}/${o.phase}`)![0]);
    }
  });

  it('a claim whose owner died is taken over by one successor; the dead owner can no longer record', async () => {
    const runId = 'run-takeover';
    const phase = 'preroll' as const;
    expect(await t.store.schedules.insertRun({ ...newRun(100), id: runId })).toBe(true);
    const dead = 'dead-owner';
    const first = await t.store.schedules.claim({
      runId,
      phase,
      owner: dead,
      now: iso(T0),
      leaseUntil: iso(T0 + 30_000),
    });
    expect(first.won).toBe(true);
    // Not yet expired: nobody else gets it.
    const early = await other.schedules.claim({
      runId,
      phase,
      owner: 'c',
      now: iso(T0 + 10_000),
      leaseUntil: iso(T0 + 40_000),
    });
    expect(early.won).toBe(false);
    const later = T0 + 60_000;
    const [c, d] = await Promise.all([
      other.schedules.claim({ runId, phase, owner: 'c', now: iso(later), leaseUntil: iso(later + 30_000) }),
      t.store.schedules.claim({ runId, phase, owner: 'd', now: iso(later), leaseUntil: iso(later + 30_000) }),
    ]);
    expect([c.won, d.won].filter(Boolean)).toHaveLength(1);
    const successor = c.won ? 'c' : 'd';
    const outcome = (owner: string) => ({
      runId,
      phase,
      owner,
      state: 'done' as const,
      firedAt: iso(later),
      run: { state: 'ready' as const },
    });
    expect(await t.store.schedules.finish(outcome(dead))).toBe(false);
    expect(await other.schedules.finish(outcome(successor))).toBe(true);
    const [run] = (await t.store.schedules.runs(scheduleId, 100)).filter((r) => r.id === runId);
    expect(run?.state).toBe('ready');
    const [stored] = (await t.store.schedules.firings([runId])).filter((f) => f.phase === phase);
    expect(stored).toMatchObject({ state: 'done', owner: successor });
    // A finished firing is never claimed again.
    const again = await t.store.schedules.claim({
      runId,
      phase,
      owner: 'e',
      now: iso(later + 600_000),
      leaseUntil: iso(later + 630_000),
    });
    expect(again.won).toBe(false);
  });
});

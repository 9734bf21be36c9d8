/**
 * The /v1/schedules surface: overlapping broadcasts on the same devices are refused with 409 naming
 * the other schedule (unless allowed), bad input is refused with the field named, changes and
 * deletes follow the rules, and the calendar lists every schedule's runs in a window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/store.js';
import { iso, MIN, type ScheduleSetup, setupSchedules } from './setup.js';

const HOUR = 60 * MIN;

describe.each(BACKENDS)('schedules API on %s', (backend) => {
  let t: ScheduleSetup;
  let base: number;
  beforeAll(async () => {
    t = await setupSchedules(backend, '2026-06-01T10:00:00Z', { 'osprey-talon': 6 }, (i) => ({
      studio: i < 3 ? 'a' : 'b',
    }));
    base = t.clock.now();
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: object) => t.svc.request('POST', '/v1/schedules', body);

  it('refuses a schedule whose devices are in another broadcast at the same time (409 naming it)', async () => {
    const first = await t.create({
      name: 'studio-a-news',
      selector: 'studio=a',
      start: iso(base + 2 * HOUR),
      end: iso(base + 3 * HOUR),
    });
    const clash = await post({
      name: 'clash',
      deviceIds: [t.f.ids[0], t.f.ids[4]],
      start: iso(base + 3 * HOUR - 10 * MIN),
      end: iso(base + 4 * HOUR),
    });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({
      error: 'schedule_conflict',
      details: { schedule: { id: first.id, name: 'studio-a-news' }, devices: [t.f.ids[0]], deviceCount: 1 },
    });
    expect(clash.body.message).toContain('"studio-a-news"');
    expect(clash.body.message).toContain(first.id);

    // The pre-roll counts: a start 1 minute after the other's end still overlaps its 2-minute pre-roll.
    const preroll = await post({
      name: 'clash-preroll',
      deviceIds: [t.f.ids[1]],
      start: iso(base + 3 * HOUR + MIN),
      end: iso(base + 4 * HOUR),
    });
    expect(preroll.status).toBe(409);

    // A recurring schedule whose daily run overlaps it, on a device it selects.
    const daily = await post({
      name: 'daily',
      selector: 'studio=a',
      recurrence: { cron: '30 14 * * *', timezone: 'Europe/Berlin', durationMinutes: 30 }, // 12:30Z in summer
      options: { preRollMinutes: 0 },
    });
    expect(daily.status).toBe(409);
    expect(daily.body.details.schedule.id).toBe(first.id);

    // Not a conflict: other devices, later, explicitly allowed, or the other schedule disabled.
    await t.create({
      name: 'studio-b',
      selector: 'studio=b',
      start: iso(base + 2 * HOUR),
      end: iso(base + 3 * HOUR),
    });
    await t.create({
      name: 'after',
      deviceIds: [t.f.ids[0]],
      start: iso(base + 3 * HOUR + 2 * MIN),
      end: iso(base + 4 * HOUR),
    });
    await t.create({
      name: 'allowed',
      deviceIds: [t.f.ids[0]],
      start: iso(base + 2 * HOUR),
      end: iso(base + 3 * HOUR),
      options: { allowOverlap: true },
    });
    expect((await t.svc.request('PATCH', `/v1/schedules/${first.id}`, { enabled: false })).status).toBe(200);
    const calm = await post({
      name: 'while-disabled',
      deviceIds: [t.f.ids[2]],
      start: iso(base + 2 * HOUR),
      end: iso(base + 3 * HOUR),
    });
    expect(calm.status).toBe(201);
    // Re-enabling the first now clashes: `allowed` accepted overlaps, but the first does not.
    const reenable = await t.svc.request('PATCH', `/v1/schedules/${first.id}`, { enabled: true });
    expect(reenable.status).toBe(409);
    expect(reenable.body.details.schedule.name).toBe('allowed');
  });

  it('a change that moves a schedule onto another one is refused too', async () => {
    const mover = await t.create({
      name: 'mover',
      deviceIds: [t.f.ids[5]],
      start: iso(base + 10 * HOUR),
      end: iso(base + 11 * HOUR),
    });
    const moved = await t.svc.request('PATCH', `/v1/schedules/${mover.id}`, {
      start: iso(base + 2 * HOUR),
      end: iso(base + 3 * HOUR),
    });
    expect(moved.status).toBe(409);
    expect(moved.body.details.schedule.name).toBe('studio-b');
    const renamed = await t.svc.request(
      'PATCH',
      `/v1/schedules/${mover.id}`,
      { name: 'mover-2' },
      { 'if-match': '"1"' },
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'mover-2', version: 2, start: iso(base + 10 * HOUR) });
    expect(renamed.headers.get('etag')).toBe('"2"');
    const stale = await t.svc.request(
      'PATCH',
      `/v1/schedules/${mover.id}`,
      { name: 'x' },
      { 'if-match': '"1"' },
    );
    expect(stale.status).toBe(412);
  });

  it('refuses bad schedules with every field named', async () => {
    const bad = async (body: object, field: string, reason: RegExp) => {
      const res = await post(body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error).toBe('bad_request');
      expect(res.body.details).toEqual(
        expect.arrayContaining([expect.objectContaining({ field, reason: expect.stringMatching(reason) })]),
      );
    };
    const ok = { name: 'x', selector: 'studio=a' };
    const later = { start: iso(base + 50 * HOUR), end: iso(base + 51 * HOUR) };
    await bad(
      { ...ok, recurrence: { cron: '61 2 * * *', timezone: 'UTC', durationMinutes: 5 } },
      'body/recurrence/cron',
      /minute/,
    );
    await bad(
      { ...ok, recurrence: { cron: '0 2 * * * *', timezone: 'UTC', durationMinutes: 5 } },
      'body/recurrence/cron',
      /5-field/,
    );
    await bad(
      { ...ok, recurrence: { cron: '0 0 30 2 *', timezone: 'UTC', durationMinutes: 5 } },
      'body/recurrence/cron',
      /never/,
    );
    await bad(
      { ...ok, recurrence: { cron: '0 2 * * *', timezone: 'Mars/Olympus', durationMinutes: 5 } },
      'body/recurrence/timezone',
      /IANA/,
    );
    await bad(
      { ...ok, recurrence: { cron: '*/30 * * * *', timezone: 'UTC', durationMinutes: 60 } },
      'body/recurrence/durationMinutes',
      /before the next/,
    );
    await bad(
      { ...ok, start: '2026-06-03T10:00:00', end: '2026-06-03T11:00:00Z' },
      'body/start',
      /date-time/,
    );
    await bad({ ...ok, start: iso(base - HOUR), end: iso(base + HOUR) }, 'body/start', /in the past/);
    await bad({ ...ok, start: iso(base + 2 * HOUR), end: iso(base + HOUR) }, 'body/end', /after start/);
    await bad({ ...ok, start: iso(base + 2 * HOUR) }, 'body/end', /required/);
    await bad(
      { ...ok, ...later, recurrence: { cron: '0 2 * * *', timezone: 'UTC', durationMinutes: 5 } },
      'body/recurrence',
      /either/,
    );
    await bad({ name: 'x', ...later }, 'body/selector', /exactly one/);
    await bad({ ...ok, deviceIds: [t.f.ids[0]], ...later }, 'body/selector', /exactly one/);
    await bad({ ...ok, ...later, selector: 'studio=' }, 'body/selector', /expected a value/);
    await bad(
      { ...ok, ...later, options: { missedRunPolicy: 'run-if-within' } },
      'body/options/graceMinutes',
      /required/,
    );
    await bad({ ...ok, ...later, options: { graceMinutes: 5 } }, 'body/options/graceMinutes', /only for/);
    await bad({ ...ok, ...later, options: { preRollMinutes: -1 } }, 'body/options/preRollMinutes', />= 0/);
    await bad({ ...ok, ...later, profile: 'p', config: {} }, 'body/config', /at most one/);
    await bad({ ...ok, ...later, deviceIds: ['nope'], selector: undefined }, 'body/deviceIds', /unknown/);
    const noProfile = await post({ ...ok, ...later, profile: 'no-such-profile' });
    expect(noProfile.status).toBe(422);
    const taken = await post({ ...ok, name: 'studio-b', selector: 'studio=zzz', ...later });
    expect(taken.status).toBe(409);
    expect(taken.body.details).toEqual({ field: 'name' });
  });

  it('delete is refused while a run is live; the run still stops after the schedule is disabled', async () => {
    const start = t.clock.now() + 20 * HOUR;
    const live = await t.create({
      name: 'live-one',
      deviceIds: [t.f.ids[3]],
      config: { target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1/live', streamKey: 'K-123456' } },
      start: iso(start),
      end: iso(start + HOUR),
    });
    await t.advanceTo(start);
    expect((await t.runsOf(live.id))[0].state).toBe('live');
    const refused = await t.svc.request('DELETE', `/v1/schedules/${live.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('schedule_live');
    await t.svc.request('PATCH', `/v1/schedules/${live.id}`, { enabled: false });
    const stops = t.sim(3).count('stop');
    await t.advanceTo(start + HOUR);
    expect((await t.runsOf(live.id))[0].state).toBe('ended');
    expect(t.sim(3).count('stop')).toBe(stops + 1);
    await t.remove(live.id);
    expect((await t.svc.request('GET', `/v1/schedules/${live.id}`)).status).toBe(404);
  });

  it('calendar: every enabled schedule’s runs in the window, by start; preview of a schedule', async () => {
    const from = t.clock.now();
    const daily = await t.create({
      name: 'calendar-daily',
      deviceIds: [t.f.ids[4]],
      recurrence: { cron: '0 23 * * *', timezone: 'UTC', durationMinutes: 30 },
    });
    const cal = await t.svc.request('GET', `/v1/calendar?from=${iso(from)}&to=${iso(from + 3 * 24 * HOUR)}`);
    expect(cal.status).toBe(200);
    const mine = cal.body.items.filter((e: { scheduleId: string }) => e.scheduleId === daily.id);
    expect(mine).toHaveLength(3);
    expect(mine[0]).toMatchObject({ schedule: 'calendar-daily', end: expect.any(String) });
    const starts = cal.body.items.map((e: { start: string }) => e.start);
    expect(starts).toEqual([...starts].sort());
    expect(cal.body.truncated).toBe(false);

    const next = await t.svc.request('GET', `/v1/schedules/${daily.id}/next?count=3`);
    expect(next.body.items.map((o: { start: string }) => o.start)).toEqual(
      mine.map((e: { start: string }) => e.start),
    );

    const tooLong = await t.svc.request(
      'GET',
      `/v1/calendar?from=${iso(from)}&to=${iso(from + 100 * 24 * HOUR)}`,
    );
    expect(tooLong.status).toBe(400);
    const backwards = await t.svc.request('GET', `/v1/calendar?from=${iso(from)}&to=${iso(from - HOUR)}`);
    expect(backwards.status).toBe(400);
    const missing = await t.svc.request('GET', `/v1/calendar?from=${iso(from)}`);
    expect(missing.status).toBe(400);
    expect((await t.svc.request('GET', '/v1/schedules/nope/runs')).status).toBe(404);
  });
});

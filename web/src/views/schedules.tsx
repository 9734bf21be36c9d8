/**
 * The schedule calendar: the broadcasts of one week from GET /v1/calendar. The schedules API is
 * optional on a service; when the route is absent the view says so instead of failing.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';

/** What the view reads of a calendar entry; field names of both spellings are accepted. */
interface CalendarEntry {
  scheduleId?: string;
  id?: string;
  name?: string;
  start?: string;
  startAt?: string;
  end?: string;
  endAt?: string;
  selector?: string;
  state?: string;
}

const DAY_MS = 86_400_000;

function weekStart(offset: number): Date {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7) + offset * 7);
  return d;
}

export function SchedulesView() {
  const [offset, setOffset] = useState(0);
  const from = weekStart(offset);
  const to = new Date(from.getTime() + 7 * DAY_MS);
  const calendar = useLoad(
    () =>
      api().get<{ items?: CalendarEntry[] } | CalendarEntry[]>('/v1/calendar', {
        from: from.toISOString(),
        to: to.toISOString(),
      }),
    [offset],
  );
  if (calendar.status === 404) {
    return (
      <section>
        <h1>Schedules</h1>
        <p class="muted" data-testid="calendar-missing">
          This service has no schedules API (GET /v1/calendar answered 404), so there is no calendar to show.
        </p>
      </section>
    );
  }
  const raw = calendar.data;
  const entries = (Array.isArray(raw) ? raw : (raw?.items ?? []))
    .map((e) => ({
      ...e,
      startTime: Date.parse(e.start ?? e.startAt ?? ''),
      endTime: Date.parse(e.end ?? e.endAt ?? ''),
    }))
    .filter((e) => !Number.isNaN(e.startTime));
  const days = Array.from({ length: 7 }, (_, i) => new Date(from.getTime() + i * DAY_MS));
  return (
    <section>
      <div class="calendar-head">
        <h1>Schedules</h1>
        <button type="button" onClick={() => setOffset(offset - 1)}>
          ← week
        </button>
        <span>
          {from.toLocaleDateString()} – {new Date(to.getTime() - 1).toLocaleDateString()}
        </span>
        <button type="button" onClick={() => setOffset(offset + 1)}>
          week →
        </button>
      </div>
      {calendar.error && <p class="error">{calendar.error}</p>}
      {!calendar.data && !calendar.error && <p class="muted">loading…</p>}
      <div class="calendar" data-testid="calendar">
        {days.map((day) => {
          const end = day.getTime() + DAY_MS;
          const today = entries
            .filter(
              (e) =>
                e.startTime < end && (Number.isNaN(e.endTime) ? e.startTime : e.endTime) >= day.getTime(),
            )
            .sort((a, b) => a.startTime - b.startTime);
          return (
            <div key={day.toISOString()} class="day">
              <div class="day-name">
                {day.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })}
              </div>
              {today.map((e) => (
                <div key={`${e.scheduleId ?? e.id}${e.startTime}`} class={`event ${e.state ?? ''}`}>
                  <strong>
                    {new Date(e.startTime).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
                    {Number.isNaN(e.endTime)
                      ? ''
                      : `–${new Date(e.endTime).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`}
                  </strong>{' '}
                  {e.name ?? e.scheduleId ?? e.id}
                  {e.selector && <div class="muted">{e.selector}</div>}
                </div>
              ))}
            </div>
          );
        })}
      </div>
      {calendar.data && !entries.length && <p class="muted">No broadcasts this week.</p>}
    </section>
  );
}

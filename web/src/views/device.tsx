/** One device: live state, bitrate sparkline, drift, last errors, effective config and actions. */
import { useEffect } from 'preact/hooks';
import { api, type DeviceDetail, type DeviceHistory } from '../api.js';
import { useLoad } from '../hooks.js';
import { useFleetEvent } from '../live.js';
import { ActionBar } from './actions.js';
import { ago, labelText, Sparkline, StateBadge, SyncBadge } from './common.js';

const REFRESH_MS = 5000;

export function DeviceView({ id }: { id: string }) {
  const device = useLoad(() => api().get<DeviceDetail>(`/v1/devices/${id}`), [id]);
  const history = useLoad(() => api().get<DeviceHistory>(`/v1/devices/${id}/history`), [id]);
  useEffect(() => {
    const timer = setInterval(() => {
      device.reload();
      history.reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [device.reload, history.reload]);
  useFleetEvent(
    (event) => {
      if (event.deviceId !== id || !event.type.startsWith('device.')) return;
      // A state change is also a new line of the state history.
      device.reload();
      history.reload();
    },
    [id, device.reload, history.reload],
  );

  if (device.error) return <p class="error">{device.error}</p>;
  const d = device.data;
  if (!d) return <p class="muted">loading…</p>;
  const s = d.status;
  const samples = history.data?.samples ?? [];
  const errors = [
    ...(s?.alerts ?? []).map((a) => ({ at: a.since, text: `${a.severity}: ${a.message}` })),
    ...(history.data?.changes ?? [])
      .filter((c) => c.detail)
      .map((c) => ({ at: c.at, text: `${c.connectivity}/${c.stream}: ${c.detail}` })),
  ].slice(0, 10);

  return (
    <section class="device">
      <div class="device-head">
        <div>
          <a href="#/" class="muted">
            ← fleet
          </a>
          <h1>{d.name}</h1>
          <div class="muted">
            {d.vendor} · {d.host}:{d.port} · {labelText(d.labels) || 'no labels'}
            {d.profile ? ` · profile ${d.profile.name} v${d.profile.version}` : ''}
          </div>
          {s?.model ? (
            <div class="muted" data-unit>
              {s.model}
              {s.firmware ? ` · firmware ${s.firmware}` : ''}
              {s.serial ? ` · serial ${s.serial}` : ''}
            </div>
          ) : null}
        </div>
        <div class="device-state">
          <StateBadge stream={s?.stream ?? 'unknown'} connectivity={s?.connectivity ?? 'unknown'} />
          <SyncBadge sync={s?.sync ?? 'unknown'} />
        </div>
      </div>
      <ActionBar deviceIds={[d.id]} what={d.name} />
      <div class="panels">
        <div class="panel">
          <h3>Bitrate</h3>
          <div class="big">{s?.bitrateKbps !== undefined ? `${Math.round(s.bitrateKbps)} kbit/s` : '—'}</div>
          {/* An idle device sends nothing: 0, not a gap; a gap is a poll without figures. */}
          <Sparkline points={samples.map((p) => p.bitrateKbps ?? (p.stream === 'idle' ? 0 : undefined))} />
          <div class="muted">
            {samples.length} polls{s?.fps ? ` · ${s.fps} fps` : ''} · last seen {ago(s?.lastSeen)}
          </div>
        </div>
        <div class="panel">
          <h3>Drift</h3>
          {s?.drift.length ? (
            <table>
              <tbody>
                {s.drift.map((f) => (
                  <tr key={f.field}>
                    <td>
                      <code>{f.field}</code>
                    </td>
                    <td>wants {JSON.stringify(f.desired)}</td>
                    <td>is {JSON.stringify(f.observed)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">
              {s?.sync === 'in_sync' ? 'In sync with the desired config.' : 'Not known yet.'}
            </p>
          )}
        </div>
        <div class="panel">
          <h3>Last errors</h3>
          {errors.length ? (
            <ul class="errors">
              {errors.map((e) => (
                <li key={`${e.at}${e.text}`}>
                  <span class="muted">{ago(e.at)}</span> {e.text}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None recorded.</p>
          )}
        </div>
        <div class="panel">
          <h3>Effective config</h3>
          <p class="muted">
            from {d.desired.base}
            {d.desired.state ? `, desired ${d.desired.state}` : ''} · drift policy {d.driftPolicy}
          </p>
          <pre class="config">
            {d.desired.config ? JSON.stringify(d.desired.config, null, 2) : 'none set'}
          </pre>
        </div>
        <div class="panel">
          <h3>State history</h3>
          <ul class="history">
            {(history.data?.changes ?? []).slice(0, 12).map((c) => (
              <li key={c.at}>
                <span class="muted">{new Date(c.at).toLocaleTimeString()}</span>{' '}
                <StateBadge stream={c.stream} connectivity={c.connectivity} />
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  );
}

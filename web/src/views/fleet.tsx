/** The fleet grid: one tile per device with its live state, filters, and actions on what is shown. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type DeviceSummary, listDevices } from '../api.js';
import { useLoad } from '../hooks.js';
import { useFleetEvent } from '../live.js';
import { ActionBar } from './actions.js';
import { labelText, StateBadge, SyncBadge } from './common.js';

const STATES = ['', 'streaming', 'idle', 'starting', 'stopping', 'error', 'unknown'];
const VENDORS = ['', 'osprey-talon', 'videon', 'teradek', 'teradek-vidiu', 'teradek-prism'];
/** Bitrates come with polls, not events: refresh the figures this often. */
const REFRESH_MS = 10_000;

export function FleetView() {
  const [selector, setSelector] = useState('');
  const [applied, setApplied] = useState('');
  const [vendor, setVendor] = useState('');
  const [state, setState] = useState('');
  const loaded = useLoad(
    // `vendor=teradek` in a selector matches the whole family (VidiU and Prism).
    () => listDevices({ selector: [applied, vendor && `vendor=${vendor}`].filter(Boolean).join(','), state }),
    [applied, vendor, state],
  );
  const [devices, setDevices] = useState<DeviceSummary[]>([]);
  useEffect(() => setDevices(loaded.data ?? []), [loaded.data]);
  useEffect(() => {
    const timer = setInterval(loaded.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [loaded.reload]);

  useFleetEvent((event) => {
    if (!event.deviceId) return;
    const d = event.data as Record<string, unknown>;
    setDevices((list) =>
      list.map((dev) => {
        if (dev.id !== event.deviceId) return dev;
        if (event.type === 'device.state')
          return { ...dev, stream: String(d.stream), connectivity: String(d.connectivity) };
        if (event.type === 'device.drift') return { ...dev, sync: String(d.sync) };
        if (event.type === 'device.alert') return { ...dev, alerts: (d.alerts as unknown[]).length };
        return dev;
      }),
    );
  }, []);

  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const d of devices) {
      const key = d.connectivity === 'online' || d.connectivity === 'unknown' ? d.stream : d.connectivity;
      c[key] = (c[key] ?? 0) + 1;
    }
    return c;
  }, [devices]);

  const what = `${devices.length} device(s) shown`;
  return (
    <section>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(selector.trim());
        }}
      >
        <label>
          Labels
          <input
            name="selector"
            placeholder="site=berlin,stage in (main,backup)"
            value={selector}
            onInput={(e) => setSelector(e.currentTarget.value)}
            onBlur={() => setApplied(selector.trim())}
          />
        </label>
        <label>
          Vendor
          <select name="vendor" value={vendor} onChange={(e) => setVendor(e.currentTarget.value)}>
            {VENDORS.map((v) => (
              <option key={v} value={v}>
                {v || 'all'}
              </option>
            ))}
          </select>
        </label>
        <label>
          State
          <select name="state" value={state} onChange={(e) => setState(e.currentTarget.value)}>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s || 'all'}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
        <span class="summary">
          {Object.entries(counts).map(([k, n]) => (
            <span key={k} class={`count state-${k}`}>
              {n} {k}
            </span>
          ))}
        </span>
      </form>
      <div class="toolbar">
        <span class="muted">{what}</span>
        <ActionBar deviceIds={devices.map((d) => d.id)} what={what} />
      </div>
      {loaded.error && <p class="error">{loaded.error}</p>}
      {!loaded.data && !loaded.error && <p class="muted">loading…</p>}
      <div class="grid" data-testid="fleet-grid">
        {devices.map((d) => (
          <a
            key={d.id}
            class={`tile tone-${d.connectivity === 'online' ? d.stream : d.connectivity}`}
            href={`#/devices/${d.id}`}
            data-device={d.name}
          >
            <div class="tile-head">
              <span class="name">{d.name}</span>
              <StateBadge stream={d.stream} connectivity={d.connectivity} />
            </div>
            <div class="tile-body">
              <span class="vendor">{d.vendor}</span>
              <span class="bitrate">
                {d.bitrateKbps !== undefined ? `${Math.round(d.bitrateKbps)} kbit/s` : ''}
              </span>
            </div>
            <div class="tile-foot">
              <span class="labels">{labelText(d.labels)}</span>
              <SyncBadge sync={d.sync} />
              {d.alerts > 0 && <span class="badge alert">{d.alerts} alert(s)</span>}
            </div>
          </a>
        ))}
      </div>
      {loaded.data && !devices.length && <p class="muted">No devices match.</p>}
    </section>
  );
}

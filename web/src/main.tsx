/** The dashboard: a hash router over the fleet grid, device detail, jobs and the schedule calendar. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { storedKey, storeKey } from './api.js';
import { useLiveConnected } from './live.js';
import './style.css';
import { DeviceView } from './views/device.js';
import { FleetView } from './views/fleet.js';
import { JobsView, JobView } from './views/job.js';
import { SchedulesView } from './views/schedules.js';

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function KeyDialog({ onClose }: { onClose: () => void }) {
  const [key, setKey] = useState(storedKey());
  return (
    <div class="modal-backdrop">
      <form
        class="modal"
        onSubmit={(e) => {
          e.preventDefault();
          storeKey(key.trim());
          onClose();
          location.reload();
        }}
      >
        <h2>API key</h2>
        <p class="muted">Kept in this browser (localStorage) and sent as a bearer token.</p>
        <label>
          Key
          <input
            name="api-key"
            type="password"
            autocomplete="off"
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Save
          </button>
        </div>
      </form>
    </div>
  );
}

function App() {
  const route = useRoute();
  const live = useLiveConnected();
  const [askKey, setAskKey] = useState(false);
  useEffect(() => {
    const onAuth = () => setAskKey(true);
    addEventListener('ef-auth-required', onAuth);
    return () => removeEventListener('ef-auth-required', onAuth);
  }, []);
  const [section, id] = route;
  let page = <FleetView />;
  if (section === 'devices' && id) page = <DeviceView id={id} />;
  else if (section === 'jobs' && id) page = <JobView id={id} />;
  else if (section === 'jobs') page = <JobsView />;
  else if (section === 'schedules') page = <SchedulesView />;
  const tab = (href: string, label: string, active: boolean) => (
    <a href={href} class={active ? 'active' : ''}>
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <span class="brand">encoder-fleet</span>
        <nav>
          {tab('#/', 'Fleet', !section || section === 'devices')}
          {tab('#/jobs', 'Jobs', section === 'jobs')}
          {tab('#/schedules', 'Schedules', section === 'schedules')}
        </nav>
        <span class={`live ${live ? 'on' : 'off'}`} title="live event stream">
          {live ? 'live' : 'offline'}
        </span>
        <button type="button" class="key" onClick={() => setAskKey(true)}>
          {storedKey() ? 'API key ✓' : 'API key'}
        </button>
      </header>
      <main>{page}</main>
      {askKey && <KeyDialog onClose={() => setAskKey(false)} />}
    </>
  );
}

render(<App />, document.getElementById('app')!);

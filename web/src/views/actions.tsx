/**
 * The actions on a set of devices: start and stop (after a confirmation), and apply a profile with
 * a dry-run preview of what would change on each device before anything is written.
 */
import { useState } from 'preact/hooks';
import { api, errorText, type Job, jobTasks, type Profile, type Task, TERMINAL } from '../api.js';
import { useLoad } from '../hooks.js';

async function submit(body: Record<string, unknown>): Promise<Job> {
  return api().post<Job>('/v1/jobs', body);
}

async function finished(jobId: string): Promise<Job> {
  for (;;) {
    const { job } = await api().get<{ job: Job }>(`/v1/jobs/${jobId}`, { results: 'none' });
    if (TERMINAL.includes(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

export function ActionBar({ deviceIds, what }: { deviceIds: string[]; what: string }) {
  const [dialog, setDialog] = useState<'start' | 'stop' | 'apply' | undefined>();
  const none = deviceIds.length === 0;
  return (
    <div class="action-bar">
      <button type="button" disabled={none} onClick={() => setDialog('start')}>
        Start
      </button>
      <button type="button" disabled={none} onClick={() => setDialog('stop')}>
        Stop
      </button>
      <button type="button" disabled={none} onClick={() => setDialog('apply')}>
        Apply profile…
      </button>
      {(dialog === 'start' || dialog === 'stop') && (
        <ConfirmAction
          action={dialog}
          deviceIds={deviceIds}
          what={what}
          onClose={() => setDialog(undefined)}
        />
      )}
      {dialog === 'apply' && (
        <ApplyDialog deviceIds={deviceIds} what={what} onClose={() => setDialog(undefined)} />
      )}
    </div>
  );
}

function ConfirmAction(props: {
  action: 'start' | 'stop';
  deviceIds: string[];
  what: string;
  onClose: () => void;
}) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      const job = await submit({ action: props.action, deviceIds: props.deviceIds });
      location.hash = `#/jobs/${job.id}`;
      props.onClose();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <div class="modal-backdrop">
      <div class="modal" role="dialog" aria-label={`${props.action} streams`}>
        <h2>
          {props.action === 'start' ? 'Start' : 'Stop'} streams on {props.what}?
        </h2>
        {error && <p class="error">{error}</p>}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" class="primary" disabled={busy} onClick={go}>
            {props.action === 'start' ? 'Start' : 'Stop'} {props.deviceIds.length} device(s)
          </button>
        </div>
      </div>
    </div>
  );
}

function ApplyDialog(props: { deviceIds: string[]; what: string; onClose: () => void }) {
  const profiles = useLoad(() => api().get<{ items: Profile[] }>('/v1/profiles'), []);
  const [profile, setProfile] = useState('');
  const [preview, setPreview] = useState<{ job: Job; tasks: Task[] }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const chosen = profile || profiles.data?.items[0]?.name || '';

  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const job = await submit({
        action: 'apply',
        deviceIds: props.deviceIds,
        profile: chosen,
        ...(dryRun ? { options: { dryRun: true } } : {}),
      });
      if (!dryRun) {
        location.hash = `#/jobs/${job.id}`;
        props.onClose();
        return;
      }
      const done = await finished(job.id);
      setPreview({ job: done, tasks: await jobTasks(job.id) });
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };

  const changing = preview?.tasks.filter((t) => t.state === 'succeeded').length ?? 0;
  const failing = preview?.tasks.filter((t) => t.state === 'failed').length ?? 0;
  return (
    <div class="modal-backdrop">
      <div class="modal wide" role="dialog" aria-label="apply profile">
        <h2>Apply a profile to {props.what}</h2>
        {profiles.error && <p class="error">{profiles.error}</p>}
        <label>
          Profile
          <select
            name="profile"
            value={chosen}
            disabled={!!preview}
            onChange={(e) => {
              setProfile(e.currentTarget.value);
              setPreview(undefined);
            }}
          >
            {profiles.data?.items.map((p) => (
              <option key={p.id} value={p.name}>
                {p.name} (v{p.version})
              </option>
            ))}
          </select>
        </label>
        {error && <p class="error">{error}</p>}
        {preview && (
          <div class="preview" data-testid="dry-run-preview">
            <p>
              Dry run: <strong>{changing}</strong> device(s) would change, {preview.job.counts.unchanged}{' '}
              already match{failing ? `, ${failing} would fail` : ''}. Nothing was written.
            </p>
            <table>
              <thead>
                <tr>
                  <th>Device</th>
                  <th>Result</th>
                  <th>Changes</th>
                </tr>
              </thead>
              <tbody>
                {preview.tasks.map((t) => (
                  <tr key={t.deviceId}>
                    <td>{t.deviceName}</td>
                    <td class={`task-${t.state}`}>{t.state === 'succeeded' ? 'would change' : t.state}</td>
                    <td class="changes">
                      {t.error
                        ? `${t.error.type}: ${t.error.message}`
                        : t.changes?.length
                          ? t.changes.map((c) => (
                              <div key={c.path}>
                                <code>{c.path}</code> {JSON.stringify(c.from)} → {JSON.stringify(c.to)}
                              </div>
                            ))
                          : 'nothing'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          {!preview ? (
            <button type="button" class="primary" disabled={busy || !chosen} onClick={() => run(true)}>
              {busy ? 'Checking devices…' : 'Preview (dry run)'}
            </button>
          ) : (
            <button type="button" class="primary danger" disabled={busy} onClick={() => run(false)}>
              Apply {chosen} to {props.deviceIds.length} device(s)
            </button>
          )}
        </div>
      </div>
    </div>
  );
}

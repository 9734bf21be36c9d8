/** Jobs: the recent list, and one job with live progress and its per-device failures. */
import { useEffect, useState } from 'preact/hooks';
import { api, type Job, type JobCounts, jobTasks, progressOf, type Task, TERMINAL } from '../api.js';
import { useLoad } from '../hooks.js';
import { useFleetEvent } from '../live.js';
import { ago, ProgressBar } from './common.js';

const POLL_MS = 2000;

export function JobsView() {
  const jobs = useLoad(() => api().get<{ items: Job[] }>('/v1/jobs', { limit: 50 }), []);
  useFleetEvent(
    (e) => (e.type === 'job.finished' || e.type === 'job.created' ? jobs.reload() : undefined),
    [jobs.reload],
  );
  if (jobs.error) return <p class="error">{jobs.error}</p>;
  return (
    <section>
      <h1>Jobs</h1>
      <table class="list">
        <thead>
          <tr>
            <th>Action</th>
            <th>State</th>
            <th>Progress</th>
            <th>Devices</th>
            <th>Failed</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.data?.items.map((j) => (
            <tr key={j.id}>
              <td>
                <a href={`#/jobs/${j.id}`}>
                  {j.action}
                  {j.options.dryRun ? ' (dry run)' : ''}
                </a>
              </td>
              <td class={`job-${j.state}`}>{j.state}</td>
              <td>{progressOf(j.counts)}%</td>
              <td>{j.counts.total}</td>
              <td>{j.counts.failed}</td>
              <td>{ago(j.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function JobView({ id }: { id: string }) {
  const [job, setJob] = useState<Job>();
  const [failures, setFailures] = useState<Task[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    let stop = false;
    const read = async () => {
      try {
        const r = await api().get<{ job: Job; results: Task[] }>(`/v1/jobs/${id}`);
        if (stop) return;
        if (TERMINAL.includes(r.job.state)) clearInterval(timer);
        setJob(r.job);
        setFailures(r.job.counts.failed ? await jobTasks(id, 'failed') : []);
      } catch (err) {
        setError((err as Error).message);
      }
    };
    // The event stream moves the bar; this read is the safety net (and gives the final record).
    const timer = setInterval(() => !stop && read(), POLL_MS);
    void read();
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [id]);

  useFleetEvent(
    (event) => {
      if (event.jobId !== id) return;
      const data = event.data as { counts?: JobCounts; state?: string };
      setJob((j) =>
        j && !TERMINAL.includes(j.state)
          ? {
              ...j,
              ...(data.counts ? { counts: data.counts } : {}),
              ...(event.type === 'job.finished' && data.state ? { state: data.state } : {}),
              ...(event.type !== 'job.finished' ? { state: 'running' } : {}),
            }
          : j,
      );
    },
    [id],
  );

  if (error) return <p class="error">{error}</p>;
  if (!job) return <p class="muted">loading…</p>;
  const c = job.counts;
  return (
    <section class="job">
      <a href="#/jobs" class="muted">
        ← jobs
      </a>
      <h1>
        {job.action}
        {job.options.dryRun ? ' (dry run)' : ''} ·{' '}
        <span class={`job-${job.state}`} data-testid="job-state">
          {job.state}
        </span>
      </h1>
      <div class="muted">
        {job.selector ? `selector ${job.selector}` : `${c.total} device(s)`}
        {job.profile ? ` · profile ${job.profile}` : ''} · created {ago(job.createdAt)}
      </div>
      <ProgressBar counts={c} state={job.state} />
      <div class="counts">
        {(['succeeded', 'unchanged', 'failed', 'skipped', 'canceled', 'running', 'pending'] as const).map(
          (k) => (
            <span key={k} class={c[k] ? `count task-${k}` : 'count'}>
              {c[k]} {k}
            </span>
          ),
        )}
        <span class="count">{c.retried} retried</span>
      </div>
      {job.reason && <p class="error">Stopped early: {job.reason}</p>}
      {failures.length > 0 && (
        <>
          <h3>Failed devices</h3>
          <table class="list">
            <thead>
              <tr>
                <th>Device</th>
                <th>Vendor</th>
                <th>Error</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {failures.map((t) => (
                <tr key={t.deviceId}>
                  <td>
                    <a href={`#/devices/${t.deviceId}`}>{t.deviceName}</a>
                  </td>
                  <td>{t.vendor}</td>
                  <td>{t.error?.type}</td>
                  <td>{t.error?.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** Small pieces the views share: state badges, the progress bar, the bitrate sparkline. */
import type { JobCounts } from '../api.js';
import { progressOf } from '../api.js';

export function StateBadge({ stream, connectivity }: { stream: string; connectivity: string }) {
  const label =
    connectivity === 'online' || connectivity === 'unknown' ? stream : connectivity.replace('_', ' ');
  const tone = connectivity !== 'online' && connectivity !== 'unknown' ? 'bad' : stream;
  return (
    <span class={`badge state-${tone}`} data-state={label}>
      {label}
    </span>
  );
}

export function SyncBadge({ sync }: { sync: string }) {
  if (sync === 'in_sync' || sync === 'unknown') return null;
  return <span class={`badge sync-${sync}`}>{sync === 'drifted' ? 'drift' : sync}</span>;
}

export function ProgressBar({ counts, state }: { counts: JobCounts; state: string }) {
  const pct = progressOf(counts);
  const failed = counts.total ? (counts.failed / counts.total) * 100 : 0;
  return (
    <div class="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
      <div class={`bar state-${state}`} style={{ width: `${pct}%` }} />
      {failed > 0 && <div class="bar failed" style={{ width: `${Math.min(failed, pct)}%` }} />}
      <span class="pct" data-testid="progress-pct">
        {pct}%
      </span>
    </div>
  );
}

/** An SVG line of bitrate over time; gaps where the device reported none. */
export function Sparkline({
  points,
  width = 320,
  height = 64,
}: {
  points: (number | undefined)[];
  width?: number;
  height?: number;
}) {
  const values = points.filter((v): v is number => v !== undefined);
  if (values.length < 2) return <div class="muted sparkline-empty">not enough samples yet</div>;
  const max = Math.max(...values) * 1.1 || 1;
  const step = width / Math.max(points.length - 1, 1);
  let path = '';
  let pen = false;
  points.forEach((v, i) => {
    if (v === undefined) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (height - (v / max) * (height - 4) - 2).toFixed(1);
    path += `${pen ? 'L' : 'M'}${x},${y} `;
    pen = true;
  });
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="none"
      role="img"
      aria-label="bitrate history"
    >
      <path d={path} fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke" />
    </svg>
  );
}

export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export function ago(iso: string | undefined): string {
  if (!iso) return '-';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return new Date(iso).toLocaleString();
}

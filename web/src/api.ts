/**
 * The dashboard's view of the API: one client whose key (entered once, kept in localStorage) is
 * sent as a bearer token, and the shapes the views read. The event stream is read with fetch (not
 * EventSource, which cannot send the Authorization header), so the key never goes into a URL.
 */

import type { DeviceSummary } from '../../src/api/routes/devices.js';
import { ApiClient, ApiError } from '../../src/client/api-client.js';

export type { DeviceSummary };

export { ApiError };

const KEY_STORAGE = 'encoder-fleet.apiKey';

export function storedKey(): string {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

export function storeKey(key: string): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  client = makeClient();
}

function makeClient(): ApiClient {
  const key = storedKey();
  return new ApiClient({ baseUrl: location.origin, ...(key ? { apiKey: key } : {}) });
}

let client = makeClient();

export function api(): ApiClient {
  return client;
}

export interface DriftField {
  field: string;
  desired: unknown;
  observed: unknown;
}

export interface Alert {
  kind: string;
  severity: string;
  message: string;
  since: string;
}

export interface ObservedState {
  connectivity: string;
  stream: string;
  sync: string;
  bitrateKbps?: number;
  fps?: number;
  lastError?: string;
  lastSeen?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  drift: DriftField[];
  alerts: Alert[];
}

export interface DeviceDetail {
  id: string;
  name: string;
  vendor: string;
  host: string;
  port: number;
  labels: Record<string, string>;
  profile?: { id: string; name: string; version: number };
  desired: { config?: Record<string, unknown>; base: string; state?: string };
  driftPolicy: string;
  status?: ObservedState;
  version: number;
}

export interface DeviceHistory {
  samples: { at: string; stream: string; bitrateKbps?: number }[];
  changes: { at: string; connectivity: string; stream: string; detail?: string }[];
}

export interface JobCounts {
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  unchanged: number;
  failed: number;
  skipped: number;
  canceled: number;
  retried: number;
}

export interface Job {
  id: string;
  action: string;
  state: string;
  selector?: string;
  profile?: string;
  options: { dryRun?: boolean };
  counts: JobCounts;
  reason?: string;
  createdAt: string;
  finishedAt?: string;
}

export interface Task {
  deviceId: string;
  deviceName: string;
  vendor: string;
  state: string;
  error?: { type: string; message: string };
  changes?: { path: string; from: unknown; to: unknown }[];
}

export interface Profile {
  id: string;
  name: string;
  description?: string;
  version: number;
  devices?: number;
}

export const TERMINAL = ['succeeded', 'partially_failed', 'failed', 'canceled', 'aborted'];

export function progressOf(c: JobCounts): number {
  return c.total ? Math.floor(((c.total - c.pending - c.running) / c.total) * 100) : 100;
}

/** Every device matching the filters the server understands, all pages. */
export async function listDevices(query: { selector?: string; vendor?: string; state?: string; q?: string }) {
  const items: DeviceSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await api().get<{ items: DeviceSummary[]; nextCursor?: string }>('/v1/devices', {
      ...query,
      limit: 1000,
      cursor,
    });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export async function jobTasks(jobId: string, state?: string): Promise<Task[]> {
  const tasks: Task[] = [];
  let cursor: string | undefined;
  do {
    const page = await api().get<{ items: Task[]; nextCursor?: string }>(`/v1/jobs/${jobId}/tasks`, {
      limit: 1000,
      state,
      cursor,
    });
    tasks.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return tasks;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = Array.isArray(err.details)
      ? err.details
          .filter((d): d is { field: string; reason: string } => !!d && typeof d === 'object' && 'field' in d)
          .map((d) => `${d.field} ${d.reason}`)
      : [];
    return fields.length ? `${err.message} (${fields.join('; ')})` : err.message;
  }
  return (err as Error)?.message ?? String(err);
}

/** Loading API data into a view, with the error shown rather than thrown. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, errorText } from './api.js';

export interface Loaded<T> {
  data?: T;
  error?: string;
  /** HTTP status of a failed load, e.g. 404 when a route is absent. */
  status?: number;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, 'reload'>>({});
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setState({ data }),
      (err: unknown) => {
        if (!current) return;
        if (err instanceof ApiError && err.status === 401) dispatchEvent(new Event('ef-auth-required'));
        setState({ error: errorText(err), ...(err instanceof ApiError ? { status: err.status } : {}) });
      },
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  return { ...state, reload };
}

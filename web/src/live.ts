/**
 * One shared subscription to /v1/events for the whole page, reconnecting with Last-Event-ID
 * (`since`) after a drop, so views see every event once. Listeners get each event as it arrives.
 */
import { useEffect, useState } from 'preact/hooks';
import type { FleetEvent } from '../../src/client/api-client.js';
import { api } from './api.js';

type Listener = (event: FleetEvent) => void;

const listeners = new Set<Listener>();
const statusListeners = new Set<(connected: boolean) => void>();
let running = false;
let lastId: number | undefined;
let connected = false;

function setConnected(value: boolean): void {
  connected = value;
  for (const l of statusListeners) l(value);
}

async function run(): Promise<void> {
  for (;;) {
    try {
      const stream = api().events(lastId !== undefined ? { since: lastId } : {});
      setConnected(true);
      for await (const event of stream) {
        lastId = event.id;
        for (const l of listeners) l(event);
      }
    } catch {
      // dropped or refused: retry below
    }
    setConnected(false);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export function onFleetEvent(listener: Listener): () => void {
  listeners.add(listener);
  if (!running) {
    running = true;
    void run();
  }
  return () => listeners.delete(listener);
}

export function useFleetEvent(listener: Listener, deps: unknown[]): void {
  useEffect(() => onFleetEvent(listener), deps);
}

export function useLiveConnected(): boolean {
  const [value, setValue] = useState(connected);
  useEffect(() => {
    statusListeners.add(setValue);
    setValue(connected);
    return () => void statusListeners.delete(setValue);
  }, []);
  return value;
}

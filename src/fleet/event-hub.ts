/**
 * In-process fan-out of fleet events to subscribers (the monitor, SSE streams, webhooks, metrics).
 * A subscriber that throws is logged and kept; it never breaks the publisher.
 */
import type { Logger } from 'pino';
import type { EventSink, FleetEvent } from './events.js';

export type EventListener = (event: FleetEvent) => void;

export class EventHub implements EventSink {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly logger?: Logger) {}

  publish(event: FleetEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger?.error({ err, type: event.type }, 'event listener failed');
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

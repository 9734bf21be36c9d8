/**
 * Events the fleet emits: device state changes, drift, job progress, schedule firing. Published to
 * an EventSink; the event hub persists them (for Last-Event-ID resume) and fans them out to SSE
 * clients and webhooks.
 */
export const FLEET_EVENT_TYPES = [
  'job.created',
  'job.progress',
  'job.finished',
  'job.task',
  'device.state',
  'device.drift',
  'device.alert',
  'device.identified',
  'device.ingest',
  'schedule.fired',
] as const;
export type FleetEventType = (typeof FLEET_EVENT_TYPES)[number];

export interface FleetEvent {
  readonly type: FleetEventType;
  readonly deviceId?: string;
  readonly jobId?: string;
  readonly scheduleId?: string;
  /** Event-specific payload; never contains secrets. */
  readonly data: Record<string, unknown>;
}

export interface EventSink {
  publish(event: FleetEvent): void;
}

/** For wiring that has nowhere to send events yet (tests, tools). */
export const NO_EVENTS: EventSink = { publish() {} };

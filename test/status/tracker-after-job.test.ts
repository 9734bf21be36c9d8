/**
 * After a start or stop, the device's sync is judged on the next poll, not on the state read before
 * the job: otherwise the desired state arriving first turns a stale "idle" into drift (and a heal
 * policy would start a device that is already starting).
 */
import { describe, expect, it } from 'vitest';
import { EventHub } from '../../src/fleet/event-hub.js';
import { StatusTracker } from '../../src/fleet/status-tracker.js';

describe('StatusTracker after a start', () => {
  const scenario = (untilObserved: boolean) => {
    const tracker = new StatusTracker({ events: new EventHub() });
    tracker.observe('d1', { status: { state: 'idle' } });
    tracker.setApplying('d1', true);
    tracker.setApplying('d1', false, { untilObserved });
    tracker.setDesired('d1', { state: 'streaming' }); // the job's desired state, read after it ended
    tracker.setApplying('d1', false); // a periodic refresh does not end the wait
    return tracker;
  };

  it('.setApplying(untilObserved) - the stale state is not drift; the next poll decides', () => {
    const tracker = scenario(true);
    expect(tracker.get('d1').sync).toBe('applying');
    expect(tracker.observe('d1', { status: { state: 'starting' } }).sync).toBe('in_sync');
  });

  it('.setApplying() - without it the stale state reads as drift', () => {
    expect(scenario(false).get('d1')).toMatchObject({ sync: 'drifted', drift: [{ field: 'stream' }] });
  });
});

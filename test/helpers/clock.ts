/**
 * A clock that moves only when told: the scheduler's timers fire in order as time is advanced, and
 * the test waits for the work each one starts before moving on. No sleeps, no real-time waits.
 */
import type { Clock } from '../../src/fleet/schedules/clock.js';

interface Timer {
  readonly at: number;
  readonly fn: () => void;
}

export class ManualClock implements Clock {
  private current: number;
  private timers: Timer[] = [];

  constructor(start: number | string) {
    this.current = typeof start === 'string' ? Date.parse(start) : start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, delayMs: number): () => void {
    const timer = { at: this.current + Math.max(0, delayMs), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /**
   * Moves time forward to `to`, firing each timer due on the way at its own instant, in order, and
   * awaiting `settle` (the work the timer started) after each one.
   */
  async advanceTo(to: number | string, settle: () => Promise<void>): Promise<void> {
    const target = typeof to === 'string' ? Date.parse(to) : to;
    await settle(); // work started before (an API call's wake-up) may still arm a timer
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
      await settle();
    }
    this.current = Math.max(this.current, target);
    await settle();
  }
}

/**
 * The scheduler's sense of time, injected from the composition root so tests can drive it: the
 * current instant, and a one-shot timer. Everything the scheduler decides (what is due, how late,
 * the instants it records) is read from its clock.
 */
export interface Clock {
  /** Now, in ms since the epoch. */
  now(): number;
  /** Calls `fn` once, `delayMs` from now. Returns a function that cancels it. */
  setTimer(fn: () => void, delayMs: number): () => void;
}

/** Node's timers cannot wait longer (the scheduler never asks for more than its poll interval). */
const MAX_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const timer = setTimeout(fn, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

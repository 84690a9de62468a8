/** Real time for the adapters: the implementation of the timer port (`shared/core/ports/timer.ts`). */
import type { Timer } from '../core/ports/timer';

/** Real time. */
export const systemTimer: Timer = {
  now: () => Date.now(),
  sleep: (ms) => (ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms))),
};

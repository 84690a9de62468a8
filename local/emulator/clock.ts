import type { Clock } from './contracts';

/**
 * Wall-clock time plus an offset that tests move forward with `advance`, so block tokens,
 * page tokens and snapshot timeouts can expire without waiting. Real time keeps flowing, which
 * keeps token-bucket quotas and added latency meaningful.
 */
export class EmulatorClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves emulated time forward by `ms` (never backward: expiries must stay monotonic). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock can only advance by a non-negative finite amount, got ${ms}`);
    }
    this.offsetMs += ms;
  }
}

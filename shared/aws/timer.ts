/** Time as the adapters see it: injectable so unit tests run backoff and rate limits instantly. */
export interface Timer {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Real time. */
export const systemTimer: Timer = {
  now: () => Date.now(),
  sleep: (ms) => (ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms))),
};

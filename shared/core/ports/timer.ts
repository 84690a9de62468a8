/**
 * The timer port: time as the adapters see it, injectable so unit tests run backoff, rate limits
 * and polls instantly. `shared/aws/timer.ts` has the real one.
 */
export interface Timer {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

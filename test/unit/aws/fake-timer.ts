import type { Timer } from '../../../shared/core/ports/timer';

/** A timer whose sleeps return at once and move its clock forward: backoff and rates run instantly. */
export class FakeTimer implements Timer {
  readonly sleeps: number[] = [];

  constructor(private current = 1_000_000) {}

  now(): number {
    return this.current;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += Math.max(0, ms);
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

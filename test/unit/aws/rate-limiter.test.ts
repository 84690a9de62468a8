import { AdaptiveBucket, RateLimiter } from '../../../shared/aws/rate-limiter';
import { DEFAULT_ACCOUNT_RATES, SNAPSHOT_BLOCK_RATE } from '../../../shared/core/quotas';
import { FakeTimer } from './fake-timer';

/** Issues `count` acquires one after the other and returns the fake time they took, in ms. */
async function timeToAcquire(limiter: RateLimiter, timer: FakeTimer, count: number, api: 'GetSnapshotBlock' | 'ListSnapshotBlocks', snapshotId?: string): Promise<number> {
  const start = timer.now();
  for (let i = 0; i < count; i++) await limiter.acquire(api, snapshotId);
  return timer.now() - start;
}

describe('RateLimiter', () => {
  describe('acquire', () => {
    it('lets requests through at the per-snapshot rate of 1,000/s', async () => {
      // Prepare
      const timer = new FakeTimer();
      const limiter = new RateLimiter({ timer });

      // Act
      const elapsed = await timeToAcquire(limiter, timer, 2_000, 'GetSnapshotBlock', 'snap-a');

      // Assess: 2,000 requests at 1,000/s, minus the small burst, take about two seconds.
      expect(elapsed).toBeGreaterThanOrEqual(1_850);
      expect(elapsed).toBeLessThanOrEqual(2_000);
      expect(SNAPSHOT_BLOCK_RATE).toBe(1_000);
    });

    it('shares the account budget between snapshots', async () => {
      // Prepare: an account budget of 200/s, two snapshots each allowed 1,000/s.
      const timer = new FakeTimer();
      const limiter = new RateLimiter({ timer, accountRates: { GetSnapshotBlock: 200 } });

      // Act: 200 requests on each of two snapshots, interleaved.
      const start = timer.now();
      for (let i = 0; i < 200; i++) {
        await limiter.acquire('GetSnapshotBlock', 'snap-a');
        await limiter.acquire('GetSnapshotBlock', 'snap-b');
      }
      const elapsed = timer.now() - start;

      // Assess: 400 requests at the shared 200/s take about two seconds, not 0.2.
      expect(elapsed).toBeGreaterThanOrEqual(1_850);
      expect(elapsed).toBeLessThanOrEqual(2_000);
    });

    it('keeps the List APIs under their 50/s account quota', async () => {
      // Prepare
      const timer = new FakeTimer();
      const limiter = new RateLimiter({ timer });

      // Act
      const elapsed = await timeToAcquire(limiter, timer, 100, 'ListSnapshotBlocks');

      // Assess
      expect(DEFAULT_ACCOUNT_RATES.ListSnapshotBlocks).toBe(50);
      expect(elapsed).toBeGreaterThanOrEqual(1_900);
    });

    it('makes concurrent callers wait in turn', async () => {
      // Prepare: a clock that stands still, so all callers arrive at the same instant.
      const sleeps: number[] = [];
      const timer = { now: () => 0, sleep: async (ms: number) => void sleeps.push(ms) };
      const limiter = new RateLimiter({ timer, accountRates: { GetSnapshotBlock: 100 } });

      // Act: 50 callers at once.
      await Promise.all(Array.from({ length: 50 }, () => limiter.acquire('GetSnapshotBlock', 'snap-a')));

      // Assess: the burst of 10 goes at once; then each waits 10 ms longer than the one before.
      expect(sleeps).toHaveLength(40);
      expect(sleeps[0]).toBeCloseTo(10, 5);
      expect(Math.max(...sleeps)).toBeCloseTo(400, 5);
    });
  });

  describe('throttled', () => {
    it('halves the rate of the limit EBS named, once per burst of throttles', () => {
      // Prepare
      const timer = new FakeTimer();
      const limiter = new RateLimiter({ timer });

      // Act: a burst of throttles on the snapshot's limit.
      for (let i = 0; i < 20; i++) limiter.throttled('PutSnapshotBlock', 'snap-a', 'snapshot');

      // Assess
      expect(limiter.snapshotRate('PutSnapshotBlock', 'snap-a')).toBe(500);
      expect(limiter.accountRate('PutSnapshotBlock')).toBe(1_000);
    });

    it('halves again for a throttle after the cooldown, never below the floor', () => {
      // Prepare
      const timer = new FakeTimer();
      const limiter = new RateLimiter({ timer });

      // Act
      const rates: number[] = [];
      for (let i = 0; i < 14; i++) {
        limiter.throttled('GetSnapshotBlock', undefined, 'account');
        rates.push(limiter.accountRate('GetSnapshotBlock'));
        timer.advance(300);
      }

      // Assess: 1000 → 500 → 250 … down to the floor of 1 request/s (far below AWS's default, so
      // a lowered account quota is still reached), with a little recovery in between.
      expect(rates[0]).toBe(500);
      expect(rates[1]).toBeLessThan(300);
      expect(Math.min(...rates)).toBeLessThan(1_000 / 64);
      expect(Math.min(...rates)).toBeGreaterThanOrEqual(1);
    });

    it('recovers the rate slowly after the throttles stop', () => {
      // Prepare
      const timer = new FakeTimer();
      const limiter = new RateLimiter({ timer });
      limiter.throttled('GetSnapshotBlock', 'snap-a', 'snapshot');

      // Act
      timer.advance(1_000);
      const afterOneSecond = limiter.snapshotRate('GetSnapshotBlock', 'snap-a');
      timer.advance(60_000);
      const afterAMinute = limiter.snapshotRate('GetSnapshotBlock', 'snap-a');

      // Assess: +5 % of the maximum per second, capped at the maximum.
      expect(afterOneSecond).toBeCloseTo(550, 5);
      expect(afterAMinute).toBe(1_000);
    });

    it('slows both limits when EBS does not say which', () => {
      // Prepare
      const timer = new FakeTimer();
      const limiter = new RateLimiter({ timer });

      // Act
      limiter.throttled('PutSnapshotBlock', 'snap-a');

      // Assess
      expect(limiter.accountRate('PutSnapshotBlock')).toBe(500);
      expect(limiter.snapshotRate('PutSnapshotBlock', 'snap-a')).toBe(500);
      expect(limiter.snapshotRate('ListSnapshotBlocks', 'snap-a')).toBeUndefined();
    });
  });
});

describe('AdaptiveBucket', () => {
  describe('constructor', () => {
    it('refuses a rate that is not positive', () => {
      // Act / Assess
      expect(() => new AdaptiveBucket(0, 0)).toThrow(RangeError);
    });
  });
});

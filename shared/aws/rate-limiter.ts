/**
 * Keeps EBS direct API calls under their quotas (EBS-FACTS.md, Quotas): one token bucket per API
 * for the account budget, shared by every worker that holds this limiter, and one per
 * (API, snapshot) for the per-snapshot limit of the block APIs. Adaptive (AIMD): a throttle
 * halves the rate of the bucket EBS said it hit; the rate then climbs back slowly.
 */
import { DEFAULT_ACCOUNT_RATES, type EbsApi, SNAPSHOT_BLOCK_RATE } from '../core/quotas';
import type { Timer } from '../core/ports/timer';
import { systemTimer } from './timer';

/** Which limit a throttle hit: EBS says ACCOUNT_THROTTLED or RESOURCE_LEVEL_THROTTLE. */
export type ThrottleScope = 'account' | 'snapshot';

/**
 * Seconds of requests a bucket may burst. Small on purpose: EBS's own buckets hold a second, so a
 * tenth keeps us under them even when several limiters (Lambdas) start at once.
 */
const BURST_SECONDS = 0.1;

/**
 * A throttle never takes a rate below this many requests per second (it must keep probing).
 * Absolute, not a fraction of the maximum: an account whose real quota was lowered far below
 * AWS's default (or a scaled-down emulator) must still be reachable from above.
 */
const MIN_RATE_PER_SECOND = 1;

/**
 * After a throttle, the rate climbs back by this fraction of its maximum per second: from half
 * back to full in ten seconds, slow enough not to slam into the limit again at once.
 */
const RECOVERY_FRACTION_PER_SECOND = 0.05;

/**
 * Throttles within this window count as one: dozens of workers throttled by the same burst must
 * halve the rate once, not dozens of times.
 */
const DECREASE_COOLDOWN_MS = 250;

/** Per-snapshot buckets kept; the least recently used is dropped beyond that (bounds memory). */
const MAX_SNAPSHOT_BUCKETS = 1_000;

const MS_PER_SECOND = 1_000;

/**
 * A token bucket whose rate can change. `reserve` takes a token even if it has to go into debt,
 * and says how long the caller must wait: callers queue in arrival order without a queue.
 */
export class AdaptiveBucket {
  private tokens: number;
  private last: number;
  private rate: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;

  constructor(
    /** Requests per second this bucket never exceeds. */
    readonly maxRate: number,
    now: number,
  ) {
    if (!(maxRate > 0)) throw new RangeError(`a rate must be positive, got ${maxRate}`);
    this.rate = maxRate;
    this.tokens = this.capacity();
    this.last = now;
  }

  /** The rate now, requests per second. */
  currentRate(now: number): number {
    this.refill(now);
    return this.rate;
  }

  /** Takes one token; returns the milliseconds to wait before using it (0: now). */
  reserve(now: number): number {
    this.refill(now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * MS_PER_SECOND;
  }

  /** Multiplicative decrease: EBS throttled a request this bucket let through. */
  throttled(now: number): void {
    this.refill(now);
    if (now - this.lastDecrease < DECREASE_COOLDOWN_MS) return;
    this.lastDecrease = now;
    this.rate = Math.max(Math.min(MIN_RATE_PER_SECOND, this.maxRate), this.rate / 2);
    // Drop the burst: the limit was just hit, so what we had saved up is not really there.
    this.tokens = Math.min(this.tokens, 0);
  }

  private capacity(): number {
    return Math.max(1, this.rate * BURST_SECONDS);
  }

  private refill(now: number): void {
    const elapsedSeconds = Math.max(0, now - this.last) / MS_PER_SECOND;
    this.last = Math.max(this.last, now);
    // Refill at the old rate for the elapsed time, then let the rate recover (additive increase).
    this.tokens = Math.min(this.capacity(), this.tokens + elapsedSeconds * this.rate);
    this.rate = Math.min(this.maxRate, this.rate + this.maxRate * RECOVERY_FRACTION_PER_SECOND * elapsedSeconds);
  }
}

export interface RateLimiterOptions {
  /**
   * Requests per second this limiter may use of each account quota. Defaults to AWS's quotas;
   * when several processes share an account, give each its share.
   */
  accountRates?: Partial<Record<EbsApi, number>>;
  /** Per-snapshot block-API rate (default: AWS's 1,000/s). */
  snapshotBlockRate?: number;
  timer?: Timer;
}

/**
 * One limiter per account and Region (primary and secondary each have theirs), shared by every
 * reader and writer on that side.
 *
 * @example
 * const limiter = new RateLimiter({ accountRates: { GetSnapshotBlock: 500 } });
 * await limiter.acquire('GetSnapshotBlock', snapshotId);
 */
export class RateLimiter {
  private readonly timer: Timer;
  private readonly accountBuckets = new Map<EbsApi, AdaptiveBucket>();
  private readonly snapshotBuckets = new Map<string, AdaptiveBucket>();
  private readonly accountRates: Readonly<Record<EbsApi, number>>;
  private readonly snapshotBlockRate: number;

  constructor(options: RateLimiterOptions = {}) {
    this.timer = options.timer ?? systemTimer;
    this.accountRates = { ...DEFAULT_ACCOUNT_RATES, ...options.accountRates };
    this.snapshotBlockRate = options.snapshotBlockRate ?? SNAPSHOT_BLOCK_RATE;
  }

  /** Waits until a request of `api` (on `snapshotId`) fits under both its account and snapshot rates. */
  async acquire(api: EbsApi, snapshotId?: string): Promise<void> {
    const now = this.timer.now();
    let wait = this.account(api).reserve(now);
    const snapshot = this.snapshot(api, snapshotId);
    if (snapshot !== undefined) wait = Math.max(wait, snapshot.reserve(now));
    if (wait > 0) await this.timer.sleep(wait);
  }

  /** EBS throttled a request: halve the rate of the limit it names (both when it names none). */
  throttled(api: EbsApi, snapshotId: string | undefined, scope?: ThrottleScope): void {
    const now = this.timer.now();
    if (scope !== 'snapshot') this.account(api).throttled(now);
    if (scope !== 'account') this.snapshot(api, snapshotId)?.throttled(now);
  }

  /** Current rate of the account budget of `api`, requests per second. */
  accountRate(api: EbsApi): number {
    return this.account(api).currentRate(this.timer.now());
  }

  /** Current rate of `api` on `snapshotId`, or undefined when that API has no per-snapshot limit. */
  snapshotRate(api: EbsApi, snapshotId: string): number | undefined {
    return this.snapshot(api, snapshotId)?.currentRate(this.timer.now());
  }

  private account(api: EbsApi): AdaptiveBucket {
    let bucket = this.accountBuckets.get(api);
    if (bucket === undefined) {
      bucket = new AdaptiveBucket(this.accountRates[api], this.timer.now());
      this.accountBuckets.set(api, bucket);
    }
    return bucket;
  }

  private snapshot(api: EbsApi, snapshotId: string | undefined): AdaptiveBucket | undefined {
    if (snapshotId === undefined || (api !== 'GetSnapshotBlock' && api !== 'PutSnapshotBlock')) return undefined;
    const key = `${api}|${snapshotId}`;
    let bucket = this.snapshotBuckets.get(key);
    if (bucket === undefined) {
      bucket = new AdaptiveBucket(this.snapshotBlockRate, this.timer.now());
    } else {
      this.snapshotBuckets.delete(key);
    }
    // Re-inserted on every use: Map order is then least recently used first.
    this.snapshotBuckets.set(key, bucket);
    if (this.snapshotBuckets.size > MAX_SNAPSHOT_BUCKETS) {
      const oldest = this.snapshotBuckets.keys().next();
      if (oldest.done !== true) this.snapshotBuckets.delete(oldest.value);
    }
    return bucket;
  }
}

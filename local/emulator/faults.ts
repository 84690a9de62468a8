import { z } from 'zod';
import { seededRandom } from '../block-content';
import type { Clock } from './contracts';
import { EbsApiError, FaultConfigError } from './errors';

/** The EBS direct APIs, by the names the SDK's commands use. */
export const EBS_API_NAMES = [
  'StartSnapshot',
  'PutSnapshotBlock',
  'CompleteSnapshot',
  'ListSnapshotBlocks',
  'ListChangedBlocks',
  'GetSnapshotBlock',
] as const;
export type EbsApiName = (typeof EBS_API_NAMES)[number];

/** AWS default request rates per account and Region, per second (EBS-FACTS.md, Quotas). */
export const ACCOUNT_RATE_PER_SECOND: Record<EbsApiName, number> = {
  GetSnapshotBlock: 1_000,
  PutSnapshotBlock: 1_000,
  ListChangedBlocks: 50,
  ListSnapshotBlocks: 50,
  StartSnapshot: 10,
  CompleteSnapshot: 10,
};
/** Per-snapshot rates: only the block APIs have one (1,000/s per snapshot). */
export const SNAPSHOT_RATE_PER_SECOND: Partial<Record<EbsApiName, number>> = {
  GetSnapshotBlock: 1_000,
  PutSnapshotBlock: 1_000,
};
/** Pending snapshots per account (EBS-FACTS.md). */
export const DEFAULT_PENDING_SNAPSHOT_LIMIT = 100;
/** Per-snapshot buckets kept before idle ones are forgotten: bounds memory over a long run. */
const MAX_SNAPSHOT_BUCKETS = 10_000;
const MS_PER_SECOND = 1_000;

/** The fault switches. All off by default: the emulator answers as fast and as reliably as it can. */
export const faultConfigSchema = z.object({
  /** Enforce AWS's default quotas (request rates, pending-snapshot limit). */
  quotas: z.boolean(),
  /** Multiplies every rate: 0.01 turns 1,000/s into 10/s so a test can hit the limit quickly. */
  quotaScale: z.number().positive(),
  /** Pending snapshots allowed when `quotas` is on. */
  pendingSnapshotLimit: z.number().int().nonnegative(),
  /** Added to every EBS request, in ms. */
  latencyMs: z.number().nonnegative(),
  /** Fraction (0–1) of EBS requests answered with a transient InternalServerException (500). */
  serverErrorRate: z.number().min(0).max(1),
  /** After StartSnapshot, PutSnapshotBlock answers SNAPSHOT_NOT_FOUND for this many ms. */
  notFoundWindowMs: z.number().nonnegative(),
  /** Fraction (0–1) of list pages returned empty (with a NextToken to the same place), as AWS may. */
  emptyPageRate: z.number().min(0).max(1),
  /** CompleteSnapshot answers `pending` and the snapshot turns `completed` this many ms later. */
  completionDelayMs: z.number().nonnegative(),
  /** Seed of the fault dice, so a failing run can be replayed. */
  seed: z.number().int(),
});
export type FaultConfig = z.infer<typeof faultConfigSchema>;

export const DEFAULT_FAULTS: FaultConfig = {
  quotas: false,
  quotaScale: 1,
  pendingSnapshotLimit: DEFAULT_PENDING_SNAPSHOT_LIMIT,
  latencyMs: 0,
  serverErrorRate: 0,
  notFoundWindowMs: 0,
  emptyPageRate: 0,
  completionDelayMs: 0,
  seed: 1,
};

/** Validates a complete fault configuration, as a typed error the control API answers with 400. */
function parseFaultConfig(candidate: unknown): FaultConfig {
  const parsed = faultConfigSchema.safeParse(candidate);
  if (!parsed.success) throw new FaultConfigError(`invalid fault switches: ${parsed.error.message}`, { cause: parsed.error });
  return parsed.data;
}

/** A token bucket holding one second of requests, refilled continuously. */
class TokenBucket {
  private tokens: number;
  private last: number;
  /** At least one request fits, so a scaled-down rate below 1/s still admits requests, slowly. */
  private readonly capacity: number;

  constructor(
    private readonly ratePerSecond: number,
    now: number,
  ) {
    this.capacity = Math.max(ratePerSecond, 1);
    this.tokens = this.capacity;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / MS_PER_SECOND) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Fault injection, switchable at run time in process (`update`) or over the control API. */
export class Faults {
  private current: FaultConfig;
  private random: () => number;
  /** By `region|api`: AWS's quotas are per account and Region. */
  private readonly accountBuckets = new Map<string, TokenBucket>();
  private readonly snapshotBuckets = new Map<string, TokenBucket>();

  constructor(
    private readonly clock: Clock,
    initial: Partial<FaultConfig> = {},
  ) {
    this.current = parseFaultConfig({ ...DEFAULT_FAULTS, ...initial });
    this.random = seededRandom(this.current.seed);
  }

  get config(): Readonly<FaultConfig> {
    return this.current;
  }

  /** Changes some switches; the others keep their value. Buckets restart full at the new rates. */
  update(partial: Partial<FaultConfig>): FaultConfig {
    const next = parseFaultConfig({ ...this.current, ...partial });
    if (next.seed !== this.current.seed) this.random = seededRandom(next.seed);
    this.current = next;
    this.accountBuckets.clear();
    this.snapshotBuckets.clear();
    return next;
  }

  /** Back to all-off. */
  reset(): FaultConfig {
    return this.update(DEFAULT_FAULTS);
  }

  /**
   * Decides whether a request gets through: throttling first (as AWS rejects before working),
   * then the transient-5xx dice. Throws the EbsApiError AWS would answer with. Quotas are per
   * account and Region: each `region` has its own buckets.
   */
  admit(api: EbsApiName, snapshotId?: string, region = ''): void {
    const config = this.current;
    if (config.quotas) {
      const now = this.clock.now();
      // The snapshot's own bucket first: with one busy snapshot that is the limit AWS reports
      // (RESOURCE_LEVEL_THROTTLE); the account bucket trips when several snapshots share the rate.
      const snapshotRate = SNAPSHOT_RATE_PER_SECOND[api];
      if (snapshotRate !== undefined && snapshotId !== undefined) {
        const key = `${region}|${api}|${snapshotId}`;
        let bucket = this.snapshotBuckets.get(key);
        if (bucket === undefined) {
          if (this.snapshotBuckets.size >= MAX_SNAPSHOT_BUCKETS) this.snapshotBuckets.clear();
          bucket = new TokenBucket(snapshotRate * config.quotaScale, now);
          this.snapshotBuckets.set(key, bucket);
        }
        if (!bucket.take(now)) {
          throw new EbsApiError('RequestThrottledException', 'RESOURCE_LEVEL_THROTTLE', `Rate exceeded for ${api} on ${snapshotId}.`, {
            snapshotId,
          });
        }
      }
      const accountKey = `${region}|${api}`;
      let account = this.accountBuckets.get(accountKey);
      if (account === undefined) {
        account = new TokenBucket(ACCOUNT_RATE_PER_SECOND[api] * config.quotaScale, now);
        this.accountBuckets.set(accountKey, account);
      }
      if (!account.take(now)) {
        throw new EbsApiError('RequestThrottledException', 'ACCOUNT_THROTTLED', `Rate exceeded for ${api} in this account${region === '' ? '' : ` and Region ${region}`}.`, {
          snapshotId,
        });
      }
    }
    if (config.serverErrorRate > 0 && this.random() < config.serverErrorRate) {
      throw new EbsApiError('InternalServerException', undefined, 'An internal error occurred (injected).', { snapshotId });
    }
  }

  /** Whether this list page is returned empty. */
  emptyPage(): boolean {
    return this.current.emptyPageRate > 0 && this.random() < this.current.emptyPageRate;
  }

  /** The pending-snapshot limit to enforce, if quotas are on. */
  pendingSnapshotLimit(): number | undefined {
    return this.current.quotas ? this.current.pendingSnapshotLimit : undefined;
  }

  /** Waits the added latency, if any (real time: latency is about wall-clock behaviour). */
  async delay(): Promise<void> {
    const ms = this.current.latencyMs;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Block bytes moved through one Region's EBS endpoint. */
export interface RegionBlockBytes {
  /** Accepted by PutSnapshotBlock (successful writes only). */
  blockBytesIn: number;
  /** Served by GetSnapshotBlock. */
  blockBytesOut: number;
}

/**
 * Calls per API (and bytes moved), for benchmarks and for tests that count requests. Block bytes
 * are also kept per Region: what a task in one Region reads from the other Region's endpoint is
 * what crosses Regions (and is billed as inter-Region transfer) in a two-Region deployment.
 */
export class EmulatorStats {
  calls: Record<string, number> = {};
  errors: Record<string, number> = {};
  /** Block bytes in and out, all Regions together. */
  bytesIn = 0;
  bytesOut = 0;
  /** By Region, each present once a block moved in it. */
  private byRegion = new Map<string, RegionBlockBytes>();

  count(api: string): void {
    this.calls[api] = (this.calls[api] ?? 0) + 1;
  }

  countError(type: string): void {
    this.errors[type] = (this.errors[type] ?? 0) + 1;
  }

  countBlockBytesIn(region: string, bytes: number): void {
    this.bytesIn += bytes;
    this.region(region).blockBytesIn += bytes;
  }

  countBlockBytesOut(region: string, bytes: number): void {
    this.bytesOut += bytes;
    this.region(region).blockBytesOut += bytes;
  }

  /** Block bytes moved through `region`'s endpoint since the last reset. */
  blockBytes(region: string): RegionBlockBytes {
    return { ...(this.byRegion.get(region) ?? { blockBytesIn: 0, blockBytesOut: 0 }) };
  }

  private region(name: string): RegionBlockBytes {
    let counters = this.byRegion.get(name);
    if (counters === undefined) {
      counters = { blockBytesIn: 0, blockBytesOut: 0 };
      this.byRegion.set(name, counters);
    }
    return counters;
  }

  reset(): void {
    this.calls = {};
    this.errors = {};
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.byRegion = new Map();
  }

  toJSON(): { calls: Record<string, number>; errors: Record<string, number>; bytesIn: number; bytesOut: number; regions: Record<string, RegionBlockBytes> } {
    const regions = Object.fromEntries([...this.byRegion].map(([name, counters]) => [name, { ...counters }]));
    return { calls: { ...this.calls }, errors: { ...this.errors }, bytesIn: this.bytesIn, bytesOut: this.bytesOut, regions };
  }
}

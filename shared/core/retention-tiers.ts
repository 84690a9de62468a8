/**
 * Tiered retention: which restore points a policy like
 * `{ all: '6h', hourly: '3d', daily: '30d', weekly: '12w', monthly: '12m' }` keeps, and how many
 * restore points such a policy can keep at most (what the snapshot quota is checked against).
 *
 * Semantics (every time is UTC; "age" is `now − pointInTime`):
 * - `all: D` keeps every point whose age is less than D.
 * - `hourly: D` keeps, for each UTC hour, the first (lowest seq, so oldest) committed point of
 *   that hour, when its age is less than D. `daily` does the same per UTC calendar day, `weekly`
 *   per ISO week (Monday 00:00 UTC to the next Monday), `monthly` per UTC calendar month.
 *
 * Edge cases:
 * - A point exactly D old is not kept by that tier (age < D, like `keepWithinMs`).
 * - A bucket boundary belongs to the bucket it opens: 01:00:00.000 is in the 01:00 hour.
 * - "First of its bucket" is over the chain as it stands, not over the points inside the window:
 *   when a bucket straddles the window's edge and its first point is older than D, no point of
 *   that bucket is kept by the tier. This keeps a prune idempotent (the first of a bucket never
 *   changes while it is kept) instead of re-picking a later point at every run.
 * - A point in the future (clock skew) has a negative age: every tier whose bucket it opens keeps it.
 * - Pending entries are never candidates: a bucket's first point is its first committed one.
 *
 * Durations are a whole number ≥ 1 followed by a unit: `h` (hour), `d` (day), `w` (7 days),
 * `m` (a month, counted as 30 days) or `y` (a year, counted as 365 days). Months and years are
 * fixed lengths so that a longer duration always keeps at least as much and the projection is
 * simple; `12m` is 360 days, which still reaches into 13 calendar months.
 */
import { RetentionError } from './errors';

/** The tiers, finest first. */
export const TIER_NAMES = ['all', 'hourly', 'daily', 'weekly', 'monthly'] as const;
export type TierName = (typeof TIER_NAMES)[number];

/** A tier policy as configs store it: tier → duration text (`'3d'`). At least one tier. */
export type TierPolicy = Partial<Record<TierName, string>>;

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 24 * MS_PER_HOUR;

/** Milliseconds per duration unit (months and years are fixed lengths, see the module comment). */
export const TIER_DURATION_UNITS: Readonly<Record<string, number>> = {
  h: MS_PER_HOUR,
  d: MS_PER_DAY,
  w: 7 * MS_PER_DAY,
  m: 30 * MS_PER_DAY,
  y: 365 * MS_PER_DAY,
};

const DURATION = /^([1-9]\d{0,5})([hdwmy])$/;

/** What a duration must look like, for error messages. */
export const TIER_DURATION_EXPECTED = 'a whole number ≥ 1 and a unit h, d, w, m (30 days) or y (365 days), like 6h, 3d, 12w, 12m, 1y';

/**
 * `'6h'`, `'3d'`, `'12w'`, `'12m'`, `'1y'` → milliseconds.
 *
 * @param what - what the value is, for the error (`'hourly'`)
 * @throws RetentionError naming the value and what was expected
 */
export function parseTierDuration(value: unknown, what = 'duration'): number {
  const match = typeof value === 'string' ? DURATION.exec(value) : null;
  if (match === null) throw new RetentionError(`${what}: ${JSON.stringify(value)} is not a duration: ${TIER_DURATION_EXPECTED}`);
  return Number(match[1]) * TIER_DURATION_UNITS[match[2]];
}

/** The policy's tiers with their durations in ms, finest first; throws for an unknown tier, a bad duration or no tier. */
export function parseTierPolicy(policy: TierPolicy): Array<{ tier: TierName; durationMs: number }> {
  if (typeof policy !== 'object' || policy === null) throw new RetentionError(`tiers must be an object like { "hourly": "3d" }, not ${JSON.stringify(policy)}`);
  const unknown = Object.keys(policy).filter((key) => !(TIER_NAMES as readonly string[]).includes(key));
  if (unknown.length > 0) throw new RetentionError(`tiers: unknown tier ${unknown.map((key) => JSON.stringify(key)).join(', ')}; the tiers are ${TIER_NAMES.join(', ')}`);
  const tiers = TIER_NAMES.filter((tier) => policy[tier] !== undefined).map((tier) => ({ tier, durationMs: parseTierDuration(policy[tier], `tiers.${tier}`) }));
  if (tiers.length === 0) throw new RetentionError(`tiers: give at least one of ${TIER_NAMES.join(', ')}`);
  return tiers;
}

/** 1970-01-01 was a Thursday: ISO weeks start 3 days later in the epoch's week, i.e. on day 4 (1970-01-05). */
const FIRST_MONDAY_DAY = 4;

/** The bucket `ms` falls in for `tier` (an opaque key: equal keys, same bucket); `undefined` for `all`. */
export function tierBucket(tier: TierName, ms: number): number | undefined {
  switch (tier) {
    case 'all':
      return undefined;
    case 'hourly':
      return Math.floor(ms / MS_PER_HOUR);
    case 'daily':
      return Math.floor(ms / MS_PER_DAY);
    case 'weekly':
      return Math.floor((Math.floor(ms / MS_PER_DAY) - FIRST_MONDAY_DAY) / 7);
    case 'monthly': {
      const date = new Date(ms);
      return date.getUTCFullYear() * 12 + date.getUTCMonth();
    }
  }
}

/** A committed restore point as the tier selection sees it. */
export interface TierPoint {
  readonly seq: number;
  /** Milliseconds since the epoch. */
  readonly atMs: number;
}

/**
 * For each point, the tiers that keep it (finest first; empty: no tier keeps it). The head is not
 * special here: {@link keptBy} in `retention.ts` adds it.
 *
 * @param points - committed points, ascending by seq (their times never go backwards)
 * @throws RetentionError for a malformed policy
 */
export function tierOf(points: readonly TierPoint[], policy: TierPolicy, nowMs: number): Map<number, TierName[]> {
  const tiers = parseTierPolicy(policy);
  const result = new Map<number, TierName[]>(points.map((point) => [point.seq, []]));
  for (const { tier, durationMs } of tiers) {
    const seen = new Set<number>();
    for (const point of points) {
      const bucket = tierBucket(tier, point.atMs);
      const first = bucket === undefined || !seen.has(bucket);
      if (bucket !== undefined) seen.add(bucket);
      if (first && nowMs - point.atMs < durationMs) result.get(point.seq)?.push(tier);
    }
  }
  return result;
}

/** The shortest a bucket of each tier can be: what bounds how many buckets a window can touch. */
const SHORTEST_BUCKET_MS: Readonly<Record<Exclude<TierName, 'all'>, number>> = {
  hourly: MS_PER_HOUR,
  daily: MS_PER_DAY,
  weekly: 7 * MS_PER_DAY,
  monthly: 28 * MS_PER_DAY,
};

/** The limits of a whole retention policy, for {@link projectedPoints}. */
export interface ProjectedPolicy {
  readonly keepLast?: number;
  readonly keepWithinMs?: number;
  readonly tiers?: TierPolicy;
}

/**
 * An upper bound on the restore points a policy keeps for one volume synced every
 * `syncEveryMinutes`, each kept point being one secondary snapshot:
 * - `all: D` and `keepWithinMs: D`: ⌈D / interval⌉ (syncs in a window of length D);
 * - `hourly`/`daily`/`weekly`/`monthly: D`: the buckets a window of length D can touch
 *   (⌊D / shortest bucket⌋ + 1, a month counted as 28 days), and never more than the syncs in it;
 * - `keepLast: n`: n; plus 1 for the head.
 * A point kept by two rules is counted by both, so this over-counts when rules overlap (the
 * quota check errs on the safe side). It assumes only scheduled syncs, at most one per interval.
 *
 * @throws RetentionError for a malformed tier policy or an interval below 1 minute
 */
export function projectedPoints(policy: ProjectedPolicy, syncEveryMinutes: number): number {
  if (!Number.isFinite(syncEveryMinutes) || syncEveryMinutes < 1) throw new RetentionError(`the sync interval must be at least 1 minute, not ${syncEveryMinutes}`);
  const intervalMs = syncEveryMinutes * 60_000;
  const syncsWithin = (ms: number): number => Math.ceil(ms / intervalMs);
  let total = 1 + (policy.keepLast ?? 0) + (policy.keepWithinMs === undefined ? 0 : syncsWithin(policy.keepWithinMs));
  for (const { tier, durationMs } of policy.tiers === undefined ? [] : parseTierPolicy(policy.tiers)) {
    total += tier === 'all' ? syncsWithin(durationMs) : Math.min(syncsWithin(durationMs), Math.floor(durationMs / SHORTEST_BUCKET_MS[tier]) + 1);
  }
  return total;
}

/**
 * Snapshots per Region per account (adjustable through Service Quotas): EBS-FACTS.md, "Quotas".
 * Restore points are secondary snapshots; a policy that could keep more than this fails its syncs.
 */
export const REGION_SNAPSHOT_QUOTA = 100_000;

/**
 * Whether `volumes` volumes under a policy stay within {@link REGION_SNAPSHOT_QUOTA}: each volume
 * holds its projected restore points plus its head's primary snapshot (counted as if both lineages
 * were in one Region, the worst case).
 */
export function snapshotQuotaCheck(pointsPerVolume: number, volumes: number): { snapshots: number; quota: number; withinQuota: boolean } {
  const snapshots = (pointsPerVolume + 1) * volumes;
  return { snapshots, quota: REGION_SNAPSHOT_QUOTA, withinQuota: snapshots <= REGION_SNAPSHOT_QUOTA };
}

/**
 * Retention: pruning restore points and the policy that decides which ones to prune.
 *
 * ```
 * before:  … ── k-1 ── D_k ──▶ k ── D_{k+1} ──▶ k+1 ── …
 * prune k: … ── k-1 ── D_k ∪ D_{k+1} ──────────▶ k+1 ── …      (S_k deleted)
 * ```
 * `S_{k+1}` is a full image, so deleting `S_k` loses nothing but the point itself; merging `D_k`
 * into `D_{k+1}` keeps every remaining delta map a description of the step from its predecessor,
 * which the suspect walk and the restore plan rely on. Pruning the baseline makes the next entry
 * the baseline, whose delta map then holds every block written up to it.
 */
import { type Chain, headEntry, toInstant, validateChain } from './chain';
import { RetentionError } from './errors';
import { parseTierPolicy, tierOf, type TierName, type TierPolicy } from './retention-tiers';

/** The chain after pruning, and the snapshots nothing references any more (delete them). */
export interface PruneResult {
  readonly chain: Chain;
  /** Seqs pruned, ascending. */
  readonly pruned: readonly number[];
  /** Secondary snapshot ids of the pruned points that no remaining entry references. */
  readonly unreferencedSnapshotIds: readonly string[];
}

/**
 * Prunes restore point `seq`: drops its entry, merges its delta map into the next entry's, and
 * reports `S_seq` as unreferenced. Its primary snapshot is not reported: a sync already deleted
 * every primary snapshot but the head's.
 *
 * @throws RetentionError for the head, a pending entry, or a seq not in the chain
 */
export function pruneRestorePoint(chain: Chain, seq: number): PruneResult {
  validateChain(chain);
  const head = headEntry(chain);
  const position = chain.findIndex((entry) => entry.seq === seq);
  const entry = chain[position];
  if (entry === undefined) throw new RetentionError(`cannot prune restore point ${seq}: it does not exist`, { seq });
  if (entry.status !== 'committed') throw new RetentionError(`cannot prune entry ${seq}: it is still pending`, { seq });
  if (entry.seq === head.seq) {
    throw new RetentionError(`cannot prune restore point ${seq}: it is the head, the parent of the next sync`, { seq });
  }
  const successor = chain[position + 1];
  if (successor === undefined) throw new RetentionError(`cannot prune restore point ${seq}: nothing follows it`, { seq });
  const merged = {
    ...successor,
    kind: position === 0 ? ('baseline' as const) : successor.kind,
    deltaMap: entry.deltaMap.union(successor.deltaMap),
  };
  const next = [...chain.slice(0, position), merged, ...chain.slice(position + 2)];
  validateChain(next);
  const stillReferenced = next.some((remaining) => remaining.secondarySnapshotId === entry.secondarySnapshotId);
  return { chain: next, pruned: [seq], unreferencedSnapshotIds: stillReferenced ? [] : [entry.secondarySnapshotId] };
}

/**
 * Which restore points to keep. A point is kept when any rule keeps it (`keepLast`,
 * `keepWithinMs` and every tier of `tiers` alike); the head and an entry in flight are always
 * kept. At least one rule must be given.
 */
export interface RetentionPolicy {
  /** Keep the newest `keepLast` restore points (the head counts as one). */
  readonly keepLast?: number;
  /** Keep every restore point whose `pointInTime` is newer than `now − keepWithinMs`. */
  readonly keepWithinMs?: number;
  /** Keep the first point of each hour / day / ISO week / month younger than each tier's duration (`retention-tiers.ts`). */
  readonly tiers?: TierPolicy;
}

/** Why a restore point is kept: the head, `keepLast`, `keepWithinMs`, or a tier. */
export type KeptReason = 'head' | 'last' | 'within' | TierName;

/**
 * For each committed restore point, the rules that keep it (head first, then `last`, `within`,
 * then the tiers finest first); an empty list means the policy prunes it. Pending entries are left
 * out (they are never pruned).
 *
 * @param now - the current time (ISO 8601), passed in so the core stays pure
 * @throws RetentionError for a policy with no rule, a negative or fractional limit, or a bad tier
 */
export function keptBy(chain: Chain, policy: RetentionPolicy, now: string): Map<number, KeptReason[]> {
  validateChain(chain);
  checkPolicy(policy);
  const nowMs = toInstant(now, 'now');
  const committed = chain.filter((entry) => entry.status === 'committed');
  const head = committed[committed.length - 1];
  const keptByCount = new Set(policy.keepLast === undefined ? [] : committed.slice(-policy.keepLast).map((entry) => entry.seq));
  const keptFrom = policy.keepWithinMs === undefined ? Number.POSITIVE_INFINITY : nowMs - policy.keepWithinMs;
  const tiers = policy.tiers === undefined ? undefined : tierOf(committed.map((entry) => ({ seq: entry.seq, atMs: toInstant(entry.pointInTime) })), policy.tiers, nowMs);
  const result = new Map<number, KeptReason[]>();
  for (const entry of committed) {
    const reasons: KeptReason[] = [];
    if (entry.seq === head?.seq) reasons.push('head');
    if (keptByCount.has(entry.seq)) reasons.push('last');
    if (toInstant(entry.pointInTime) > keptFrom) reasons.push('within');
    reasons.push(...(tiers?.get(entry.seq) ?? []));
    result.set(entry.seq, reasons);
  }
  return result;
}

/**
 * The seqs a retention policy prunes, ascending: those no rule keeps ({@link keptBy}). Never the
 * head or a pending entry, so the chain always keeps a baseline (pruning the baseline promotes its
 * successor).
 *
 * @param now - the current time (ISO 8601), passed in so the core stays pure
 * @throws RetentionError for a policy with no rule, a negative or fractional limit, or a bad tier
 * @example
 * // keep a day of points, and never fewer than the last 10
 * restorePointsToPrune(chain, { keepLast: 10, keepWithinMs: 24 * 3_600_000 }, now)
 * // keep 6 hours of points, then hourly ones for 3 days and daily ones for 30 days
 * restorePointsToPrune(chain, { tiers: { all: '6h', hourly: '3d', daily: '30d' } }, now)
 */
export function restorePointsToPrune(chain: Chain, policy: RetentionPolicy, now: string): number[] {
  return [...keptBy(chain, policy, now)].filter(([, reasons]) => reasons.length === 0).map(([seq]) => seq);
}

/**
 * Applies a retention policy: prunes, oldest first, every restore point
 * {@link restorePointsToPrune} returns.
 *
 * @throws RetentionError for an invalid policy
 */
export function applyRetention(chain: Chain, policy: RetentionPolicy, now: string): PruneResult {
  const doomed = restorePointsToPrune(chain, policy, now);
  let current = chain;
  const unreferenced: string[] = [];
  for (const seq of doomed) {
    const result = pruneRestorePoint(current, seq);
    current = result.chain;
    unreferenced.push(...result.unreferencedSnapshotIds);
  }
  // A snapshot id shared by two pruned entries would be reported once per entry otherwise.
  const unique = [...new Set(unreferenced)].filter((id) => !current.some((entry) => entry.secondarySnapshotId === id));
  return { chain: current, pruned: doomed, unreferencedSnapshotIds: unique };
}

function checkPolicy(policy: RetentionPolicy): void {
  const { keepLast, keepWithinMs, tiers } = policy;
  if (keepLast === undefined && keepWithinMs === undefined && tiers === undefined) {
    throw new RetentionError('a retention policy needs keepLast, keepWithinMs, or both (or tiers)');
  }
  if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 1)) {
    throw new RetentionError(`keepLast must be a whole number of at least 1 (the head is always kept), not ${keepLast}`);
  }
  if (keepWithinMs !== undefined && (!Number.isFinite(keepWithinMs) || keepWithinMs < 0)) {
    throw new RetentionError(`keepWithinMs must be a duration of at least 0 ms, not ${keepWithinMs}`);
  }
  if (tiers !== undefined) parseTierPolicy(tiers);
}

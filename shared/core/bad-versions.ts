/**
 * Bad versions (ARCHITECTURE.md "Verify", claims 10–11 and 22–23): the one record of damage.
 *
 * A bad version `(writer n, block b)` says that the copy of `b` entry `n` wrote into its
 * secondary snapshot is known bad. Every image that still holds that copy is suspect, and
 * everything else is derived from the set:
 *
 * ```
 *   bad blocks of image k = { b : (n, b) bad, n ≤ k, no entry in (n, k] rewrote b }
 *   suspect (m bad)       = |bad blocks of image k|
 *   pending repair        = bad blocks of the head image (the next sync copies them again)
 * ```
 *
 * So a commit inherits every bad version it does not rewrite, without any flag to set: a fix-up
 * that failed, a recovered or adopted sync, a sync that slipped in between can never commit a
 * point that looks clean while it holds a bad version. Recording is a union (idempotent, never
 * lowers what an earlier check found), so two verifies that find the same or different blocks
 * give exact counts.
 *
 * Instants are chain positions: the walk starts at the head seq pinned at `T0`.
 */
import { DeltaMap } from './delta-map';
import { ChainInvariantError } from './errors';

/** Writer seq → the blocks whose copy written by that entry is known bad. */
export type BadVersions = ReadonlyMap<number, DeltaMap>;

/** The least an entry needs for the derivation: its seq and delta map. */
export interface EntryStep {
  readonly seq: number;
  readonly deltaMap: DeltaMap;
}

/**
 * The bad blocks of every image in `entries` (ascending seq, gap-free as stored: a pruned chain's
 * merged maps already describe each step from its predecessor).
 *
 * Bad versions whose writer is not among `entries` are ignored: a prune re-keys a pruned writer's
 * versions to its successor before it removes the writer, so a leftover is garbage it deletes.
 *
 * @returns seq → the image's bad blocks (only for images that hold at least one)
 * @throws ChainInvariantError when `entries` are not in ascending seq order
 */
export function imageBadBlocks(entries: Iterable<EntryStep>, bad: BadVersions): Map<number, DeltaMap> {
  const result = new Map<number, DeltaMap>();
  // block → writer of the bad version the current image holds there
  const live = new Map<number, number>();
  let previous = -1;
  for (const entry of entries) {
    if (entry.seq <= previous) throw new ChainInvariantError(`bad-version derivation needs ascending seqs; got ${entry.seq} after ${previous}`, { seq: entry.seq });
    previous = entry.seq;
    for (const blockIndex of [...live.keys()]) if (entry.deltaMap.has(blockIndex)) live.delete(blockIndex);
    bad.get(entry.seq)?.forEach((blockIndex) => live.set(blockIndex, entry.seq));
    // A bad block lies below every later image's size: volumes only grow.
    if (live.size > 0) result.set(entry.seq, DeltaMap.of(Math.max(entry.deltaMap.volumeBlocks, maxBlock(live) + 1), live.keys()));
  }
  return result;
}

/** The smallest writer seq with a bad version, or undefined when there is none. */
export function oldestBadWriter(bad: BadVersions): number | undefined {
  let oldest: number | undefined;
  for (const [writer, blocks] of bad) if (!blocks.isEmpty() && (oldest === undefined || writer < oldest)) oldest = writer;
  return oldest;
}

/** Number of bad versions in the set. */
export function badVersionCount(bad: BadVersions): number {
  let count = 0;
  for (const blocks of bad.values()) count += blocks.size;
  return count;
}

/** What {@link suspectWalkVersions} found. */
export interface BadVersionWalk {
  /** The entry the walk started from (the head at `T0`). */
  readonly startSeq: number;
  /** The bad versions: for each block of `C`, the entry that wrote the copy the start image holds. */
  readonly versions: Map<number, DeltaMap>;
  /**
   * Blocks of `C` no entry of the chain wrote (the start image reads zeros there, yet the scan
   * found them differ): recorded as bad versions of the oldest entry, whose image holds them too.
   */
  readonly residual: DeltaMap;
}

/**
 * The suspect walk (claims 11, 23) as bad versions: from `C` and the image of `startSeq`, walk
 * back; at each entry `n` the blocks of the walk map that `D_n` holds are bad versions `(n, b)`;
 * subtract `D_n`, step back, stop when the map is empty. A residual after the oldest entry is
 * attributed to the oldest entry (its image, and every later one that did not rewrite the block,
 * holds the bad state).
 *
 * The walk starts from `C`, not `C'`: both compared images are frozen at `T0`, so every mismatch
 * is real, and a block a sync rewrote during the scan is still bad in the older images.
 *
 * @param entries - the committed chain up to and including `startSeq`, any order
 * @throws ChainInvariantError when `startSeq` is not among `entries`
 */
export function suspectWalkVersions(entries: readonly EntryStep[], compare: DeltaMap, startSeq: number): BadVersionWalk {
  const ordered = entries.filter((entry) => entry.seq <= startSeq).sort((a, b) => b.seq - a.seq);
  if (ordered[0]?.seq !== startSeq) throw new ChainInvariantError(`the suspect walk starts at restore point ${startSeq}, which is not in the chain`, { seq: startSeq });
  const versions = new Map<number, DeltaMap>();
  let walk = compare.clone();
  for (const entry of ordered) {
    if (walk.isEmpty()) break;
    const written = walk.intersect(entry.deltaMap);
    if (!written.isEmpty()) versions.set(entry.seq, written);
    walk = walk.subtract(entry.deltaMap);
  }
  const oldest = ordered.at(-1);
  if (!walk.isEmpty() && oldest !== undefined) versions.set(oldest.seq, (versions.get(oldest.seq) ?? DeltaMap.empty(walk.volumeBlocks)).union(walk));
  return { startSeq, versions, residual: walk };
}

/**
 * What pruning entry `k` does to the bad versions: `k`'s versions of blocks its successor did not
 * rewrite are the same stored copies, now held from the successor's image on; those the successor
 * rewrote are held by no image once `k` is gone.
 *
 * @param prunedBad - `k`'s bad versions
 * @param successorDelta - `D_{k+1}` before the merge
 * @returns the blocks to add to the successor's bad versions (empty when none)
 */
export function handedToSuccessor(prunedBad: DeltaMap | undefined, successorDelta: DeltaMap): DeltaMap {
  if (prunedBad === undefined) return DeltaMap.empty(successorDelta.volumeBlocks);
  return prunedBad.subtract(successorDelta);
}

function maxBlock(live: Map<number, number>): number {
  let max = -1;
  for (const blockIndex of live.keys()) if (blockIndex > max) max = blockIndex;
  return max;
}

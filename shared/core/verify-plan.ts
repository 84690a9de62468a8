/**
 * The maps of a verify (claims 1–11, 13–23): what a segment scans, the compare delta map `C`
 * built from its mismatches, the scan delta map `SD`, the revised compare map `C' = C − SD`,
 * the fix-up map `F = HC ∪ C'`, and the suspect walk that marks the restore points whose images
 * hold a bad block version.
 *
 * ```
 *   T0: P0, D0, PIT map            T1: SD, C'           fix-up: P2, HC, F → fixup entry
 *   ├──────── scan interval ────────┤
 *   syncs keep committing here (their delta maps make SD)
 * ```
 */
import { type Chain, toInstant, validateChain, pendingEntry, headEntry } from './chain';
import { volumeBlocks } from './constants';
import { DeltaMap } from './delta-map';
import { BlockRangeError, ChainInvariantError } from './errors';
import type { PitMap } from './pit-map';

/** Inputs of {@link scanScope}. */
export interface ScanScopeInput {
  readonly pitMap: PitMap;
  readonly segmentIndex: number;
  /** Blocks allocated in `P0` or `S_head` (ListSnapshotBlocks of both, united). */
  readonly allocated: DeltaMap;
  /**
   * When given (quick verify, or adopting an uncommitted snapshot), only these blocks are
   * scanned and compared (claims 5–6, 17–18).
   */
  readonly dirtyRegionLog?: DeltaMap;
}

/**
 * The blocks one segment reads and compares: allocated in `P0` or `S_head`, not pending in the
 * PIT map, and, when a dirty region log is given, listed in it.
 */
export function scanScope(input: ScanScopeInput): DeltaMap {
  const candidates = input.pitMap.blocksToCompare(input.segmentIndex, input.allocated);
  return input.dirtyRegionLog === undefined ? candidates : candidates.intersect(input.dirtyRegionLog);
}

/**
 * The dirty region log implied by the chain: the delta map of the entry in flight, i.e. blocks
 * modified on the primary but not yet committed to the secondary (claim 6). Empty once the
 * entry commits, which is what clearing the log at commit means.
 *
 * @throws ChainInvariantError when the chain is empty
 */
export function dirtyRegionLog(chain: Chain): DeltaMap {
  const inFlight = pendingEntry(chain);
  if (inFlight !== undefined) return inFlight.deltaMap.clone();
  return DeltaMap.empty(volumeBlocks(headEntry(chain).volumeSize));
}

/**
 * The compare delta map `C` of one scope (a segment, or all of them): the blocks where the scan
 * found the primary and the secondary differ (claims 1, 13).
 *
 * @param scope - what was scanned (from {@link scanScope}); `C` is sized like it
 * @param mismatches - block indexes whose bytes differed
 * @throws BlockRangeError for a mismatch outside the scope: a scanner bug, never silently kept
 */
export function compareDeltaMap(scope: DeltaMap, mismatches: Iterable<number>): DeltaMap {
  const compare = DeltaMap.empty(scope.volumeBlocks);
  for (const blockIndex of mismatches) {
    if (!scope.has(blockIndex)) throw new BlockRangeError(`mismatch at block ${blockIndex}, which was not in the scan scope`, { blockIndex });
    compare.add(blockIndex);
  }
  return compare;
}

/**
 * The scan delta map `SD` (claims 8, 20): the union of the delta maps committed during the scan
 * interval `(T0, T1]`, i.e. every block a sync rewrote in the secondary while the scan ran.
 *
 * @param volumeBlocks - size of the result when no entry is larger (`C`'s)
 */
export function scanDeltaMap(chain: Chain, t0: string, t1: string, volumeBlocks: number): DeltaMap {
  const start = toInstant(t0, 'T0');
  const end = toInstant(t1, 'T1');
  let scanDelta = DeltaMap.empty(volumeBlocks);
  for (const entry of chain) {
    if (entry.committedAt === undefined) continue;
    const committedAt = toInstant(entry.committedAt);
    if (committedAt > start && committedAt <= end) scanDelta = scanDelta.union(entry.deltaMap);
  }
  return scanDelta;
}

/**
 * The revised compare map `C' = C − SD` (claims 7–9, 19–21): the blocks the fix-up must copy
 * because no sync rewrote them since the scan started. An empty `C'` means a clean verify.
 */
export function revisedCompareMap(compare: DeltaMap, scanDelta: DeltaMap): DeltaMap {
  return compare.subtract(scanDelta);
}

/**
 * The fix-up map `F = HC ∪ C'` (claims 10, 22): what the fix-up copies from `P2` into a new
 * secondary snapshot with parent `S_head`, appended to the chain as a `fixup` entry. `HC` makes
 * the entry a regular step from the head; `C'` repairs the bad blocks.
 *
 * @param hostChangeMap - `HC = changes(P_head → P2)`, sized to `P2`'s volume
 * @param revisedCompare - `C'`
 */
export function fixupMap(hostChangeMap: DeltaMap, revisedCompare: DeltaMap): DeltaMap {
  return hostChangeMap.union(revisedCompare);
}

/** One restore point the suspect walk marks, and how many bad block versions its image holds. */
export interface SuspectMark {
  readonly seq: number;
  readonly suspectBlocks: number;
}

/** What {@link suspectWalk} found. */
export interface SuspectWalkResult {
  /** The entry the walk started from: the last committed at or before `T0`. */
  readonly startSeq: number;
  /** Marks from the start entry backwards (descending seq). */
  readonly marks: readonly SuspectMark[];
  /**
   * Blocks still in the walk's map after the baseline: bad in every image back to the baseline
   * and never written by any entry, so nothing in the chain explains them (the baseline's mark
   * counts them). Worth an alarm: damage outside the method's model.
   */
  readonly residual: DeltaMap;
}

/**
 * The suspect walk (claims 11, 23). Starts at the last entry committed at or before `T0`; marks
 * it suspect with the number of blocks still in the walk's map (its image holds their bad
 * version), subtracts its delta map (older images hold another version of those blocks), steps
 * to the previous entry, and stops when the map is empty.
 *
 * ```
 * C = {1,2,3}         seq:  0      1      2 (≤ T0)
 * D_2 = {1}          map: {3}    {2,3}  {1,2,3}
 * D_1 = {2}         mark:  1      2      3
 * D_0 = {3}          → after D_0 the map is empty: no residual
 * ```
 *
 * The walk starts from `C`, not `C'`: both compared images are snapshots frozen at `T0`, so
 * every mismatch is real, and a block a sync rewrote during the scan is still bad in the older
 * images.
 *
 * @param compare - `C`
 * @param t0 - when the verify took `P0`
 * @throws ChainInvariantError when no entry was committed at or before `T0`
 */
export function suspectWalk(chain: Chain, compare: DeltaMap, t0: string): SuspectWalkResult {
  validateChain(chain);
  const startPosition = lastCommittedAtOrBefore(chain, t0);
  const start = chain[startPosition];
  if (start === undefined) throw new ChainInvariantError(`no restore point was committed at or before T0 ${t0}`);
  const marks: SuspectMark[] = [];
  let walk = compare.clone();
  for (let position = startPosition; position >= 0 && !walk.isEmpty(); position--) {
    const entry = chain[position];
    if (entry === undefined) break;
    marks.push({ seq: entry.seq, suspectBlocks: walk.size });
    walk = walk.subtract(entry.deltaMap);
  }
  return { startSeq: start.seq, marks, residual: walk };
}

/**
 * Marks for the restore points committed during the scan interval `(T0, T1]`. The walk of
 * claim 11 goes backwards from `T0` only, yet a sync during the scan wrote its snapshot with
 * parent `S_head`, so its image inherits every bad block it did not rewrite: entry `j` holds
 * `C − (D_{start+1} ∪ … ∪ D_j)` bad versions. The last of them holds exactly `C'`, which the
 * fix-up then repairs. Kept apart from {@link suspectWalk} because the claims do not name it.
 *
 * @returns marks in ascending seq, only for entries that hold at least one bad block
 */
export function scanIntervalSuspects(chain: Chain, compare: DeltaMap, t0: string, t1: string): SuspectMark[] {
  validateChain(chain);
  const start = toInstant(t0, 'T0');
  const end = toInstant(t1, 'T1');
  const marks: SuspectMark[] = [];
  let stillBad = compare.clone();
  for (const entry of chain) {
    if (entry.committedAt === undefined) continue;
    const committedAt = toInstant(entry.committedAt);
    if (committedAt <= start || committedAt > end) continue;
    stillBad = stillBad.subtract(entry.deltaMap);
    if (stillBad.isEmpty()) break;
    marks.push({ seq: entry.seq, suspectBlocks: stillBad.size });
  }
  return marks;
}

/**
 * Applies suspect marks to the chain: each marked entry becomes suspect and adds the mark's
 * count to its `suspectBlocks` (an entry a previous verify marked keeps its earlier count too).
 *
 * @throws ChainInvariantError when a mark names an entry that is not a committed restore point
 */
export function applySuspectMarks(chain: Chain, marks: readonly SuspectMark[]): Chain {
  const added = new Map<number, number>();
  for (const mark of marks) {
    const entry = chain.find((candidate) => candidate.seq === mark.seq);
    if (entry?.status !== 'committed') {
      throw new ChainInvariantError(`cannot mark entry ${mark.seq} suspect: not a committed restore point`, { seq: mark.seq });
    }
    added.set(mark.seq, (added.get(mark.seq) ?? 0) + mark.suspectBlocks);
  }
  return chain.map((entry) => {
    const count = added.get(entry.seq);
    if (count === undefined || count === 0) return entry;
    return { ...entry, trust: 'suspect' as const, suspectBlocks: entry.suspectBlocks + count };
  });
}

/** Position of the last entry committed at or before `t0`, or -1. */
function lastCommittedAtOrBefore(chain: Chain, t0: string): number {
  const start = toInstant(t0, 'T0');
  let found = -1;
  for (const [position, entry] of chain.entries()) {
    if (entry.committedAt !== undefined && toInstant(entry.committedAt) <= start) found = position;
  }
  return found;
}

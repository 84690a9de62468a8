/**
 * The maps of a verify (claims 1–11, 13–23): what a segment scans, the compare delta map `C`
 * built from its mismatches, the scan delta map `SD`, the revised compare map `C' = C − SD`,
 * the fix-up map `F = HC ∪ C'`. The suspect walk, which records the bad versions whose holders
 * are suspect, is in `bad-versions.ts`.
 *
 * ```
 *   T0: P0, D0, PIT map            T1: SD, C'           fix-up: P2, HC, F → fixup entry
 *   ├──────── scan interval ────────┤
 *   syncs keep committing here (their delta maps make SD)
 * ```
 */
import { type Chain, pendingEntry, headEntry } from './chain';
import { volumeBlocks } from './constants';
import { DeltaMap } from './delta-map';
import { BlockRangeError } from './errors';
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
 * interval, i.e. of every committed entry after `t0Seq`, the head seq at `T0` (instants are
 * chain positions, never wall-clock times).
 *
 * @param volumeBlocks - size of the result when no entry is larger (`C`'s)
 */
export function scanDeltaMap(chain: Chain, t0Seq: number, volumeBlocks: number): DeltaMap {
  let scanDelta = DeltaMap.empty(volumeBlocks);
  for (const entry of chain) {
    if (entry.status === 'committed' && entry.seq > t0Seq) scanDelta = scanDelta.union(entry.deltaMap);
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

/** One restore point whose image holds a bad version a check found, and its bad-block count. */
export interface SuspectMark {
  readonly seq: number;
  readonly suspectBlocks: number;
}

/**
 * The per-segment maps a verify run keeps in the chain store besides its compare delta map `C`.
 * They ride on the store's compare-shard items (`CMP#<key>#<segment>`) under keys derived from the
 * run id with a `:` suffix. A Step Functions execution name cannot hold `:`, so a derived key never
 * collides with another run's own `C`.
 *
 * | key              | written by          | holds                                                        |
 * |------------------|---------------------|--------------------------------------------------------------|
 * | `<runId>`        | VerifyScanSegment   | `C`: blocks where `P0` and `S_head` differ                    |
 * | `<runId>:d0`     | VerifyPlan          | `D0 = changes(P_head → P0)`: pending, never compared          |
 * | `<runId>:quick`  | VerifyPlan (quick)  | the dirty regions a quick verify limits the scan to           |
 * | `<runId>:scope`  | VerifyScanSegment   | the blocks each segment actually compared (report counts)     |
 * | `<runId>:revised`| VerifyFinishScan    | `C' = C − SD`: what the fix-up must copy besides `HC`         |
 *
 * `D0` is persisted at plan time rather than listed by each segment because a sync committing
 * during the scan deletes `P_head`, after which `changes(P_head → P0)` can no longer be listed.
 */
import type { DeltaMap } from '../../core/delta-map';
import type { ChainStore } from '../../core/ports/chain-store';

/** Which of a run's per-segment maps. */
export type VerifyMapKind = 'compare' | 'present' | 'quick' | 'scope' | 'revised';

const SUFFIX: Readonly<Record<VerifyMapKind, string>> = {
  compare: '',
  present: ':d0',
  quick: ':quick',
  scope: ':scope',
  revised: ':revised',
};

/** The chain-store key of one of a run's maps. */
export function verifyMapKey(runId: string, kind: VerifyMapKind): string {
  return `${runId}${SUFFIX[kind]}`;
}

/**
 * Persists every non-empty segment of `map` (an absent shard reads back as empty). Idempotent:
 * a rerun rewrites the same shards.
 */
export async function writeVerifyMap(store: ChainStore, volumeId: string, runId: string, kind: VerifyMapKind, map: DeltaMap): Promise<void> {
  const key = verifyMapKey(runId, kind);
  for (const segment of map.segmentIndexes()) await store.putCompareSegment(volumeId, key, segment, map.segment(segment));
}

/** Persists one segment of a map, even when empty (the presence of a compare shard marks the segment scanned). */
export async function writeVerifySegment(
  store: ChainStore,
  volumeId: string,
  runId: string,
  kind: VerifyMapKind,
  segment: number,
  map: DeltaMap,
): Promise<void> {
  await store.putCompareSegment(volumeId, verifyMapKey(runId, kind), segment, map);
}

/** One of a run's maps, sized to `volumeBlocks`, with the segments that have a shard. */
export async function readVerifyMap(
  store: ChainStore,
  volumeId: string,
  runId: string,
  kind: VerifyMapKind,
  volumeBlocks: number,
): Promise<{ deltaMap: DeltaMap; segments: number[] }> {
  const state = await store.readCompareMap(volumeId, verifyMapKey(runId, kind), volumeBlocks);
  return { deltaMap: state.deltaMap, segments: state.scannedSegments };
}

/**
 * The revised compare map `C'` of a finished verify scan: what the fix-up (`SyncPlan` with
 * `extraFromRun`) copies besides the host change map `HC`, so that `F = HC ∪ C'`. Blocks a sync
 * rewrote during the scan are already subtracted (claims 7–9): copying `C` instead would fix them
 * twice.
 *
 * @param volumeBlocks - the size to read it at (the fix-up's volume; at least `P0`'s)
 * @example
 * const revised = await readRevisedCompareMap(ctx.chainStore, volumeId, extraFromRun, volumeBlocks(p2Size));
 * const fixup = fixupMap(hostChangeMap, revised);
 */
export async function readRevisedCompareMap(store: ChainStore, volumeId: string, runId: string, volumeBlocks: number): Promise<DeltaMap> {
  return (await readVerifyMap(store, volumeId, runId, 'revised', volumeBlocks)).deltaMap;
}

/** Segments `[0, count)`. */
export function allSegments(count: number): number[] {
  return Array.from({ length: count }, (_, segment) => segment);
}


/**
 * The present delta map `changes(P_head → P_now)` (ARCHITECTURE.md vocabulary): the blocks written
 * on the primary since the base primary snapshot of the head restore point. SyncPlan copies it
 * (claims 5–6: it becomes the DRL), VerifyPlan leaves it pending (`D0`, claims 3–4), RestorePlan
 * unites it into `R` (claim 12). One listing serves the three, so they cannot disagree on it.
 */
import { BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT, volumeBlocks } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import type { SnapshotReader } from '../../core/ports/snapshots';
import type { Heartbeat } from './copy-blocks';

/**
 * Blocks listed between two heartbeats: a beat is a clock read until a renewal is due, but one
 * per block of a 16 TiB volume's 32 M would still be millions of awaits.
 */
const BLOCKS_PER_BEAT = 4_096;

/** A present delta map and the size (GiB) it is sized to. */
export interface PresentDeltaMap {
  readonly deltaMap: DeltaMap;
  readonly volumeSize: number;
}

export interface PresentDeltaMapOptions {
  /**
   * GiB to size the map to when the caller already knows the volume's size (a restore: the
   * primary as RestoreBegin described it); then one listing of the whole range. When absent, the
   * map is sized to `snapshotId`'s volume, which the first segment's listing reports.
   */
  readonly volumeSize?: number;
  /**
   * Beaten while the listing runs (a lease-holding SyncPlan: listing a large volume's changes
   * can take minutes); its error stops the listing.
   */
  readonly heartbeat?: Heartbeat;
}

/**
 * `changes(base → snapshotId)`, listed with ListChangedBlocks; without a base (a first sync, no
 * restore point yet) every allocated block of `snapshotId` (ListSnapshotBlocks semantics of the
 * reader), which makes the baseline.
 *
 * @throws UnrelatedSnapshotsError when the two snapshots are not of one lineage
 * @throws SnapshotNotFoundError when either snapshot is gone
 * @example
 * const { deltaMap, volumeSize } = await presentDeltaMap(ctx.primary.reader, volume.basePrimarySnapshotId, pNow);
 */
export async function presentDeltaMap(
  reader: SnapshotReader,
  baseSnapshotId: string | undefined,
  snapshotId: string,
  options: PresentDeltaMapOptions = {},
): Promise<PresentDeltaMap> {
  let listed = 0;
  const beat = async (): Promise<void> => {
    if (options.heartbeat !== undefined && ++listed % BLOCKS_PER_BEAT === 0) await options.heartbeat.beat();
  };
  if (options.volumeSize !== undefined) {
    const deltaMap = DeltaMap.empty(volumeBlocks(options.volumeSize));
    for await (const changed of reader.listChangedBlocks(baseSnapshotId, snapshotId)) {
      deltaMap.add(changed.blockIndex);
      await beat();
    }
    return { deltaMap, volumeSize: options.volumeSize };
  }
  const head = await reader.changedBlocksOfSegment(baseSnapshotId, snapshotId, 0);
  const deltaMap = head.deltaMap.clone();
  if (deltaMap.volumeBlocks > BLOCKS_PER_SEGMENT) {
    for await (const block of reader.listChangedBlocks(baseSnapshotId, snapshotId, { start: BLOCKS_PER_SEGMENT, end: deltaMap.volumeBlocks })) {
      deltaMap.add(block.blockIndex);
      await beat();
    }
  }
  return { deltaMap, volumeSize: deltaMap.volumeBlocks / BLOCKS_PER_GIB };
}

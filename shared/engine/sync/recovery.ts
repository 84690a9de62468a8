/**
 * Recovery of a crashed sync (claims 5–6 for the DRL), run by SyncBegin when a DRL of another run
 * is live:
 * - its secondary snapshot is still `pending`: resume — `SyncPlan` returns the DRL's plan and the
 *   copy runs again into the same snapshot (re-putting a block overwrites it);
 * - it `completed` but was never committed: compare only the DRL's blocks of `P_seq` and `S_seq`
 *   (scan only dirty regions) and commit it when equal, else delete it;
 * - it is missing, failed, or was never started: discard it and clear the DRL.
 */
import { runBlockPool } from '../../core/block-pool';
import { sha256, ZERO_BLOCK_DIGEST } from '../../core/checksum';
import { segmentRange } from '../../core/constants';
import type { DeltaMap } from '../../core/delta-map';
import type { DirtyRegionLog, Fence } from '../../core/ports/chain-store';
import { SnapshotNotFoundError } from '../../core/ports/errors';
import type { SnapshotReader } from '../../core/ports/snapshots';
import { PURPOSE_TAG, RESTORE_POINT_PURPOSE, RUN_ID_TAG, VOLUME_ID_TAG } from '../../core/tags';
import type { EngineContext } from '../context';
import { beatingBefore } from '../tasks/copy-blocks';
import { LeaseHeartbeat } from '../tasks/lease';
import { commitInFlight, commitSummary } from './commit';
import type { RecoveryOutcome } from './outputs';

/** Decides the fate of a crashed run's entry in flight (see the module comment). */
export async function recoverInFlight(ctx: EngineContext, volumeId: string, drl: DirtyRegionLog, fence: Fence): Promise<RecoveryOutcome> {
  const about = { seq: drl.seq, runId: drl.runId };
  const discard = async (reason: string, snapshotId?: string): Promise<RecoveryOutcome> => {
    if (snapshotId !== undefined) await ctx.secondary.snapshots.deleteSnapshot(snapshotId);
    // A secondary started but not yet recorded in the DRL is found by the crashed run's tag.
    const orphans = await ctx.secondary.lookup.findOwned([
      { key: VOLUME_ID_TAG, value: volumeId },
      { key: RUN_ID_TAG, value: drl.runId },
      { key: PURPOSE_TAG, value: RESTORE_POINT_PURPOSE },
    ]);
    for (const orphan of orphans) {
      if (orphan.snapshotId !== snapshotId) await ctx.secondary.snapshots.deleteSnapshot(orphan.snapshotId);
    }
    await ctx.store.clearDirtyRegionLog(volumeId, fence);
    await ctx.store.deleteRunItems(volumeId, drl.runId);
    return { ...about, outcome: 'discarded', reason };
  };
  const secondaryId = drl.secondarySnapshotId;
  if (secondaryId === undefined || secondaryId === '') return discard('its secondary snapshot was never started');
  let state: string;
  try {
    state = (await ctx.secondary.waiter.status(secondaryId)).state;
  } catch (error) {
    if (error instanceof SnapshotNotFoundError) return discard(`its secondary snapshot ${secondaryId} no longer exists`);
    throw error;
  }
  if (state === 'pending') return { ...about, outcome: 'resumed', reason: `its secondary snapshot ${secondaryId} is still pending` };
  if (state === 'error') return discard(`its secondary snapshot ${secondaryId} failed`, secondaryId);
  const mismatches = await compareDirtyRegions(ctx, volumeId, drl, secondaryId, fence);
  if (mismatches > 0) return discard(`${mismatches} block(s) of its DRL differ between ${drl.primarySnapshotId} and ${secondaryId}`, secondaryId);
  // The crashed run completed it from the digests its own CopySegments persisted.
  const entry = await commitInFlight(ctx, volumeId, drl, secondaryId, fence, drl.runId);
  // Its digests (the completion's) are the adopted entry's digest manifest.
  await ctx.store.deleteRunItems(volumeId, drl.runId, { keepDigests: true });
  const commit = commitSummary(volumeId, entry, []);
  return { ...about, outcome: 'adopted', reason: `its completed secondary ${secondaryId} equals ${drl.primarySnapshotId} on the DRL's ${drl.deltaMap.size} block(s)`, commit };
}

/**
 * Claims 5–6: compares only the DRL's blocks of `P_seq` and `S_seq` (an unlisted block reads as
 * zeros on either side). Returns the number of blocks that differ.
 */
async function compareDirtyRegions(ctx: EngineContext, volumeId: string, drl: DirtyRegionLog, secondaryId: string, fence: Fence): Promise<number> {
  // Reading the DRL's blocks on both sides can take minutes: the lease is renewed meanwhile.
  const heartbeat = new LeaseHeartbeat(ctx, volumeId, fence);
  let mismatches = 0;
  for (const segment of drl.deltaMap.segmentIndexes()) {
    const blocks = drl.deltaMap.segment(segment);
    const primaryTokens = await tokensOf(ctx.primary.reader, drl.primarySnapshotId, segment, blocks);
    const secondaryTokens = await tokensOf(ctx.secondary.reader, secondaryId, segment, blocks);
    await runBlockPool(beatingBefore(blocks, heartbeat), async (blockIndex) => {
      const [p, s] = await Promise.all([
        digestOf(ctx.primary.reader, drl.primarySnapshotId, blockIndex, primaryTokens.get(blockIndex)),
        digestOf(ctx.secondary.reader, secondaryId, blockIndex, secondaryTokens.get(blockIndex)),
      ]);
      if (p !== s) mismatches++;
    }, { concurrency: ctx.tuning.blockWorkers, snapshotId: secondaryId });
  }
  return mismatches;
}

async function tokensOf(reader: SnapshotReader, snapshotId: string, segment: number, wanted: DeltaMap): Promise<Map<number, string>> {
  const tokens = new Map<number, string>();
  for await (const block of reader.listBlocks(snapshotId, segmentRange(segment))) {
    if (wanted.has(block.blockIndex)) tokens.set(block.blockIndex, block.blockToken);
  }
  return tokens;
}

/** Base64 SHA-256 of a block's bytes (one all-zero block when the snapshot does not list it). */
async function digestOf(reader: SnapshotReader, snapshotId: string, blockIndex: number, token: string | undefined): Promise<string> {
  if (token === undefined) return ZERO_DIGEST;
  return sha256(await reader.getBlock(snapshotId, blockIndex, token)).toString('base64');
}

/** How a block a snapshot does not list reads: all zeros. */
const ZERO_DIGEST = ZERO_BLOCK_DIGEST.toString('base64');

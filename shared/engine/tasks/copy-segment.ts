/**
 * The CopySegment task of a sync or fix-up (one Map item): the DRL's blocks of one segment from
 * `P_seq` into `S_seq`, through the shared {@link copySegmentBlocks}.
 */
import type { EngineContext } from '../context';
import { StepOrderError } from '../errors';
import { copySegmentBlocks } from './copy-blocks';
import { entryDigestKey } from './digest-key';
import { LeaseHeartbeat, renewFence } from './lease';
import type { CopySegmentInput } from './schemas';

export interface CopySegmentOutput {
  readonly segment: number;
  readonly blocksWritten: number;
}

/**
 * Copies the DRL's blocks of one segment from `P_seq` into `S_seq` (a block `P_seq` lacks is
 * written as zeros) and persists their digests. Idempotent.
 *
 * Renews the lease at its start and every `leaseHeartbeatMs` while it copies.
 *
 * @throws LeaseLostError when another run took the lease over (at the start or mid-copy: nothing persisted)
 * @throws StepOrderError when the DRL in flight is not entry `seq`
 * @throws BlockCopyFailedError naming every block that failed
 */
export async function copySegment(ctx: EngineContext, input: CopySegmentInput): Promise<CopySegmentOutput> {
  const { volumeId, runId, segment } = input;
  // Renewed first and then every leaseHeartbeatMs of the copy: a segment may copy for many minutes.
  await renewFence(ctx, volumeId, input);
  const heartbeat = new LeaseHeartbeat(ctx, volumeId, input);
  const drl = await ctx.store.readDirtyRegionLog(volumeId);
  if (drl === undefined || drl.seq !== input.seq || drl.secondarySnapshotId !== input.targetSnapshotId || drl.primarySnapshotId !== input.sourceSnapshotId) {
    throw new StepOrderError(
      `volume ${volumeId}: no entry ${input.seq} from ${input.sourceSnapshotId} into ${input.targetSnapshotId} is in flight; run SyncPlan first`,
      { volumeId, seq: input.seq, segment });
  }
  const result = await copySegmentBlocks(
    { store: ctx.store, reader: ctx.primary.reader, writer: ctx.secondary.writer, logger: ctx.logger, blockWorkers: ctx.tuning.blockWorkers, heartbeat },
    { volumeId, runId: entryDigestKey(runId, input.seq), segment, blocks: drl.deltaMap, sourceSnapshotId: input.sourceSnapshotId, targetSnapshotId: input.targetSnapshotId },
  );
  return { segment: result.segment, blocksWritten: result.blocksWritten };
}

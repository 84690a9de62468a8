/**
 * The copy of a delta restore (claim 12): the CopySegment Map items (`S_k` → target) and the
 * CompleteSnapshot of the target, both through the shared block copy of `tasks/copy-blocks.ts`.
 */
import { BLOCKS_PER_SEGMENT, MAX_VOLUME_BLOCKS } from '../../core/constants';
import { SnapshotFailedError } from '../../core/ports/errors';
import type { SnapshotState } from '../../core/ports/snapshots';
import { completeSnapshotFromDigests, copySegmentBlocks, type CopySegmentResult } from '../tasks/copy-blocks';
import { RESTORE_PLAN_MAP, type RestoreContext } from './context';
import type { RestoreCompleteTargetInput, RestoreCopySegmentInput } from './schemas';

/**
 * One Map item of a delta restore: copies the blocks of `R` in `segment` from `S_k` into the
 * target (a block `S_k` does not list, or beyond its size, is written as zeros) through the
 * shared {@link copySegmentBlocks}, which persists the digests for the LINEAR aggregate.
 * Idempotent: re-putting a block into a pending snapshot overwrites it.
 *
 * @throws SnapshotNotFoundError when `S_k` was pruned during the copy (the restore fails loudly)
 */
export async function restoreCopySegment(ctx: RestoreContext, input: RestoreCopySegmentInput): Promise<CopySegmentResult> {
  // The run map is read per segment: a map sized to cover this segment is enough.
  const coveringBlocks = Math.min(MAX_VOLUME_BLOCKS, (input.segment + 1) * BLOCKS_PER_SEGMENT);
  const blocks = await ctx.store.readRunMap(input.volumeId, input.runId, RESTORE_PLAN_MAP, input.segment, coveringBlocks);
  return copySegmentBlocks(
    { store: ctx.store, reader: ctx.secondary.reader, writer: ctx.primary.writer, logger: ctx.logger, blockWorkers: ctx.tuning.blockWorkers },
    { volumeId: input.volumeId, runId: input.runId, segment: input.segment, blocks, sourceSnapshotId: input.sourceSnapshotId, targetSnapshotId: input.targetSnapshotId },
  );
}

/**
 * CompleteSnapshot of the restore's target (on the primary side) with the LINEAR aggregate over
 * the digests the Map items persisted; `expectedBlocks` (`|R|`) guards against a missing segment.
 * Answers the shared CompleteSnapshot task's shape; then wait with SnapshotStatus (side primary).
 *
 * @throws DigestsIncompleteError when a segment's copy is missing
 */
export async function restoreCompleteTarget(ctx: RestoreContext, input: RestoreCompleteTargetInput): Promise<{ snapshotId: string; state: SnapshotState }> {
  const state = await completeSnapshotFromDigests(
    { store: ctx.store, writer: ctx.primary.writer, waiter: ctx.primary.waiter },
    { volumeId: input.volumeId, runId: input.runId, snapshotId: input.snapshotId, expectedBlocks: input.expectedBlocks },
  );
  if (state === 'error') {
    throw new SnapshotFailedError(input.snapshotId, 'the restore target failed its checksum or timed out', { volumeId: input.volumeId });
  }
  return { snapshotId: input.snapshotId, state };
}

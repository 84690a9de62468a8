/**
 * `CopySegment`: one Map item of a copy. One task for both jobs that copy blocks (ARCHITECTURE.md):
 * a sync or fix-up item (`P_n` → `S_n`, the DRL's blocks, under the lease: it carries
 * `fencingToken` and `seq`) or a restore item (`S_k` → the target, the run's restore plan; no
 * lease). The restore shape is strict, so a malformed sync item is rejected rather than taken
 * for a restore.
 */
import { z } from 'zod';
import { restoreCopySegment } from '../shared/engine/restore';
import { restoreCopySegmentInputSchema } from '../shared/engine/restore/schemas';
import { copySegmentInputSchema } from '../shared/engine/tasks/schemas';
import { copySegment } from '../shared/engine/tasks';
import { engineTask, lambdaHandler } from './engine-task';

/** A sync / fix-up item, or a restore item. */
export const copySegmentTaskInputSchema = z.union([copySegmentInputSchema, restoreCopySegmentInputSchema.strict()]);

export const task = engineTask('CopySegment', copySegmentTaskInputSchema, async (context, input) => {
  if ('fencingToken' in input) return copySegment(context, input);
  const copied = await restoreCopySegment(context, input);
  return { segment: copied.segment, blocksWritten: copied.blocksWritten };
});
export const handler = lambdaHandler(task);

/**
 * `CompleteSnapshot`: CompleteSnapshot with the LINEAR aggregate over the digests the Map items
 * persisted. A sync's secondary, or a restore's target on the primary side (`side: 'primary'`);
 * the restore shape is strict so the two cannot be confused.
 */
import { z } from 'zod';
import { restoreCompleteTarget } from '../shared/engine/restore';
import { restoreCompleteTargetInputSchema } from '../shared/engine/restore/schemas';
import { completeSnapshotInputSchema } from '../shared/engine/tasks/schemas';
import { completeSnapshot } from '../shared/engine/tasks';
import { engineTask, lambdaHandler } from './engine-task';

/**
 * A restore's target (`side: 'primary'` required, strict) or a sync's secondary snapshot. The
 * restore shape comes first: the sync shape is not strict, so it would also accept a restore's
 * input (dropping `side`) and complete the target through the secondary side's writer.
 */
export const completeSnapshotTaskInputSchema = z.union([
  restoreCompleteTargetInputSchema.extend({ side: z.literal('primary') }).strict(),
  completeSnapshotInputSchema,
]);

export const task = engineTask('CompleteSnapshot', completeSnapshotTaskInputSchema, async (context, input) =>
  'side' in input ? restoreCompleteTarget(context, input) : completeSnapshot(context, input),
);
export const handler = lambdaHandler(task);

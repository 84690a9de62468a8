/**
 * `CompleteSnapshot`: CompleteSnapshot with the LINEAR aggregate over the digests the Map items
 * persisted. A sync's secondary (`snapshotId`) or a restore's target on the primary side
 * (`targetSnapshotId`); the restore shape is strict so the two cannot be confused.
 */
import { z } from 'zod';
import { restoreCompleteTarget } from '../shared/engine/restore';
import { restoreCompleteTargetInputSchema } from '../shared/engine/restore-schemas';
import { completeSnapshotInputSchema } from '../shared/engine/schemas';
import { completeSnapshot } from '../shared/engine/sync';
import { engineTask, lambdaHandler } from './engine-task';

/** A sync's secondary snapshot, or a restore's target. */
export const completeSnapshotTaskInputSchema = z.union([completeSnapshotInputSchema, restoreCompleteTargetInputSchema.strict()]);

export const task = engineTask('CompleteSnapshot', completeSnapshotTaskInputSchema, async (context, input) =>
  'targetSnapshotId' in input ? restoreCompleteTarget(context, input) : completeSnapshot(context, input),
);
export const handler = lambdaHandler(task);

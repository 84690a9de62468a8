/** `SnapshotStatus`: one look at a snapshot's state for a Wait/Choice loop (every job). */
import { snapshotStatusInputSchema } from '../shared/engine/tasks/schemas';
import { snapshotStatus } from '../shared/engine/tasks';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('SnapshotStatus', snapshotStatusInputSchema, snapshotStatus);
export const handler = lambdaHandler(task);

/** `SyncCommit`: commits the entry in flight as the new head, clears the DRL, releases the lease. */
import { syncCommitInputSchema } from '../shared/engine/sync/schemas';
import { syncCommit } from '../shared/engine/sync';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('SyncCommit', syncCommitInputSchema, syncCommit);
export const handler = lambdaHandler(task);

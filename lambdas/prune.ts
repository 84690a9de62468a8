/** `Prune`: applies the retention policy (or prunes the given seqs): merges `D_k` into `D_{k+1}`, deletes `S_k`. */
import { pruneInputSchema } from '../shared/engine/prune/schemas';
import { prune } from '../shared/engine/prune';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('Prune', pruneInputSchema, prune);
export const handler = lambdaHandler(task);

/** `RestoreSwap`: swaps the restored volume onto the instance when `inPlace`. */
import { restoreSwapInputSchema } from '../shared/engine/restore/schemas';
import { restoreSwap } from '../shared/engine/restore';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('RestoreSwap', restoreSwapInputSchema, restoreSwap);
export const handler = lambdaHandler(task);

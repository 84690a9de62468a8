/** `RestorePlan`: the restore plan `R`, persisted per segment, and the target snapshot (parent `P_now`). */
import { restorePlanInputSchema } from '../shared/engine/restore/schemas';
import { restorePlanStep } from '../shared/engine/restore';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('RestorePlan', restorePlanInputSchema, restorePlanStep);
export const handler = lambdaHandler(task);

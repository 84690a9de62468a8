/** `SyncPlan`: `D = changes(P_head → P_now)` (or the fix-up's `F = HC ∪ C'`) persisted as the DRL, then StartSnapshot. */
import { syncPlanInputSchema } from '../shared/engine/sync/schemas';
import { syncPlan } from '../shared/engine/sync';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('SyncPlan', syncPlanInputSchema, syncPlan);
export const handler = lambdaHandler(task);

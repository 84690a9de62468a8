/** `VerifyPlan`: `D0`, the PIT map, and the segments to scan (the Map's items). */
import { verifyPlanInputSchema } from '../shared/engine/verify/schemas';
import { verifyPlan } from '../shared/engine/verify';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('VerifyPlan', verifyPlanInputSchema, verifyPlan);
export const handler = lambdaHandler(task);

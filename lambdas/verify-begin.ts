/** `VerifyBegin`: takes `P0` at `T0` and records the verify run. */
import { verifyBeginInputSchema } from '../shared/engine/verify/schemas';
import { verifyBegin } from '../shared/engine/verify';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('VerifyBegin', verifyBeginInputSchema, verifyBegin);
export const handler = lambdaHandler(task);

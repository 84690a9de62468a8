/** `VerifyReport`: the verify run's final report (checks the fix-up covers `C'`). */
import { verifyReportInputSchema } from '../shared/engine/verify/schemas';
import { verifyReport } from '../shared/engine/verify';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('VerifyReport', verifyReportInputSchema, verifyReport);
export const handler = lambdaHandler(task);

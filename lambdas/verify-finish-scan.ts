/** `VerifyFinishScan`: at `T1`: `C' = C − SD`, the suspect walk, and whether a fix-up is needed. */
import { verifyFinishScanInputSchema } from '../shared/engine/verify/schemas';
import { verifyFinishScan } from '../shared/engine/verify';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('VerifyFinishScan', verifyFinishScanInputSchema, verifyFinishScan);
export const handler = lambdaHandler(task);

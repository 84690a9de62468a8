/** `RestoreReport`: the restore's summary: new volume, blocks written against the plan. */
import { restoreReportInputSchema } from '../shared/engine/restore/schemas';
import { restoreReport } from '../shared/engine/restore';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('RestoreReport', restoreReportInputSchema, restoreReport);
export const handler = lambdaHandler(task);

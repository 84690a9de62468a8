/** `JobFailed`: every Catch: records the failure where `status` shows it and releases the lease if held. */
import { jobFailedInputSchema } from '../shared/engine/tasks/schemas';
import { jobFailed } from '../shared/engine/tasks';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('JobFailed', jobFailedInputSchema, jobFailed);
export const handler = lambdaHandler(task);

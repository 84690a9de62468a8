/** `ScrubFinish`: under the volume lease, records what the segments found as bad versions and the scrub's job record. */
import { scrubFinish, scrubFinishInputSchema } from '../shared/engine/scrub';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('ScrubFinish', scrubFinishInputSchema, scrubFinish);
export const handler = lambdaHandler(task);

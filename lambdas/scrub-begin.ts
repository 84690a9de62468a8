/** `ScrubBegin`: which restore points (all retained, or those committed since the last scrub) and segments the scrub reads. */
import { scrubBegin, scrubBeginInputSchema } from '../shared/engine/scrub';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('ScrubBegin', scrubBeginInputSchema, scrubBegin);
export const handler = lambdaHandler(task);

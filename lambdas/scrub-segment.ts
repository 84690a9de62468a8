/** `ScrubSegment`: one Map item: reads back the stored versions one restore point wrote in one segment against their manifest digests. */
import { scrubSegment, scrubSegmentInputSchema } from '../shared/engine/scrub';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('ScrubSegment', scrubSegmentInputSchema, scrubSegment);
export const handler = lambdaHandler(task);

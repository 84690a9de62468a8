/** `VerifyScanSegment`: one Map item: compares both sides' blocks of a segment, writes its compare shard. */
import { verifyScanSegmentInputSchema } from '../shared/engine/verify/schemas';
import { verifyScanSegment } from '../shared/engine/verify';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('VerifyScanSegment', verifyScanSegmentInputSchema, verifyScanSegment);
export const handler = lambdaHandler(task);

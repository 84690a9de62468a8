/**
 * Inputs of the Scrub job's tasks, validated with zod at the Lambda's edge. Small JSON only:
 * ids, seqs, segments and counts; the bad blocks a segment finds live in the chain store as the
 * run's maps (`bad-<seq>`), never in the state.
 */
import { z } from 'zod';
import { MAX_VOLUME_BLOCKS, segmentCount } from '../../core/constants';

const ID = z.string().regex(/^[A-Za-z0-9._:@/+=-]{1,256}$/, 'an id of letters, digits and ._:@/+=- (no #)');
const SEGMENT = z.number().int().nonnegative().lt(segmentCount(MAX_VOLUME_BLOCKS));
const SEQ = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * What a scrub reads: `all` every retained restore point's stored versions (the full scrub), `new`
 * only those of the points committed since the last scrub (the read-back of new entries).
 */
export const scrubScopeSchema = z.enum(['all', 'new']);
export type ScrubScope = z.infer<typeof scrubScopeSchema>;

const scrubTaskBase = z.object({ volumeId: ID, runId: ID });

/** `ScrubBegin`. */
export const scrubBeginInputSchema = scrubTaskBase.extend({ scope: scrubScopeSchema.default('all') }).strict();
export type ScrubBeginInput = z.output<typeof scrubBeginInputSchema>;

/** `ScrubSegment`: one Map item, the stored versions restore point `seq` wrote in `segment`. */
export const scrubSegmentInputSchema = scrubTaskBase.extend({ seq: SEQ, segment: SEGMENT }).strict();
export type ScrubSegmentInput = z.output<typeof scrubSegmentInputSchema>;

/** `ScrubFinish`: the points read, and the head seq the scrub covered up to. */
export const scrubFinishInputSchema = scrubTaskBase.extend({
  scope: scrubScopeSchema,
  throughSeq: SEQ,
  seqs: z.array(SEQ),
}).strict();
export type ScrubFinishInput = z.output<typeof scrubFinishInputSchema>;

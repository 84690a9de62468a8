/**
 * Inputs of the Verify job's tasks (claims 1–11), validated with zod at the Lambda's edge (the
 * task middleware), so a hand-written Step Functions input cannot slip past the checks; each
 * step takes the parsed input (`z.output`), defaults applied.
 *
 * Every input and output is small JSON: ids, seqs, segment numbers and counts, never block data
 * nor delta maps. `D0`, the quick scope, each segment's scope and `C` / `C'` live in the chain
 * store, per segment, keyed by the run (see `maps.ts`).
 */
import { z } from 'zod';
import { MAX_VOLUME_BLOCKS, segmentCount } from '../../core/constants';

/** Ids become key parts of the chain store and tags: the same alphabet the store accepts. */
const ID = z.string().regex(/^[A-Za-z0-9._:@/+=-]{1,256}$/, 'an id of letters, digits and ._:@/+=- (no #)');

/** A segment of the largest volume EBS allows. */
const SEGMENT = z.number().int().nonnegative().lt(segmentCount(MAX_VOLUME_BLOCKS));

/** A restore-point number. */
const SEQ = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** What every verify task carries: the protected (primary) volume and the execution name. */
const verifyTaskBase = z.object({
  volumeId: ID,
  runId: ID,
});

/** `VerifyBegin`: `quick` limits the scan to the dirty regions (claims 5–6, 17–18). */
export const verifyBeginInputSchema = verifyTaskBase.extend({ quick: z.boolean().default(false) }).strict();
export type VerifyBeginInput = z.output<typeof verifyBeginInputSchema>;

/** `VerifyPlan`: runs after `P0` completed (the SnapshotStatus wait loop). */
export const verifyPlanInputSchema = verifyTaskBase.passthrough();
export type VerifyPlanInput = z.output<typeof verifyPlanInputSchema>;

/** `VerifyScanSegment`: one Map item. */
export const verifyScanSegmentInputSchema = verifyTaskBase.extend({ segment: SEGMENT }).passthrough();
export type VerifyScanSegmentInput = z.output<typeof verifyScanSegmentInputSchema>;

/** `VerifyFinishScan`: after every Map item wrote its compare shard. */
export const verifyFinishScanInputSchema = verifyTaskBase.passthrough();
export type VerifyFinishScanInput = z.output<typeof verifyFinishScanInputSchema>;

/**
 * `VerifyReport`: the last task. `fixupSeq` is the seq `SyncCommit` gave the fix-up entry; when
 * absent the report looks for the fix-up entry committed after `T1` itself.
 */
export const verifyReportInputSchema = verifyTaskBase.extend({ fixupSeq: SEQ.optional() }).passthrough();
export type VerifyReportInput = z.output<typeof verifyReportInputSchema>;

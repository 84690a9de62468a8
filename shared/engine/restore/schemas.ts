/**
 * Inputs of the Restore job's tasks (claim 12), validated with zod at the Lambda's edge (the task
 * middleware), so a hand-written Step Functions input cannot slip past the checks; each step
 * takes the parsed input. `RestoreBegin` parses its request again (see there).
 *
 * Every input is small JSON: ids, seqs and counts, never block data nor delta maps (the restore
 * plan `R` lives in the chain store, per segment, keyed by the run).
 */
import { z } from 'zod';

/** Ids become key parts of the chain store and tags: the same alphabet the store accepts. */
const ID = z.string().regex(/^[A-Za-z0-9._:@/+=-]{1,256}$/, 'an id of letters, digits and ._:@/+=- (no #)');

/** A seq is a restore-point number: a non-negative safe integer. */
const SEQ = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Counts of blocks and segments. */
const COUNT = z.number().int().nonnegative();

/** What every restore task carries: the protected (primary) volume and the execution name. */
const restoreTaskBase = z.object({
  volumeId: ID,
  runId: ID,
});

/**
 * `RestoreBegin`: which restore point, and what to do with the new volume.
 *
 * Exactly one of `seq` / `pointInTime`. `instanceId` only with `inPlace` (the primary's own
 * attachment is used when absent). `availabilityZone` overrides the primary's zone; it is needed
 * when the primary volume is gone, since there is then no zone to copy.
 */
export const restoreBeginInputSchema = restoreTaskBase
  .extend({
    seq: SEQ.optional(),
    pointInTime: z.string().min(1).optional(),
    allowSuspect: z.boolean().optional(),
    inPlace: z.boolean().optional(),
    instanceId: ID.optional(),
    availabilityZone: z.string().min(1).optional(),
  })
  .strict()
  .refine((input) => (input.seq === undefined) !== (input.pointInTime === undefined), {
    message: 'give exactly one of seq (a restore point number) or pointInTime (an ISO 8601 time with a zone)',
    path: ['seq'],
  })
  .refine((input) => input.instanceId === undefined || input.inPlace === true, {
    message: 'instanceId only makes sense with inPlace: true (the restored volume is swapped onto that instance)',
    path: ['instanceId'],
  });
export type RestoreBeginInput = z.infer<typeof restoreBeginInputSchema>;

/** The trust mark of a restore point as reports show it. */
export const trustSchema = z.enum(['trusted', 'suspect']);

/** The chosen restore point, as every later task carries it. */
export const restorePointSchema = z.object({
  seq: SEQ,
  pointInTime: z.string(),
  trust: trustSchema,
  /** The request allowed a suspect point (`--allow-suspect`): the re-check before the hand-over lets it pass. */
  allowSuspect: z.boolean().optional(),
  /** `S_k`: the secondary snapshot holding the point's full image. */
  secondarySnapshotId: ID,
  /** GiB at point `k`. */
  volumeSize: z.number().int().positive(),
});
export type RestorePointRef = z.infer<typeof restorePointSchema>;

/** What the restored volume copies from the primary (or defaults when the primary is gone). */
export const volumeLikeSchema = z.object({
  availabilityZone: z.string().min(1),
  volumeType: z.string().min(1),
  iops: z.number().int().positive().optional(),
  throughput: z.number().int().positive().optional(),
  encrypted: z.boolean(),
  kmsKeyId: z.string().optional(),
  /** GiB of the primary now (0 when it is gone: the restore point's size then applies). */
  size: COUNT,
});
export type VolumeLike = z.infer<typeof volumeLikeSchema>;

/** Where the restored volume goes when swapped in place. */
export const swapTargetSchema = z.object({
  instanceId: ID,
  device: z.string().min(1),
});

/**
 * The decision `RestoreBegin` hands on: a delta restore from `P_now`, or a full restore from `S_k`
 * when the primary lineage is gone.
 */
export const restoreDecisionSchema = restoreTaskBase.extend({
  mode: z.enum(['delta', 'full']),
  restorePoint: restorePointSchema,
  /** Suspect points newer than the chosen one that a selection by time passed over. */
  skippedSuspect: z.array(SEQ),
  like: volumeLikeSchema,
  inPlace: z.boolean(),
  /** Set when `inPlace`: the instance and device the primary is attached at. */
  swapTarget: swapTargetSchema.optional(),
  /** Delta restore: `P_now`, the primary snapshot taken for this run (wait for it to complete). */
  primarySnapshotId: ID.optional(),
  /** Delta restore: `P_head`, the base of the present delta map. */
  basePrimarySnapshotId: ID.optional(),
  /** Delta restore: the head restore point when `P_now` was taken. */
  headSeq: SEQ.optional(),
  /** Delta restore: the fencing token of the lease held from here until the plan is persisted. */
  fencingToken: z.number().int().nonnegative().optional(),
  /** Why a full restore was chosen (shown in the report). */
  fullRestoreReason: z.string().optional(),
});
export type RestoreDecision = z.infer<typeof restoreDecisionSchema>;

/** `RestorePlan` takes what `RestoreBegin` decided (after `P_now` completed). */
export const restorePlanInputSchema = restoreDecisionSchema;
export type RestorePlanInput = z.infer<typeof restorePlanInputSchema>;

/**
 * One `CopySegment` Map item of a delta restore (`targetSide: 'primary'`): `R`'s blocks of
 * `segment`, from `S_k` into the target.
 */
export const restoreCopySegmentInputSchema = restoreTaskBase.extend({
  segment: COUNT,
  sourceSnapshotId: ID,
  targetSnapshotId: ID,
  targetSide: z.literal('primary').optional(),
});
export type RestoreCopySegmentInput = z.infer<typeof restoreCopySegmentInputSchema>;

/**
 * `CompleteSnapshot` of the restore's target: the shared task's input (`side: 'primary'`), where
 * `expectedBlocks` is `|R|` from `RestorePlan`.
 */
export const restoreCompleteTargetInputSchema = restoreTaskBase.extend({
  snapshotId: ID,
  expectedBlocks: COUNT.optional(),
  side: z.literal('primary').optional(),
});
export type RestoreCompleteTargetInput = z.infer<typeof restoreCompleteTargetInputSchema>;

/**
 * `RestoreCreateVolume`: creates the volume from `snapshotId` (the target of a delta restore, or
 * `S_k`). Called again with `newVolumeId` from an `IN_PROGRESS` answer, it only looks.
 */
export const restoreCreateVolumeInputSchema = restoreTaskBase.extend({
  mode: z.enum(['delta', 'full']),
  snapshotId: ID,
  restorePoint: restorePointSchema,
  like: volumeLikeSchema,
  newVolumeId: ID.optional(),
});
export type RestoreCreateVolumeInput = z.infer<typeof restoreCreateVolumeInputSchema>;

/** `RestoreSwap`: puts the restored volume where the primary is attached. */
export const restoreSwapInputSchema = restoreTaskBase.extend({
  newVolumeId: ID,
  inPlace: z.boolean(),
  swapTarget: swapTargetSchema.optional(),
});
export type RestoreSwapInput = z.infer<typeof restoreSwapInputSchema>;

/** One Map item's answer from `CopySegment`. */
export const copiedSegmentSchema = z.object({
  segment: COUNT,
  blocksWritten: COUNT,
});

/** Why a restore was refused, as `RestoreReport` shows it (from the Catch of `RestoreBegin`). */
export const refusalSchema = z.object({
  error: z.string().min(1),
  message: z.string(),
});
export type Refusal = z.infer<typeof refusalSchema>;

/**
 * `RestoreReport`: the summary of the run. Either the restore happened (`newVolumeId`,
 * `restorePoint`, counts), or it was refused and only `refused` is set.
 */
export const restoreReportInputSchema = restoreTaskBase
  .extend({
    mode: z.enum(['delta', 'full']).optional(),
    restorePoint: restorePointSchema.optional(),
    newVolumeId: ID.optional(),
    /** The snapshot the new volume was created from (to count its allocated blocks). */
    snapshotId: ID.optional(),
    /** `|R|` from `RestorePlan` (0 for a full restore). */
    planBlocks: COUNT.optional(),
    /** The Map's answers. */
    copied: z.array(copiedSegmentSchema).optional(),
    swapped: z.boolean().optional(),
    refused: refusalSchema.optional(),
  })
  .refine((input) => input.refused !== undefined || (input.newVolumeId !== undefined && input.restorePoint !== undefined), {
    message: 'a report needs either refused, or newVolumeId and restorePoint',
    path: ['newVolumeId'],
  });
export type RestoreReportInput = z.infer<typeof restoreReportInputSchema>;

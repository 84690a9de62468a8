/**
 * Zod schemas of the Sync, Prune and shared task inputs: the lambdas validate every event with
 * them before calling the engine step, and the step's input type is inferred from them so the two
 * never drift. Inputs are small JSON (Step Functions' 256 KB payload): ids, seqs, counts — never
 * block data or delta maps. Verify's and Restore's schemas live in their own modules.
 */
import { z } from 'zod';

/** EC2 volume ids (`vol-` + hex); the emulator's follow the same shape. */
const volumeId = z.string().regex(/^vol-[0-9a-z]+$/i, 'a volume id like vol-0123456789abcdef0');

/**
 * A run id is the Step Functions execution name (1–80 of letters, digits, `-` and `_`), or a
 * verify run's id for its fix-up; it becomes a DynamoDB key part, so no `#`.
 */
const runId = z.string().regex(/^[A-Za-z0-9._:@/+=-]{1,256}$/, 'a run id without # (the execution name)');

const snapshotId = z.string().regex(/^snap-[0-9a-z]+$/i, 'a snapshot id like snap-0123456789abcdef0');

const fencingToken = z.number().int().positive();

const seq = z.number().int().nonnegative();

/** ISO 8601 with a zone, as `toInstant` accepts it. */
const isoInstant = z.iso.datetime({ offset: true });

/** Every task's identity. */
const runKeys = { volumeId, runId };

export const syncBeginInputSchema = z.object({
  ...runKeys,
  /** Who holds the lease (the execution ARN); the run id when absent. */
  holder: z.string().min(1).optional(),
  /**
   * `skip`: a live lease of another run is an answer (`action: 'busy'` with its holder), not a
   * `VolumeBusyError` (the Sync machine ends as skipped); `fail` (default): it throws.
   */
  onBusy: z.enum(['skip', 'fail']).optional(),
});
export type SyncBeginInput = z.infer<typeof syncBeginInputSchema>;

export const snapshotStatusInputSchema = z.object({
  ...runKeys,
  snapshotId,
  side: z.enum(['primary', 'secondary']),
});
export type SnapshotStatusInput = z.infer<typeof snapshotStatusInputSchema>;

export const syncPlanInputSchema = z.object({
  ...runKeys,
  fencingToken,
  primarySnapshotId: snapshotId,
  /** When `P_now` was taken (SyncBegin's output). */
  pointInTime: isoInstant,
  /** A verify run whose revised compare map `C'` is copied too: the plan of its fix-up. */
  extraFromRun: runId.optional(),
});
export type SyncPlanInput = z.infer<typeof syncPlanInputSchema>;

export const copySegmentInputSchema = z.object({
  ...runKeys,
  fencingToken,
  seq,
  segment: z.number().int().nonnegative(),
  sourceSnapshotId: snapshotId,
  targetSnapshotId: snapshotId,
});
export type CopySegmentInput = z.infer<typeof copySegmentInputSchema>;

export const completeSnapshotInputSchema = z.object({
  ...runKeys,
  snapshotId,
  /** The plan's block count: the persisted digests must add up to it. */
  expectedBlocks: z.number().int().nonnegative().optional(),
});
export type CompleteSnapshotInput = z.infer<typeof completeSnapshotInputSchema>;

export const syncCommitInputSchema = z.object({
  ...runKeys,
  fencingToken,
  seq,
});
export type SyncCommitInput = z.infer<typeof syncCommitInputSchema>;

export const jobFailedInputSchema = z.object({
  ...runKeys,
  job: z.enum(['sync', 'verify', 'restore', 'prune']),
  /** Absent when the job failed before it held the lease. */
  fencingToken: fencingToken.optional(),
  /** What a Catch puts in `ResultPath`: the error's name and its cause (message or JSON). */
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }),
});
export type JobFailedInput = z.infer<typeof jobFailedInputSchema>;

export const pruneInputSchema = z.object({
  ...runKeys,
  holder: z.string().min(1).optional(),
  /** Prune exactly these restore points instead of applying the volume's retention policy. */
  seqs: z.array(seq).optional(),
});
export type PruneInput = z.infer<typeof pruneInputSchema>;

/** The retention policy as a volume's protection config stores it under `retention`. */
export const retentionConfigSchema = z.object({
  keepLast: z.number().int().positive().optional(),
  keepWithinMs: z.number().nonnegative().optional(),
}).refine((policy) => policy.keepLast !== undefined || policy.keepWithinMs !== undefined, 'keepLast, keepWithinMs, or both');

/** The part of a volume's protection config the sync reads. */
export const syncProtectionConfigSchema = z.object({
  /** KMS key of the secondary lineage (overrides the engine's default key). */
  secondaryKmsKeyId: z.string().min(1).optional(),
  /** Encrypt the secondary lineage with the account's default EBS key when no key id is given. */
  encrypted: z.boolean().optional(),
  retention: retentionConfigSchema.optional(),
});

/**
 * Zod schemas of the tasks every job shares (SnapshotStatus, the sync's CopySegment and
 * CompleteSnapshot, JobFailed) and of the ids every Sync and Prune input carries: the lambdas
 * validate every event with them before calling the engine step, and the step's input type is
 * inferred from them so the two never drift. Inputs are small JSON (Step Functions' 256 KB
 * payload): ids, seqs, counts — never block data or delta maps. Verify's and Restore's schemas
 * live in their own folders.
 */
import { z } from 'zod';

/** EC2 volume ids (`vol-` + hex); the emulator's follow the same shape. */
export const volumeIdSchema = z.string().regex(/^vol-[0-9a-z]+$/i, 'a volume id like vol-0123456789abcdef0');

/**
 * A run id is the Step Functions execution name (1–80 of letters, digits, `-` and `_`), or a
 * verify run's id for its fix-up; it becomes a DynamoDB key part, so no `#`.
 */
export const runIdSchema = z.string().regex(/^[A-Za-z0-9._:@/+=-]{1,256}$/, 'a run id without # (the execution name)');

export const snapshotIdSchema = z.string().regex(/^snap-[0-9a-z]+$/i, 'a snapshot id like snap-0123456789abcdef0');

export const fencingTokenSchema = z.number().int().positive();

export const seqSchema = z.number().int().nonnegative();

/** ISO 8601 with a zone, as `toInstant` accepts it. */
export const isoInstantSchema = z.iso.datetime({ offset: true });

/** Every task's identity. */
export const runKeys = { volumeId: volumeIdSchema, runId: runIdSchema };

export const snapshotStatusInputSchema = z.object({
  ...runKeys,
  snapshotId: snapshotIdSchema,
  side: z.enum(['primary', 'secondary']),
  /** The job's lease while it waits (sync, fix-up, delta restore): each poll renews it. */
  fencingToken: fencingTokenSchema.optional(),
});
export type SnapshotStatusInput = z.infer<typeof snapshotStatusInputSchema>;

export const copySegmentInputSchema = z.object({
  ...runKeys,
  fencingToken: fencingTokenSchema,
  seq: seqSchema,
  segment: z.number().int().nonnegative(),
  sourceSnapshotId: snapshotIdSchema,
  targetSnapshotId: snapshotIdSchema,
});
export type CopySegmentInput = z.infer<typeof copySegmentInputSchema>;

export const completeSnapshotInputSchema = z.object({
  ...runKeys,
  snapshotId: snapshotIdSchema,
  /** The plan's block count: the persisted digests must add up to it. */
  expectedBlocks: z.number().int().nonnegative().optional(),
  /** The sync's lease: renewed first. */
  fencingToken: fencingTokenSchema.optional(),
});
export type CompleteSnapshotInput = z.infer<typeof completeSnapshotInputSchema>;

export const jobFailedInputSchema = z.object({
  ...runKeys,
  job: z.enum(['sync', 'verify', 'restore', 'prune', 'scrub']),
  /** Absent when the job failed before it held the lease. */
  fencingToken: fencingTokenSchema.optional(),
  /** What a Catch puts in `ResultPath`: the error's name and its cause (message or JSON). */
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }),
});
export type JobFailedInput = z.infer<typeof jobFailedInputSchema>;

/**
 * Zod schemas of the Sync job's own task inputs and of the part of a volume's protection config
 * the sync and the prune read. The shared tasks' schemas and the ids are in `tasks/schemas.ts`.
 */
import { z } from 'zod';
import { RetentionError } from '../../core/errors';
import { parseTierDuration, TIER_DURATION_EXPECTED, TIER_NAMES, type TierName } from '../../core/retention-tiers';
import { fencingTokenSchema, isoInstantSchema, runIdSchema, runKeys, seqSchema, snapshotIdSchema } from '../tasks/schemas';

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

export const syncPlanInputSchema = z.object({
  ...runKeys,
  fencingToken: fencingTokenSchema,
  primarySnapshotId: snapshotIdSchema,
  /** When `P_now` was taken (SyncBegin's output). */
  pointInTime: isoInstantSchema,
  /** A verify run whose revised compare map `C'` is copied too: the plan of its fix-up. */
  extraFromRun: runIdSchema.optional(),
});
export type SyncPlanInput = z.infer<typeof syncPlanInputSchema>;

export const syncCommitInputSchema = z.object({
  ...runKeys,
  fencingToken: fencingTokenSchema,
  seq: seqSchema,
});
export type SyncCommitInput = z.infer<typeof syncCommitInputSchema>;

/** A tier's duration (`'6h'`, `'3d'`, `'12w'`, `'12m'`, `'1y'`); the message names the bad value (the path names the tier). */
const tierDurationSchema = z.string().superRefine((value, context) => {
  try {
    parseTierDuration(value);
  } catch (error) {
    if (!(error instanceof RetentionError)) throw error;
    context.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a duration: ${TIER_DURATION_EXPECTED}` });
  }
});

/** Tiered retention (`shared/core/retention-tiers.ts`): tier → duration, at least one tier. */
export const tierPolicySchema = z.strictObject(
  Object.fromEntries(TIER_NAMES.map((tier) => [tier, tierDurationSchema.optional()])) as Record<TierName, z.ZodOptional<typeof tierDurationSchema>>,
).refine((tiers) => TIER_NAMES.some((tier) => tiers[tier] !== undefined), `give at least one tier: ${TIER_NAMES.join(', ')}`);

/**
 * The retention policy as a volume's protection config stores it under `retention`. A point is
 * kept when any rule keeps it (`keepLast`, `keepWithinMs`, any tier).
 */
export const retentionConfigSchema = z.object({
  keepLast: z.number().int().positive().optional(),
  keepWithinMs: z.number().nonnegative().optional(),
  tiers: tierPolicySchema.optional(),
}).refine((policy) => policy.keepLast !== undefined || policy.keepWithinMs !== undefined || policy.tiers !== undefined, 'keepLast, keepWithinMs, or both (or tiers)');

/** The part of a volume's protection config the sync reads. */
export const syncProtectionConfigSchema = z.object({
  /** KMS key of the secondary lineage (overrides the engine's default key). */
  secondaryKmsKeyId: z.string().min(1).optional(),
  /** Encrypt the secondary lineage with the account's default EBS key when no key id is given. */
  encrypted: z.boolean().optional(),
  retention: retentionConfigSchema.optional(),
});

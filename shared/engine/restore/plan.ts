/**
 * `RestorePlan` (claim 12): `R = D_{k+1} ∪ … ∪ D_head ∪ changes(P_head → P_now)`, persisted per
 * segment, and the target snapshot started with parent `P_now`.
 */
import type { DeltaMap } from '../../core/delta-map';
import { RestorePointNotFoundError } from '../../core/errors';
import { SnapshotNotFoundError, UnrelatedSnapshotsError } from '../../core/ports/errors';
import { restorePlan } from '../../core/restore-plan';
import { RestoreChainMovedError, RestoreRequestError } from '../errors';
import { LeaseHeartbeat } from '../tasks/lease';
import { presentDeltaMap } from '../tasks/present-delta-map';
import { PURPOSE_TARGET, readCommittedChain, RESTORE_PLAN_MAP, restoreTags, type RestoreContext } from './context';
import type { RestorePlanInput, RestorePointRef } from './schemas';

export interface RestorePlanOutput {
  /** `full` also when the primary lineage turned out unrelated at plan time. */
  readonly mode: 'delta' | 'full';
  /** The snapshot the volume is created from: the target (delta) or `S_k` (full). */
  readonly targetSnapshotId: string;
  /** `S_k`: the source every Map item reads. */
  readonly sourceSnapshotId: string;
  /** Segments of `R` (the Map's items), ascending; empty for a full restore. */
  readonly segments: number[];
  /** `|R|` (0 for a full restore). */
  readonly blocks: number;
  /** Target volume size in GiB. */
  readonly volumeSize: number;
  /** Why a full restore (absent for a delta restore). */
  readonly fullRestoreReason?: string;
}

/**
 * Computes the restore plan `R` (delta) from the chain and the present delta map, persists it per
 * segment for the Map's `CopySegment` items, and starts the target snapshot with parent `P_now`
 * and a ClientToken derived from the run (a rerun gets the same snapshot). Releases the lease.
 * A full restore plans nothing: the volume comes from `S_k`.
 *
 * @throws RestoreChainMovedError when the lease was lost and the head moved since `RestoreBegin`
 * @throws RestorePointNotFoundError when `S_k` was deleted meanwhile
 */
export async function restorePlanStep(ctx: RestoreContext, input: RestorePlanInput): Promise<RestorePlanOutput> {
  const { volumeId, runId, restorePoint } = input;
  if (input.mode === 'full') return fullPlan(restorePoint, input.fullRestoreReason);
  const { primarySnapshotId, basePrimarySnapshotId, headSeq } = input;
  if (primarySnapshotId === undefined || basePrimarySnapshotId === undefined || headSeq === undefined) {
    throw new RestoreRequestError('a delta restore plan needs primarySnapshotId, basePrimarySnapshotId and headSeq from RestoreBegin', { volumeId });
  }

  // Re-acquiring with the same runId keeps our token while the lease is still ours; if it was
  // released or lost in between, the head check below tells whether the plan still holds.
  const fence = await ctx.store.acquireLease(volumeId, { holder: runId, runId, ttlMs: ctx.tuning.leaseTtlMs, now: ctx.clock.now() });
  try {
    const current = await ctx.store.getVolume(volumeId);
    if (current.headSeq !== headSeq || current.basePrimarySnapshotId !== basePrimarySnapshotId) {
      throw new RestoreChainMovedError(
        `volume ${volumeId}: the head moved from restore point ${headSeq} to ${String(current.headSeq)} since this restore began ` +
          '(its lease expired and a sync committed); nothing was written: start the restore again',
        { volumeId, seq: restorePoint.seq },
      );
    }
    await checkSourceExists(ctx, volumeId, restorePoint);
    const chain = await readCommittedChain(ctx.store, volumeId, headSeq);
    // Sized to the primary as RestoreBegin described it: the target is created at that size.
    let present: DeltaMap;
    try {
      present = (await presentDeltaMap(ctx.primary.reader, basePrimarySnapshotId, primarySnapshotId, {
        volumeSize: input.like.size, heartbeat: new LeaseHeartbeat(ctx, volumeId, fence),
      })).deltaMap;
    } catch (error) {
      if (!(error instanceof UnrelatedSnapshotsError)) throw error;
      return fullPlan(restorePoint, `the primary snapshot ${primarySnapshotId} is not of the lineage of ${basePrimarySnapshotId}`);
    }
    const plan = restorePlan(chain, restorePoint.seq, { snapshotId: primarySnapshotId, volumeSize: input.like.size, presentDeltaMap: present });
    if (plan.mode !== 'delta') throw new RestoreRequestError('a plan with a current primary is always a delta plan', { volumeId });
    // R before the target: a Map item that finds the target also finds its blocks.
    for (const segment of plan.blocks.segmentIndexes()) {
      await ctx.store.putRunMap(volumeId, runId, RESTORE_PLAN_MAP, segment, plan.blocks.segment(segment));
    }
    const target = await ctx.primary.writer.startSnapshot({
      job: { volumeId, seq: restorePoint.seq, purpose: `${PURPOSE_TARGET}:${runId}` },
      volumeSize: plan.volumeSize,
      parentSnapshotId: primarySnapshotId,
      tags: restoreTags(runId, restorePoint.seq, volumeId, PURPOSE_TARGET),
      description: `ebs-cdp restore ${runId}: restore point ${restorePoint.seq} of ${volumeId}`,
    });
    return {
      mode: 'delta',
      targetSnapshotId: target.snapshotId,
      sourceSnapshotId: plan.sourceSnapshotId,
      segments: plan.blocks.segmentIndexes(),
      blocks: plan.blocks.size,
      volumeSize: plan.volumeSize,
    };
  } finally {
    // Released on success and on failure alike: a restore never needs the lease after planning.
    await ctx.store.releaseLease(volumeId, { fencingToken: fence.fencingToken });
  }
}

function fullPlan(restorePoint: RestorePointRef, reason: string | undefined): RestorePlanOutput {
  return {
    mode: 'full',
    targetSnapshotId: restorePoint.secondarySnapshotId,
    sourceSnapshotId: restorePoint.secondarySnapshotId,
    segments: [],
    blocks: 0,
    volumeSize: restorePoint.volumeSize,
    fullRestoreReason: reason,
  };
}

async function checkSourceExists(ctx: RestoreContext, volumeId: string, restorePoint: RestorePointRef): Promise<void> {
  try {
    const status = await ctx.secondary.waiter.status(restorePoint.secondarySnapshotId);
    if (status.state === 'completed') return;
  } catch (error) {
    if (!(error instanceof SnapshotNotFoundError)) throw error;
  }
  throw new RestorePointNotFoundError(
    `restore point ${restorePoint.seq} of ${volumeId} lost its secondary snapshot ${restorePoint.secondarySnapshotId} ` +
      "(pruned since the restore began); pick another point ('ebs-cdp points' lists them)",
    { volumeId, seq: restorePoint.seq, snapshotId: restorePoint.secondarySnapshotId },
  );
}

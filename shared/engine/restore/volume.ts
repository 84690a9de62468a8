/**
 * `RestoreCreateVolume` and `RestoreSwap` (claim 12): the restored volume, and its swap onto the
 * primary's instance when `inPlace`.
 */
import { SuspectRestorePointError } from '../../core/errors';
import { RestoreRequestError } from '../errors';
import { PURPOSE_VOLUME, restoreTags, type RestoreContext } from './context';
import type { RestoreCreateVolumeInput, RestoreSwapInput } from './schemas';

export interface RestoreCreateVolumeOutput {
  readonly status: 'IN_PROGRESS' | 'COMPLETED';
  readonly newVolumeId: string;
  readonly availabilityZone: string;
}

/**
 * Creates the restored volume from `snapshotId` in the primary's Availability Zone, with the
 * primary's type, IOPS, throughput and encryption; a full restore creates it on the secondary
 * side, where `S_k` lives. Called again with `newVolumeId`, it only reports the volume's state.
 *
 * @throws SnapshotNotFoundError when the snapshot is gone (a full restore's `S_k` was pruned)
 */
export async function restoreCreateVolume(ctx: RestoreContext, input: RestoreCreateVolumeInput): Promise<RestoreCreateVolumeOutput> {
  const volumes = input.mode === 'full' ? (ctx.secondary.volumes ?? ctx.primary.volumes) : ctx.primary.volumes;
  const { availabilityZone } = input.like;
  if (input.newVolumeId !== undefined) {
    const existing = await volumes.describeVolume(input.newVolumeId);
    return { status: existing.state === 'creating' ? 'IN_PROGRESS' : 'COMPLETED', newVolumeId: existing.volumeId, availabilityZone };
  }
  await recheckTrust(ctx, input);
  // A full restore recreates the image of point k at its own size; a delta restore's target has
  // the primary's current size (a child snapshot is never smaller than its parent P_now).
  const size = input.mode === 'full' ? input.restorePoint.volumeSize : Math.max(input.like.size, input.restorePoint.volumeSize);
  const created = await volumes.createVolumeFromSnapshot({
    snapshotId: input.snapshotId,
    availabilityZone,
    size,
    like: {
      volumeId: input.volumeId,
      size,
      availabilityZone,
      volumeType: input.like.volumeType,
      iops: input.like.iops,
      throughput: input.like.throughput,
      encrypted: input.like.encrypted,
      kmsKeyId: input.like.kmsKeyId,
      state: 'available',
    },
    tags: restoreTags(input.runId, input.restorePoint.seq, input.volumeId, PURPOSE_VOLUME),
  });
  return { status: created.state === 'creating' ? 'IN_PROGRESS' : 'COMPLETED', newVolumeId: created.volumeId, availabilityZone };
}

/**
 * Trust is re-checked just before a volume is handed over: a check that found a bad version the
 * point holds after RestoreBegin chose it makes the point suspect, and a suspect point needs the
 * override. Nothing was created yet; the restore's own target snapshot is left to its clean-up.
 *
 * @throws SuspectRestorePointError when the point turned suspect and the request did not allow it
 */
async function recheckTrust(ctx: RestoreContext, input: RestoreCreateVolumeInput): Promise<void> {
  if (input.restorePoint.allowSuspect === true) return;
  const entry = await ctx.store.getEntry(input.volumeId, input.restorePoint.seq);
  if (entry.trust !== 'suspect') return;
  throw new SuspectRestorePointError(
    `restore point ${entry.seq} of ${input.volumeId} turned suspect (${entry.suspectBlocks} bad blocks) while it was being restored; ` +
      'no volume was created: restore another point, or this one with --allow-suspect',
    { volumeId: input.volumeId, seq: entry.seq },
  );
}

// ── RestoreSwap ──────────────────────────────────────────────────────────────────────────

export interface RestoreSwapOutput {
  readonly swapped: boolean;
  readonly instanceId?: string;
  readonly device?: string;
  /** The primary volume taken off the instance (left `available`, never deleted). */
  readonly detachedVolumeId?: string;
}

/**
 * When `inPlace`: stops the instance, detaches the primary, attaches the restored volume at the
 * same device and starts the instance again; the adapter rolls back on any failure. Rerun after
 * the swap happened, it finds the restored volume in place and changes nothing.
 *
 * @throws SwapFailedError saying what the rollback did
 */
export async function restoreSwap(ctx: RestoreContext, input: RestoreSwapInput): Promise<RestoreSwapOutput> {
  if (!input.inPlace) return { swapped: false };
  const target = input.swapTarget;
  if (target === undefined) {
    throw new RestoreRequestError(`an in-place restore of ${input.volumeId} needs swapTarget from RestoreBegin`, { volumeId: input.volumeId });
  }
  const restored = await ctx.primary.volumes.describeVolume(input.newVolumeId);
  if (restored.attachment?.instanceId === target.instanceId && restored.attachment.device === target.device) {
    return { swapped: true, instanceId: target.instanceId, device: target.device, detachedVolumeId: input.volumeId };
  }
  const result = await ctx.primary.volumes.swapVolume({
    instanceId: target.instanceId,
    volumeId: input.volumeId,
    replacementVolumeId: input.newVolumeId,
  });
  return { swapped: true, instanceId: result.instanceId, device: result.device, detachedVolumeId: result.detachedVolumeId };
}

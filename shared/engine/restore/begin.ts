/**
 * `RestoreBegin` (claim 12): validates the request, selects restore point `k`, and decides
 * between a delta restore (lease and `P_now`) and a full restore from `S_k`.
 */
import type { ChainEntry } from '../../core/chain-entry';
import type { ChainStore, ProtectedVolume } from '../../core/ports/chain-store';
import { InvalidVolumeError, SnapshotNotFoundError, VolumeNotProtectedError } from '../../core/ports/errors';
import type { VolumeAttributes, Volumes } from '../../core/ports/snapshots';
import { selectRestorePoint, type RestorePointSelector } from '../../core/restore-plan';
import { RestoreRequestError } from '../errors';
import {
  DEFAULT_RESTORE_VOLUME_TYPE, PURPOSE_PRIMARY_NOW, readCommittedChain, restoreTags, type RestoreContext,
} from './context';
import { restoreBeginInputSchema, type RestoreDecision, type RestorePointRef, type VolumeLike } from './schemas';

/** What `RestoreBegin` answers: the decision, plus `P_now` for the Wait/Choice loop. */
export type RestoreBeginOutput = RestoreDecision;

/**
 * Validates the request, selects restore point `k`, and decides between a delta restore (takes
 * the lease and `P_now`, whose completion the state machine then waits for) and a full restore
 * from `S_k` (the primary volume or its base snapshot is gone). Every refusal is raised before
 * anything is changed.
 *
 * @throws VolumeNotProtectedError when the volume has no chain
 * @throws RestorePointNotFoundError unknown seq, pending seq, or nothing trusted at or before the time
 * @throws SuspectRestorePointError when the chosen point is suspect and `allowSuspect` is not set
 * @throws InvalidTimeError when `pointInTime` has no zone
 * @throws RestoreRequestError when `inPlace` has no instance to swap on, or a full restore has no zone
 * @example
 * await restoreBegin(ctx, { volumeId: 'vol-1', runId: 'restore-7', pointInTime: '2026-03-01T12:00:00Z' });
 */
export async function restoreBegin(ctx: RestoreContext, request: unknown): Promise<RestoreBeginOutput> {
  // The one step that parses its own input although the middleware parsed it: drivers hand it a
  // request as they got it (the restore harness, the local cloud), and the request's
  // refinements (exactly one of seq / pointInTime) must refuse it with a ZodError there too.
  const input = restoreBeginInputSchema.parse(request);
  const { volumeId, runId } = input;
  const protectedVolume = await protectedVolumeOf(ctx.store, volumeId);
  const chain = await readCommittedChain(ctx.store, volumeId);
  const selector: RestorePointSelector = input.seq !== undefined ? { seq: input.seq } : { at: input.pointInTime ?? '' };
  const { restorePoint, skippedSuspect } = selectRestorePoint(chain, selector, { allowSuspect: input.allowSuspect === true });

  const primary = await describeIfExists(ctx.primary.volumes, volumeId);
  const fullRestoreReason = await lineageGoneReason(ctx, protectedVolume, primary);
  const like = volumeLike(primary, input.availabilityZone, volumeId);
  const inPlace = input.inPlace === true;
  const swapTarget = inPlace ? swapTargetOf(primary, input.instanceId, volumeId) : undefined;
  const base = {
    volumeId,
    runId,
    restorePoint: restorePointRef(restorePoint, input.allowSuspect === true),
    skippedSuspect: [...skippedSuspect],
    like,
    inPlace,
    swapTarget,
  };
  if (fullRestoreReason !== undefined) return { ...base, mode: 'full', fullRestoreReason };

  // The lease first, then P_now: P_head (the base of the present delta map) cannot be replaced by
  // a committing sync while the lease is ours.
  const { fencingToken } = await ctx.store.acquireLease(volumeId, {
    holder: runId,
    runId,
    ttlMs: ctx.tuning.leaseTtlMs,
    now: ctx.clock.now(),
  });
  const primarySnapshotId = await takePrimaryNow(ctx.primary, runId, restorePoint.seq, volumeId);
  return {
    ...base,
    mode: 'delta',
    primarySnapshotId,
    basePrimarySnapshotId: protectedVolume.basePrimarySnapshotId,
    headSeq: protectedVolume.headSeq,
    fencingToken,
  };
}

/** Takes `P_now`, or finds the one an earlier attempt of this run took (a rerun takes no second one). */
async function takePrimaryNow(primary: RestoreContext['primary'], runId: string, seq: number, volumeId: string): Promise<string> {
  const tags = restoreTags(runId, seq, volumeId, PURPOSE_PRIMARY_NOW);
  const taken = (await primary.lookup.findOwned(tags)).find((snapshot) => snapshot.state !== 'error');
  if (taken !== undefined) return taken.snapshotId;
  return primary.snapshots.takeSnapshot(volumeId, {
    tags,
    description: `ebs-cdp restore ${runId}: P_now of ${volumeId}, parent of the restore of point ${seq}`,
  });
}

async function protectedVolumeOf(store: ChainStore, volumeId: string): Promise<ProtectedVolume> {
  try {
    return await store.getVolume(volumeId);
  } catch (error) {
    if (error instanceof VolumeNotProtectedError) {
      throw new VolumeNotProtectedError(
        `volume ${volumeId} is not protected by ebs-cdp, so it has no restore points: check the volume id and Region ('ebs-cdp points' lists protected volumes)`,
        { volumeId, cause: error },
      );
    }
    throw error;
  }
}

async function describeIfExists(volumes: Volumes, volumeId: string): Promise<VolumeAttributes | undefined> {
  try {
    return await volumes.describeVolume(volumeId);
  } catch (error) {
    if (error instanceof InvalidVolumeError) return undefined;
    throw error;
  }
}

/** Why the primary lineage cannot serve a delta restore, or undefined when it can. */
async function lineageGoneReason(
  ctx: RestoreContext,
  protectedVolume: ProtectedVolume,
  primary: VolumeAttributes | undefined,
): Promise<string | undefined> {
  if (primary === undefined) return `the primary volume ${protectedVolume.volumeId} no longer exists`;
  const base = protectedVolume.basePrimarySnapshotId;
  if (base === undefined) return 'the chain records no base primary snapshot';
  try {
    const status = await ctx.primary.waiter.status(base);
    return status.state === 'completed' ? undefined : `the base primary snapshot ${base} is ${status.state}`;
  } catch (error) {
    if (error instanceof SnapshotNotFoundError) return `the base primary snapshot ${base} was deleted`;
    throw error;
  }
}

function volumeLike(primary: VolumeAttributes | undefined, availabilityZone: string | undefined, volumeId: string): VolumeLike {
  if (primary !== undefined) {
    return {
      availabilityZone: availabilityZone ?? primary.availabilityZone,
      volumeType: primary.volumeType,
      iops: primary.iops,
      throughput: primary.throughput,
      encrypted: primary.encrypted,
      kmsKeyId: primary.kmsKeyId,
      size: primary.size,
    };
  }
  if (availabilityZone === undefined) {
    throw new RestoreRequestError(
      `the primary volume ${volumeId} no longer exists, so there is no Availability Zone to restore into: pass availabilityZone (e.g. us-east-1a)`,
      { volumeId },
    );
  }
  // The snapshot's own encryption carries over to the volume whatever is asked here.
  return { availabilityZone, volumeType: DEFAULT_RESTORE_VOLUME_TYPE, encrypted: false, size: 0 };
}

function swapTargetOf(
  primary: VolumeAttributes | undefined,
  instanceId: string | undefined,
  volumeId: string,
): { instanceId: string; device: string } {
  const attachment = primary?.attachment;
  if (attachment === undefined) {
    throw new RestoreRequestError(
      `cannot swap in place: the primary volume ${volumeId} is ${primary === undefined ? 'gone' : 'not attached to an instance'}; ` +
        'restore without inPlace and attach the new volume yourself',
      { volumeId },
    );
  }
  if (instanceId !== undefined && instanceId !== attachment.instanceId) {
    throw new RestoreRequestError(
      `cannot swap in place onto ${instanceId}: the primary volume ${volumeId} is attached to ${attachment.instanceId}; ` +
        'omit instanceId or name that instance',
      { volumeId },
    );
  }
  return { instanceId: attachment.instanceId, device: attachment.device };
}

function restorePointRef(entry: ChainEntry, allowSuspect: boolean): RestorePointRef {
  return {
    seq: entry.seq,
    pointInTime: entry.pointInTime,
    trust: entry.trust,
    ...(allowSuspect ? { allowSuspect } : {}),
    secondarySnapshotId: entry.secondarySnapshotId,
    volumeSize: entry.volumeSize,
  };
}

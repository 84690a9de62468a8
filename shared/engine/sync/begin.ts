/**
 * SyncBegin (ARCHITECTURE.md, "Sync"): takes the volume lease, hands a live DRL of a crashed run
 * to the recovery (`recovery.ts`, claims 5–6), takes `P_now`.
 */
import { VolumeBusyError } from '../../core/ports/errors';
import type { Fence } from '../../core/ports/chain-store';
import type { Tag } from '../../core/ports/snapshots';
import { PURPOSE_TAG, RUN_ID_TAG, SYNC_PRIMARY_PURPOSE, VOLUME_ID_TAG } from '../../core/tags';
import type { EngineContext } from '../context';
import type { RecoveryOutcome, SyncBeginOutput, SyncBusyOutput } from './outputs';
import { recoverInFlight } from './recovery';
import type { SyncBeginInput } from './schemas';

/**
 * Takes the volume lease; recovers a crashed run's entry in flight if its DRL is live; takes
 * `P_now` (a re-run finds the snapshot it already took by its run tag).
 *
 * @throws VolumeBusyError when another run holds a live lease
 * @throws VolumeNotProtectedError
 */
export async function syncBegin(ctx: EngineContext, input: SyncBeginInput): Promise<SyncBeginOutput> {
  const { volumeId, runId } = input;
  const grant = await ctx.store.acquireLease(volumeId, { holder: input.holder ?? runId, runId, ttlMs: ctx.tuning.leaseTtlMs, now: ctx.clock.now() });
  const fence: Fence = { fencingToken: grant.fencingToken };
  const base = { volumeId, runId, fencingToken: grant.fencingToken };
  const drl = await ctx.store.readDirtyRegionLog(volumeId);
  let recovery: RecoveryOutcome | undefined;
  if (drl !== undefined && drl.runId === runId) {
    // This run's own plan is in flight: SyncBegin ran again after SyncPlan; nothing to take.
    return { action: 'sync', ...base, primarySnapshotId: drl.primarySnapshotId, pointInTime: drl.pointInTime };
  }
  if (drl !== undefined) {
    recovery = await recoverInFlight(ctx, volumeId, drl, fence);
    ctx.logger.warn('recovered a crashed sync', { ...recovery });
    if (recovery.outcome === 'resumed') {
      return { action: 'recover', ...base, primarySnapshotId: drl.primarySnapshotId, pointInTime: drl.pointInTime, recovery };
    }
  }
  const taken = await takePrimarySnapshot(ctx, volumeId, runId);
  return { action: 'sync', ...base, ...taken, recovery };
}

/**
 * The SyncBegin task: {@link syncBegin}, except that with `onBusy: 'skip'` a live lease of another
 * run comes back as `action: 'busy'` with the holder's fields, so the state machine reads them
 * from a result instead of parsing an error message (a Lambda error carries only its name and
 * message across to Step Functions).
 */
export async function syncBeginTask(ctx: EngineContext, input: SyncBeginInput): Promise<SyncBeginOutput | SyncBusyOutput> {
  try {
    return await syncBegin(ctx, input);
  } catch (error) {
    if (input.onBusy !== 'skip' || !(error instanceof VolumeBusyError)) throw error;
    ctx.logger.info('volume busy: skipping this sync', { holder: error.holder, holderRunId: error.runId });
    return { action: 'busy', volumeId: input.volumeId, holder: error.holder, holderRunId: error.runId, expiresAt: error.expiresAt };
  }
}

async function takePrimarySnapshot(ctx: EngineContext, volumeId: string, runId: string): Promise<{ primarySnapshotId: string; pointInTime: string }> {
  const tags: Tag[] = [
    { key: VOLUME_ID_TAG, value: volumeId },
    { key: RUN_ID_TAG, value: runId },
    { key: PURPOSE_TAG, value: SYNC_PRIMARY_PURPOSE },
  ];
  const [earlier] = (await ctx.primary.lookup.findOwned(tags)).filter((snapshot) => snapshot.state !== 'error');
  if (earlier !== undefined) return { primarySnapshotId: earlier.snapshotId, pointInTime: earlier.startTime };
  const pointInTime = new Date(ctx.clock.now()).toISOString();
  const primarySnapshotId = await ctx.primary.snapshots.takeSnapshot(volumeId, { tags, description: `ebs-cdp sync ${runId} of ${volumeId}` });
  ctx.logger.info('primary snapshot taken', { snapshotId: primarySnapshotId });
  return { primarySnapshotId, pointInTime };
}

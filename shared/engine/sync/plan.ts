/**
 * SyncPlan (ARCHITECTURE.md, "Sync"): `D = changes(P_head → P_now)`, the present delta map,
 * persisted as the DRL before anything is copied (claims 5–6), then StartSnapshot of `S_seq`
 * with parent `S_head`.
 */
import type { EntryKind } from '../../core/chain-entry';
import { volumeBlocks } from '../../core/constants';
import { ChainInvariantError } from '../../core/errors';
import type { DirtyRegionLog, Fence, ProtectedVolume } from '../../core/ports/chain-store';
import { SnapshotNotFoundError } from '../../core/ports/errors';
import { KIND_TAG, PURPOSE_TAG, RESTORE_POINT_PURPOSE, RUN_ID_TAG, SEQ_TAG, VOLUME_ID_TAG } from '../../core/tags';
import type { EngineContext } from '../context';
import { ProtectionConfigError, SnapshotNotReadyError, StepOrderError } from '../errors';
import { LeaseHeartbeat, renewFence } from '../tasks/lease';
import { presentDeltaMap } from '../tasks/present-delta-map';
import { readRevisedCompareMap } from '../verify/maps';
import { imageBadBlocksOf } from '../tasks/bad-blocks';
import { sweepPrimarySnapshots } from './commit';
import type { SyncPlanOutput } from './outputs';
import { syncProtectionConfigSchema, type SyncPlanInput } from './schemas';

/**
 * `D = changes(P_head → P_now)` (the first run: every allocated block of `P_now`, a `baseline`;
 * with `extraFromRun`: `F = HC ∪ C'`, a `fixup`), persisted as the DRL before anything is copied;
 * then StartSnapshot with parent `S_head`, whose id is recorded in the DRL. A resumed crashed run
 * gets the DRL's plan back unchanged.
 *
 * @throws LeaseLostError when another run took the lease over
 * @throws SnapshotNotReadyError when `P_now` is not completed yet
 */
export async function syncPlan(ctx: EngineContext, input: SyncPlanInput): Promise<SyncPlanOutput> {
  const { volumeId, runId, fencingToken } = input;
  const fence: Fence = { fencingToken };
  const volume = await ctx.store.getVolume(volumeId);
  if (volume.lease?.fencingToken !== fencingToken) {
    // A retry of a skip that already released the lease: answer the same again.
    const earlier = await skippedEarlier(ctx, volume, input.primarySnapshotId, runId);
    if (earlier !== undefined) return earlier;
  }
  // Renewed, not only checked: the wait for P_now before this task may have been long.
  await renewFence(ctx, volumeId, fence);
  const live = await ctx.store.readDirtyRegionLog(volumeId);
  if (live !== undefined) {
    if (live.primarySnapshotId !== input.primarySnapshotId) {
      throw new StepOrderError(
        `volume ${volumeId}: entry ${live.seq} of run ${live.runId} is in flight from ${live.primarySnapshotId}, not ${input.primarySnapshotId}; ` +
          'run SyncBegin first: it recovers or discards it', { volumeId, seq: live.seq });
    }
    return startSecondary(ctx, volume, await carryPendingRepair(ctx, volume, live, fence), fence);
  }
  let pNow;
  try {
    pNow = await ctx.primary.waiter.status(input.primarySnapshotId);
  } catch (error) {
    // A retry of a skip that deleted `P_now` but crashed before releasing the lease.
    const earlier = error instanceof SnapshotNotFoundError ? await skippedEarlier(ctx, volume, input.primarySnapshotId, runId) : undefined;
    if (earlier === undefined) throw error;
    await ctx.store.releaseLease(volumeId, fence);
    return earlier;
  }
  if (pNow.state !== 'completed') {
    throw new SnapshotNotReadyError(`primary snapshot ${input.primarySnapshotId} is ${pNow.state}; wait for it with SnapshotStatus first`, {
      volumeId, snapshotId: input.primarySnapshotId,
    });
  }
  const baseSnapshotId = volume.headSeq === undefined ? undefined : volume.basePrimarySnapshotId;
  const { deltaMap: changed, volumeSize } = await presentDeltaMap(ctx.primary.reader, baseSnapshotId, input.primarySnapshotId, {
    heartbeat: new LeaseHeartbeat(ctx, volumeId, fence),
  });
  if (volume.headSeq !== undefined && volumeSize < volume.volumeSize) {
    throw new ChainInvariantError(
      `volume ${volumeId}: ${input.primarySnapshotId} is ${volumeSize} GiB but the chain's volume is ${volume.volumeSize} GiB: volumes only grow`,
      { volumeId, snapshotId: input.primarySnapshotId });
  }
  let deltaMap = changed;
  let kind: EntryKind = volume.headSeq === undefined ? 'baseline' : 'sync';
  if (input.extraFromRun !== undefined) {
    if (kind === 'baseline') throw new StepOrderError(`volume ${volumeId} has no restore point yet: a fix-up needs a baseline`, { volumeId });
    kind = 'fixup';
    deltaMap = deltaMap.union(await readRevisedCompareMap(ctx.store, volumeId, input.extraFromRun, volumeBlocks(volumeSize)));
  }
  // The pending repair: every sync carries the head's bad blocks, so no commit inherits them.
  const repair = volume.headSeq === undefined ? undefined : await imageBadBlocksOf(ctx.store, volumeId, volume.headSeq);
  if (repair !== undefined) {
    kind = 'fixup';
    deltaMap = deltaMap.union(repair.resize(Math.max(repair.volumeBlocks, volumeBlocks(volumeSize)))).resize(volumeBlocks(volumeSize));
  }
  // A grown volume with no changed block still needs a restore point: one of the new size.
  if (kind === 'sync' && deltaMap.size === 0 && volumeSize === volume.volumeSize) {
    return skipUnchanged(ctx, volume, input.primarySnapshotId, runId, fence);
  }
  const log: DirtyRegionLog = {
    runId,
    seq: (volume.headSeq ?? -1) + 1,
    kind,
    primarySnapshotId: input.primarySnapshotId,
    volumeSize,
    pointInTime: input.pointInTime,
    deltaMap,
  };
  await ctx.store.writeDirtyRegionLog(volumeId, log, fence);
  ctx.logger.info('dirty region log written', { seq: log.seq, kind, blocks: deltaMap.size, segments: deltaMap.segmentIndexes().length });
  return startSecondary(ctx, volume, log, fence);
}

/**
 * Ends a sync whose `D` is empty without a restore point: an entry with an empty delta map would
 * only lengthen the chain (and cost a snapshot) without protecting anything. Records the skip
 * first, so that a retry after any later crash recognizes it, then deletes `P_now` with every
 * other stray primary snapshot (the base of the next ListChangedBlocks stays `P_head`) and
 * releases the lease.
 */
async function skipUnchanged(ctx: EngineContext, volume: ProtectedVolume, primarySnapshotId: string, runId: string, fence: Fence): Promise<SyncPlanOutput> {
  const { volumeId } = volume;
  const skipped = skippedOutput(volume, primarySnapshotId, runId, fence.fencingToken);
  await ctx.store.putJobRecord(volumeId, {
    runId, job: 'sync', status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(),
    summary: { skipped: UNCHANGED, primarySnapshotId, headSeq: volume.headSeq ?? null },
  });
  // The sweep a commit does: `P_now` and any a crashed run left behind go, the base `P_head` stays.
  await sweepPrimarySnapshots(ctx, volumeId);
  await ctx.store.releaseLease(volumeId, fence);
  ctx.logger.info('nothing changed since the head restore point: no restore point made', { headSeq: volume.headSeq, snapshotId: primarySnapshotId });
  return skipped;
}

/** {@link SyncPlanOutput.skipped} of an unchanged volume. */
const UNCHANGED = 'unchanged';

function skippedOutput(volume: ProtectedVolume, primarySnapshotId: string, runId: string, fencingToken: number): SyncPlanOutput {
  const volumeSize = volume.volumeSize;
  return {
    skipped: UNCHANGED, volumeId: volume.volumeId, runId, fencingToken, seq: volume.headSeq ?? 0, kind: 'sync',
    primarySnapshotId, secondarySnapshotId: '', volumeSize, segments: [], blocks: 0,
  };
}

/** This run's answer if an earlier attempt of its SyncPlan already skipped (its job record says so). */
async function skippedEarlier(ctx: EngineContext, volume: ProtectedVolume, primarySnapshotId: string, runId: string): Promise<SyncPlanOutput | undefined> {
  const record = (await ctx.store.listJobRecords(volume.volumeId)).find((each) => each.runId === runId);
  const summary = record?.summary;
  if (typeof summary !== 'object' || summary === null || Array.isArray(summary) || summary.skipped !== UNCHANGED) return undefined;
  return skippedOutput(volume, primarySnapshotId, runId, volume.lease?.fencingToken ?? 0);
}

/**

/**
 * A resumed entry carries the head's bad blocks too (from its own `P_seq`, the primary at its
 * point in time), unless its secondary snapshot already completed: that one is adopted or
 * discarded by SyncBegin, and the next sync carries them.
 */
async function carryPendingRepair(ctx: EngineContext, volume: ProtectedVolume, live: DirtyRegionLog, fence: Fence): Promise<DirtyRegionLog> {
  if (volume.headSeq === undefined) return live;
  const repair = await imageBadBlocksOf(ctx.store, volume.volumeId, volume.headSeq);
  if (repair === undefined || repair.subtract(live.deltaMap).isEmpty()) return live;
  if (live.secondarySnapshotId !== undefined && live.secondarySnapshotId !== '') {
    const status = await ctx.secondary.waiter.status(live.secondarySnapshotId);
    if (status.state !== 'pending') return live;
  }
  const blocks = volumeBlocks(live.volumeSize);
  const carried: DirtyRegionLog = { ...live, kind: 'fixup', deltaMap: live.deltaMap.union(repair).resize(Math.max(blocks, repair.volumeBlocks)).resize(blocks) };
  await ctx.store.writeDirtyRegionLog(volume.volumeId, carried, fence);
  ctx.logger.info('resumed entry carries the pending repair', { seq: live.seq, repairBlocks: repair.size });
  return carried;
}

/** StartSnapshot for the DRL's entry (idempotent per run), recorded in the DRL. */
async function startSecondary(ctx: EngineContext, volume: ProtectedVolume, log: DirtyRegionLog, fence: Fence): Promise<SyncPlanOutput> {
  const { volumeId } = volume;
  let secondarySnapshotId = log.secondarySnapshotId;
  if (secondarySnapshotId === undefined || secondarySnapshotId === '') {
    const parent = volume.headSeq === undefined ? undefined : (await ctx.store.getEntry(volumeId, volume.headSeq)).secondarySnapshotId;
    const encryption = parent === undefined ? secondaryEncryption(ctx, volume) : {};
    const started = await ctx.secondary.writer.startSnapshot({
      // The run id makes the token differ for a redo after a discarded attempt at the same seq,
      // which would otherwise get the discarded snapshot back from EBS.
      job: { volumeId, seq: log.seq, purpose: `${log.kind}:${log.runId}` },
      volumeSize: log.volumeSize,
      parentSnapshotId: parent,
      ...encryption,
      tags: [
        { key: VOLUME_ID_TAG, value: volumeId },
        { key: RUN_ID_TAG, value: log.runId },
        { key: SEQ_TAG, value: String(log.seq) },
        { key: PURPOSE_TAG, value: RESTORE_POINT_PURPOSE },
        { key: KIND_TAG, value: log.kind },
      ],
      description: `ebs-cdp restore point ${log.seq} (${log.kind}) of ${volumeId}`,
      timeoutMinutes: ctx.tuning.snapshotTimeoutMinutes,
    });
    secondarySnapshotId = started.snapshotId;
    await ctx.store.writeDirtyRegionLog(volumeId, { ...log, secondarySnapshotId }, fence);
    ctx.logger.info('secondary snapshot started', { snapshotId: secondarySnapshotId, seq: log.seq, parentSnapshotId: parent });
  }
  return {
    volumeId,
    runId: log.runId,
    fencingToken: fence.fencingToken,
    seq: log.seq,
    kind: log.kind,
    primarySnapshotId: log.primarySnapshotId,
    secondarySnapshotId,
    volumeSize: log.volumeSize,
    segments: log.deltaMap.segmentIndexes(),
    blocks: log.deltaMap.size,
  };
}

/** The baseline's encryption: the volume's own key, else the engine's, else unencrypted. */
function secondaryEncryption(ctx: EngineContext, volume: ProtectedVolume): { encrypted?: boolean; kmsKeyArn?: string } {
  const parsed = syncProtectionConfigSchema.safeParse(volume.config);
  if (!parsed.success) {
    throw new ProtectionConfigError(`volume ${volume.volumeId}: its protection config is malformed (${parsed.error.message}); fix it with ebs-cdp protect`, {
      volumeId: volume.volumeId,
    });
  }
  const kmsKeyArn = parsed.data.secondaryKmsKeyId ?? ctx.secondary.kmsKeyId;
  if (kmsKeyArn !== undefined) return { encrypted: true, kmsKeyArn };
  return parsed.data.encrypted === true ? { encrypted: true } : {};
}

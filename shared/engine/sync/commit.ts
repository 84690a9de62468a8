/**
 * SyncCommit (ARCHITECTURE.md, "Sync"): commits the entry in flight as the new head, clearing the
 * DRL in the same store write (claims 5–6), and sweeps the earlier primary snapshots.
 */
import type { ChainEntry } from '../../core/chain-entry';
import type { DirtyRegionLog, Fence, JobRecord } from '../../core/ports/chain-store';
import { PURPOSE_TAG, SYNC_PRIMARY_PURPOSE, VOLUME_ID_TAG } from '../../core/tags';
import type { EngineContext } from '../context';
import { SnapshotNotReadyError, StepOrderError } from '../errors';
import { renewFence } from '../tasks/lease';
import type { SyncSummary } from './outputs';
import type { SyncCommitInput } from './schemas';

/**
 * Commits the entry in flight as the new head (clearing the DRL in the same store write),
 * deletes the earlier primary snapshots (only the newest is kept), the run's digests, and
 * releases the lease. Idempotent: a re-run after the commit returns the same summary.
 *
 * @throws SnapshotNotReadyError when the secondary snapshot is not completed
 * @throws LeaseLostError, StepOrderError
 */
export async function syncCommit(ctx: EngineContext, input: SyncCommitInput): Promise<SyncSummary> {
  const { volumeId, runId, seq } = input;
  const fence: Fence = { fencingToken: input.fencingToken };
  const drl = await ctx.store.readDirtyRegionLog(volumeId);
  let entry: ChainEntry;
  if (drl !== undefined && drl.seq === seq) {
    // Still in flight, so the lease is still held (released only after the commit): renew it
    // for the commit's clean-up. A re-run after the commit skips this (its lease is gone).
    await renewFence(ctx, volumeId, fence);
    const secondaryId = drl.secondarySnapshotId ?? '';
    const status = await ctx.secondary.waiter.status(secondaryId);
    if (status.state !== 'completed') {
      throw new SnapshotNotReadyError(`secondary snapshot ${secondaryId} is ${status.state}; wait for it with SnapshotStatus first`, {
        volumeId, snapshotId: secondaryId, seq,
      });
    }
    // This run's CopySegments wrote the digests (a resumed run copies every segment again under
    // its own id): they are the new entry's digest manifest; the crashed run's are garbage.
    entry = await commitInFlight(ctx, volumeId, drl, secondaryId, fence, runId);
    if (drl.runId !== runId) await ctx.store.deleteRunItems(volumeId, drl.runId);
  } else {
    const volume = await ctx.store.getVolume(volumeId);
    if (volume.headSeq === undefined || volume.headSeq < seq) {
      throw new StepOrderError(`volume ${volumeId}: entry ${seq} is neither in flight nor committed; run SyncPlan first`, { volumeId, seq });
    }
    entry = await ctx.store.getEntry(volumeId, seq);
  }
  const deleted = await sweepPrimarySnapshots(ctx, volumeId);
  await ctx.store.deleteRunItems(volumeId, runId, { keepDigests: entry.manifestLayers?.includes(runId) === true });
  const summary = commitSummary(volumeId, entry, deleted);
  const record: JobRecord = { runId, job: 'sync', status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(), summary: { ...summary } };
  await ctx.store.putJobRecord(volumeId, record);
  await ctx.store.releaseLease(volumeId, fence);
  ctx.logger.info('restore point committed', { seq: entry.seq, kind: entry.kind, blocks: summary.blocks });
  return summary;
}

/** What a sync reports of the restore point it committed. */
export function commitSummary(volumeId: string, entry: ChainEntry, deletedPrimarySnapshotIds: string[]): SyncSummary {
  return {
    volumeId,
    seq: entry.seq,
    kind: entry.kind,
    blocks: entry.deltaMap.size,
    volumeSize: entry.volumeSize,
    primarySnapshotId: entry.primarySnapshotId,
    secondarySnapshotId: entry.secondarySnapshotId,
    deletedPrimarySnapshotIds,
  };
}

/**
 * Commits the DRL's entry with its secondary snapshot (a `fixup` through appendFixup).
 * `manifestRunId` is the run whose CopySegments persisted the digests that completed it.
 */
export async function commitInFlight(ctx: EngineContext, volumeId: string, drl: DirtyRegionLog, secondaryId: string, fence: Fence, manifestRunId: string): Promise<ChainEntry> {
  const entry: ChainEntry = {
    seq: drl.seq,
    kind: drl.kind,
    deltaMap: drl.deltaMap,
    primarySnapshotId: drl.primarySnapshotId,
    secondarySnapshotId: secondaryId,
    volumeSize: drl.volumeSize,
    status: 'committed',
    trust: 'trusted',
    suspectBlocks: 0,
    pointInTime: drl.pointInTime,
    committedAt: new Date(Math.max(ctx.clock.now(), Date.parse(drl.pointInTime))).toISOString(),
    manifestLayers: [manifestRunId],
  };
  if (entry.kind === 'fixup') await ctx.store.appendFixup(volumeId, entry, fence);
  else await ctx.store.commitEntry(volumeId, entry, fence);
  return entry;
}

/**
 * Deletes every primary snapshot the Sync job took of this volume except the base of the next
 * ListChangedBlocks: the previous base, and any a crashed run left behind. Under the lease no
 * other sync is taking one.
 */
export async function sweepPrimarySnapshots(ctx: EngineContext, volumeId: string): Promise<string[]> {
  const volume = await ctx.store.getVolume(volumeId);
  const keep = new Set([volume.basePrimarySnapshotId, volume.inFlight?.primarySnapshotId]);
  const deleted: string[] = [];
  for (const snapshot of await ctx.primary.lookup.findOwned([{ key: VOLUME_ID_TAG, value: volumeId }, { key: PURPOSE_TAG, value: SYNC_PRIMARY_PURPOSE }])) {
    if (keep.has(snapshot.snapshotId)) continue;
    await ctx.primary.snapshots.deleteSnapshot(snapshot.snapshotId);
    deleted.push(snapshot.snapshotId);
  }
  return deleted;
}

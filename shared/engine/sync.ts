/**
 * The Sync job's steps (ARCHITECTURE.md, "Sync"; claims 5–6 for the DRL), one plain async
 * function per Task state, each idempotent:
 *
 * ```
 *  SyncBegin ─► SnapshotStatus(P_now) ⟲ ─► SyncPlan ─► Map CopySegment ─► CompleteSnapshot ─► SnapshotStatus(S) ⟲ ─► SyncCommit
 *      │ lease; a live DRL → recover                └ DRL persisted, then StartSnapshot(parent S_head)
 *  any failure ─► JobFailed (records it, releases the lease; the DRL stays for the next run)
 * ```
 *
 * Recovery of a crashed run (a DRL of another run is live when `SyncBegin` takes the lease):
 * - its secondary snapshot is still `pending`: resume — `SyncPlan` returns the DRL's plan and the
 *   copy runs again into the same snapshot (re-putting a block overwrites it);
 * - it `completed` but was never committed: compare only the DRL's blocks of `P_seq` and `S_seq`
 *   (scan only dirty regions) and commit it when equal, else delete it;
 * - it is missing, failed, or was never started: discard it and clear the DRL.
 * After adopting or discarding, the run goes on as a normal sync with a fresh `P_now`:
 * `changes(P_head → P_now)` covers everything the crashed run meant to copy, so nothing is lost.
 */
import { runBlockPool } from '../core/block-pool';
import { LeaseLostError, SnapshotFailedError, SnapshotNotFoundError, VolumeBusyError } from '../core/ports/errors';
import { sha256, ZERO_BLOCK_DIGEST } from '../core/checksum';
import type { ChainEntry, EntryKind } from '../core/chain-entry';
import { BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT, segmentRange, volumeBlocks } from '../core/constants';
import type { DeltaMap } from '../core/delta-map';
import { ChainInvariantError } from '../core/errors';
import type { DirtyRegionLog, Fence, JobRecord, ProtectedVolume } from '../core/ports/chain-store';
import type { SnapshotReader, Tag } from '../core/ports/snapshots';
import type { EngineContext } from './context';
import { completeSnapshotFromDigests, copySegmentBlocks } from './copy-segment';
import { ProtectionConfigError, SnapshotNotReadyError, StepOrderError } from './errors';
import {
  completeSnapshotInputSchema,
  copySegmentInputSchema,
  jobFailedInputSchema,
  snapshotStatusInputSchema,
  syncBeginInputSchema,
  syncCommitInputSchema,
  syncPlanInputSchema,
  syncProtectionConfigSchema,
  type CompleteSnapshotInput,
  type CopySegmentInput,
  type JobFailedInput,
  type SnapshotStatusInput,
  type SyncBeginInput,
  type SyncCommitInput,
  type SyncPlanInput,
} from './schemas';
import { readRevisedCompareMap } from './verify-maps';

import { KIND_TAG, PURPOSE_TAG, RESTORE_POINT_PURPOSE, RUN_ID_TAG, SEQ_TAG, SYNC_PRIMARY_PURPOSE, VERIFY_RUN_TAG, VOLUME_ID_TAG } from '../core/tags';

// ── outputs (plain JSON) ─────────────────────────────────────────────────────────────────

/** What happened to a crashed run's entry in flight. */
export interface RecoveryOutcome {
  readonly seq: number;
  /** The crashed run. */
  readonly runId: string;
  readonly outcome: 'resumed' | 'adopted' | 'discarded';
  /** Why, for the log and the report. */
  readonly reason: string;
}

export interface SyncBeginOutput {
  /** `recover`: the copy of a crashed run's pending secondary resumes (same path through SyncPlan). */
  readonly action: 'sync' | 'recover';
  readonly volumeId: string;
  readonly runId: string;
  readonly fencingToken: number;
  /** `P_now` (for `recover`: the crashed run's `P_seq`); wait for it with SnapshotStatus. */
  readonly primarySnapshotId: string;
  readonly pointInTime: string;
  readonly recovery?: RecoveryOutcome;
}

/** SyncBegin's answer with `onBusy: 'skip'` when another run holds a live lease: nothing was changed. */
export interface SyncBusyOutput {
  readonly action: 'busy';
  readonly volumeId: string;
  /** Who holds the lease (its execution) and the run id it holds it with: `VolumeBusyError`'s fields. */
  readonly holder: string;
  readonly holderRunId: string;
  readonly expiresAt: number;
}

export interface SnapshotStatusOutput {
  readonly snapshotId: string;
  readonly status: 'IN_PROGRESS' | 'COMPLETED';
  readonly progress: number;
}

export interface SyncPlanOutput {
  /**
   * `unchanged`: `D` was empty (nothing written since the head restore point), so no restore
   * point is made: the lease is released and `P_now` deleted; the machine ends here. Then
   * `segments` is empty, `blocks` 0, `secondarySnapshotId` empty and `seq` the head's.
   */
  readonly skipped?: 'unchanged';
  readonly volumeId: string;
  readonly runId: string;
  readonly fencingToken: number;
  readonly seq: number;
  readonly kind: EntryKind;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
  /** GiB of `P_now` and of the new secondary snapshot. */
  readonly volumeSize: number;
  /** Segments holding blocks of `D`: one Map item each. */
  readonly segments: number[];
  /** Blocks of `D`. */
  readonly blocks: number;
}

export interface CopySegmentOutput {
  readonly segment: number;
  readonly blocksWritten: number;
}

export interface CompleteSnapshotOutput {
  readonly snapshotId: string;
  readonly state: 'pending' | 'completed' | 'error';
}

export interface SyncSummary {
  readonly volumeId: string;
  readonly seq: number;
  readonly kind: EntryKind;
  readonly blocks: number;
  readonly volumeSize: number;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
  /** Primary snapshots of earlier syncs deleted (only the newest is kept). */
  readonly deletedPrimarySnapshotIds: string[];
}

export interface JobFailedOutput {
  readonly errorName: string;
  readonly message: string;
  readonly leaseReleased: boolean;
}

// ── SyncBegin ────────────────────────────────────────────────────────────────────────────

/**
 * Takes the volume lease; recovers a crashed run's entry in flight if its DRL is live; takes
 * `P_now` (a re-run finds the snapshot it already took by its run tag).
 *
 * @throws VolumeBusyError when another run holds a live lease
 * @throws VolumeNotProtectedError
 */
export async function syncBegin(ctx: EngineContext, rawInput: SyncBeginInput): Promise<SyncBeginOutput> {
  const input = syncBeginInputSchema.parse(rawInput);
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

/** Decides the fate of a crashed run's entry in flight (see the module comment). */
async function recoverInFlight(ctx: EngineContext, volumeId: string, drl: DirtyRegionLog, fence: Fence): Promise<RecoveryOutcome> {
  const about = { seq: drl.seq, runId: drl.runId };
  const discard = async (reason: string, snapshotId?: string): Promise<RecoveryOutcome> => {
    if (snapshotId !== undefined) await ctx.secondary.snapshots.deleteSnapshot(snapshotId);
    // A secondary started but not yet recorded in the DRL is found by the crashed run's tag.
    const orphans = await ctx.secondary.lookup.findOwned([
      { key: VOLUME_ID_TAG, value: volumeId },
      { key: RUN_ID_TAG, value: drl.runId },
      { key: PURPOSE_TAG, value: RESTORE_POINT_PURPOSE },
    ]);
    for (const orphan of orphans) {
      if (orphan.snapshotId !== snapshotId) await ctx.secondary.snapshots.deleteSnapshot(orphan.snapshotId);
    }
    await ctx.store.clearDirtyRegionLog(volumeId, fence);
    await ctx.store.deleteRunItems(volumeId, drl.runId);
    return { ...about, outcome: 'discarded', reason };
  };
  const secondaryId = drl.secondarySnapshotId;
  if (secondaryId === undefined || secondaryId === '') return discard('its secondary snapshot was never started');
  let state: string;
  try {
    state = (await ctx.secondary.waiter.status(secondaryId)).state;
  } catch (error) {
    if (error instanceof SnapshotNotFoundError) return discard(`its secondary snapshot ${secondaryId} no longer exists`);
    throw error;
  }
  if (state === 'pending') return { ...about, outcome: 'resumed', reason: `its secondary snapshot ${secondaryId} is still pending` };
  if (state === 'error') return discard(`its secondary snapshot ${secondaryId} failed`, secondaryId);
  const mismatches = await compareDirtyRegions(ctx, drl, secondaryId);
  if (mismatches > 0) return discard(`${mismatches} block(s) of its DRL differ between ${drl.primarySnapshotId} and ${secondaryId}`, secondaryId);
  await commitInFlight(ctx, volumeId, drl, secondaryId, fence);
  await ctx.store.deleteRunItems(volumeId, drl.runId);
  return { ...about, outcome: 'adopted', reason: `its completed secondary ${secondaryId} equals ${drl.primarySnapshotId} on the DRL's ${drl.deltaMap.size} block(s)` };
}

/**
 * Claims 5–6: compares only the DRL's blocks of `P_seq` and `S_seq` (an unlisted block reads as
 * zeros on either side). Returns the number of blocks that differ.
 */
async function compareDirtyRegions(ctx: EngineContext, drl: DirtyRegionLog, secondaryId: string): Promise<number> {
  let mismatches = 0;
  for (const segment of drl.deltaMap.segmentIndexes()) {
    const blocks = drl.deltaMap.segment(segment);
    const primaryTokens = await tokensOf(ctx.primary.reader, drl.primarySnapshotId, segment, blocks);
    const secondaryTokens = await tokensOf(ctx.secondary.reader, secondaryId, segment, blocks);
    await runBlockPool(blocks, async (blockIndex) => {
      const [p, s] = await Promise.all([
        digestOf(ctx.primary.reader, drl.primarySnapshotId, blockIndex, primaryTokens.get(blockIndex)),
        digestOf(ctx.secondary.reader, secondaryId, blockIndex, secondaryTokens.get(blockIndex)),
      ]);
      if (p !== s) mismatches++;
    }, { concurrency: ctx.tuning.blockWorkers, snapshotId: secondaryId });
  }
  return mismatches;
}

async function tokensOf(reader: SnapshotReader, snapshotId: string, segment: number, wanted: DeltaMap): Promise<Map<number, string>> {
  const tokens = new Map<number, string>();
  for await (const block of reader.listBlocks(snapshotId, segmentRange(segment))) {
    if (wanted.has(block.blockIndex)) tokens.set(block.blockIndex, block.blockToken);
  }
  return tokens;
}

/** Base64 SHA-256 of a block's bytes (one all-zero block when the snapshot does not list it). */
async function digestOf(reader: SnapshotReader, snapshotId: string, blockIndex: number, token: string | undefined): Promise<string> {
  if (token === undefined) return ZERO_DIGEST;
  return sha256(await reader.getBlock(snapshotId, blockIndex, token)).toString('base64');
}

/** How a block a snapshot does not list reads: all zeros. */
const ZERO_DIGEST = ZERO_BLOCK_DIGEST.toString('base64');

// ── SnapshotStatus ───────────────────────────────────────────────────────────────────────

/**
 * One look at a snapshot for a Wait/Choice loop (shared by every job).
 * @throws SnapshotFailedError when it went to `error`
 */
export async function snapshotStatus(ctx: EngineContext, rawInput: SnapshotStatusInput): Promise<SnapshotStatusOutput> {
  const input = snapshotStatusInputSchema.parse(rawInput);
  const waiter = input.side === 'primary' ? ctx.primary.waiter : ctx.secondary.waiter;
  const status = await waiter.status(input.snapshotId);
  if (status.state === 'error') throw new SnapshotFailedError(input.snapshotId, status.stateMessage, { volumeId: input.volumeId });
  return { snapshotId: input.snapshotId, status: status.state === 'completed' ? 'COMPLETED' : 'IN_PROGRESS', progress: status.progress };
}

// ── SyncPlan ─────────────────────────────────────────────────────────────────────────────

/**
 * `D = changes(P_head → P_now)` (the first run: every allocated block of `P_now`, a `baseline`;
 * with `extraFromRun`: `F = HC ∪ C'`, a `fixup`), persisted as the DRL before anything is copied;
 * then StartSnapshot with parent `S_head`, whose id is recorded in the DRL. A resumed crashed run
 * gets the DRL's plan back unchanged.
 *
 * @throws LeaseLostError when another run took the lease over
 * @throws SnapshotNotReadyError when `P_now` is not completed yet
 */
export async function syncPlan(ctx: EngineContext, rawInput: SyncPlanInput): Promise<SyncPlanOutput> {
  const input = syncPlanInputSchema.parse(rawInput);
  const { volumeId, runId, fencingToken } = input;
  const fence: Fence = { fencingToken };
  const volume = await ctx.store.getVolume(volumeId);
  if (volume.lease?.fencingToken !== fencingToken) {
    // A retry of a skip that already released the lease: answer the same again.
    const earlier = await skippedEarlier(ctx, volume, input.primarySnapshotId, runId);
    if (earlier !== undefined) return earlier;
  }
  checkLease(volume, fence);
  const live = await ctx.store.readDirtyRegionLog(volumeId);
  if (live !== undefined) {
    if (live.primarySnapshotId !== input.primarySnapshotId) {
      throw new StepOrderError(
        `volume ${volumeId}: entry ${live.seq} of run ${live.runId} is in flight from ${live.primarySnapshotId}, not ${input.primarySnapshotId}; ` +
          'run SyncBegin first: it recovers or discards it', { volumeId, seq: live.seq });
    }
    return startSecondary(ctx, volume, live, fence);
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
  const { deltaMap: changed, volumeSize } = await changedBlocks(ctx.primary.reader, baseSnapshotId, input.primarySnapshotId);
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
 * Blocks that differ from `first` to `second` (every allocated block of `second` without a
 * first), sized to `second`'s volume, which the first segment's listing reports.
 */
async function changedBlocks(reader: SnapshotReader, first: string | undefined, second: string): Promise<{ deltaMap: DeltaMap; volumeSize: number }> {
  const head = await reader.changedBlocksOfSegment(first, second, 0);
  const deltaMap = head.deltaMap.clone();
  if (deltaMap.volumeBlocks > BLOCKS_PER_SEGMENT) {
    for await (const block of reader.listChangedBlocks(first, second, { start: BLOCKS_PER_SEGMENT, end: deltaMap.volumeBlocks })) {
      deltaMap.add(block.blockIndex);
    }
  }
  return { deltaMap, volumeSize: deltaMap.volumeBlocks / BLOCKS_PER_GIB };
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

function checkLease(volume: ProtectedVolume, fence: Fence): void {
  if (volume.lease?.fencingToken !== fence.fencingToken) {
    throw new LeaseLostError(
      `volume ${volume.volumeId}: this run's lease (fencing token ${fence.fencingToken}) was taken over or released; ` +
        'stop without writing: the next run recovers from the dirty region log', { volumeId: volume.volumeId });
  }
}

// ── CopySegment ──────────────────────────────────────────────────────────────────────────

/**
 * Copies the DRL's blocks of one segment from `P_seq` into `S_seq` (a block `P_seq` lacks is
 * written as zeros) and persists their digests. Idempotent.
 *
 * @throws LeaseLostError when another run took the lease over
 * @throws StepOrderError when the DRL in flight is not entry `seq`
 * @throws BlockCopyFailedError naming every block that failed
 */
export async function copySegment(ctx: EngineContext, rawInput: CopySegmentInput): Promise<CopySegmentOutput> {
  const input = copySegmentInputSchema.parse(rawInput);
  const { volumeId, runId, segment } = input;
  checkLease(await ctx.store.getVolume(volumeId), input);
  const drl = await ctx.store.readDirtyRegionLog(volumeId);
  if (drl === undefined || drl.seq !== input.seq || drl.secondarySnapshotId !== input.targetSnapshotId || drl.primarySnapshotId !== input.sourceSnapshotId) {
    throw new StepOrderError(
      `volume ${volumeId}: no entry ${input.seq} from ${input.sourceSnapshotId} into ${input.targetSnapshotId} is in flight; run SyncPlan first`,
      { volumeId, seq: input.seq, segment });
  }
  const result = await copySegmentBlocks(
    { store: ctx.store, reader: ctx.primary.reader, writer: ctx.secondary.writer, logger: ctx.logger, blockWorkers: ctx.tuning.blockWorkers },
    { volumeId, runId, segment, blocks: drl.deltaMap, sourceSnapshotId: input.sourceSnapshotId, targetSnapshotId: input.targetSnapshotId },
  );
  return { segment: result.segment, blocksWritten: result.blocksWritten };
}

// ── CompleteSnapshot ─────────────────────────────────────────────────────────────────────

/**
 * CompleteSnapshot of the secondary with the LINEAR aggregate over this run's persisted digests;
 * then wait with SnapshotStatus. Idempotent (a completed snapshot is reported as is).
 *
 * @throws DigestsIncompleteError when the digests do not add up to `expectedBlocks`
 */
export async function completeSnapshot(ctx: EngineContext, rawInput: CompleteSnapshotInput): Promise<CompleteSnapshotOutput> {
  const input = completeSnapshotInputSchema.parse(rawInput);
  const state = await completeSnapshotFromDigests(
    { store: ctx.store, writer: ctx.secondary.writer, waiter: ctx.secondary.waiter },
    { volumeId: input.volumeId, runId: input.runId, snapshotId: input.snapshotId, expectedBlocks: input.expectedBlocks },
  );
  return { snapshotId: input.snapshotId, state };
}

// ── SyncCommit ───────────────────────────────────────────────────────────────────────────

/**
 * Commits the entry in flight as the new head (clearing the DRL in the same store write),
 * deletes the earlier primary snapshots (only the newest is kept), the run's digests, and
 * releases the lease. Idempotent: a re-run after the commit returns the same summary.
 *
 * @throws SnapshotNotReadyError when the secondary snapshot is not completed
 * @throws LeaseLostError, StepOrderError
 */
export async function syncCommit(ctx: EngineContext, rawInput: SyncCommitInput): Promise<SyncSummary> {
  const input = syncCommitInputSchema.parse(rawInput);
  const { volumeId, runId, seq } = input;
  const fence: Fence = { fencingToken: input.fencingToken };
  const drl = await ctx.store.readDirtyRegionLog(volumeId);
  let entry: ChainEntry;
  if (drl !== undefined && drl.seq === seq) {
    const secondaryId = drl.secondarySnapshotId ?? '';
    const status = await ctx.secondary.waiter.status(secondaryId);
    if (status.state !== 'completed') {
      throw new SnapshotNotReadyError(`secondary snapshot ${secondaryId} is ${status.state}; wait for it with SnapshotStatus first`, {
        volumeId, snapshotId: secondaryId, seq,
      });
    }
    entry = await commitInFlight(ctx, volumeId, drl, secondaryId, fence);
    if (drl.runId !== runId) await ctx.store.deleteRunItems(volumeId, drl.runId);
  } else {
    const volume = await ctx.store.getVolume(volumeId);
    if (volume.headSeq === undefined || volume.headSeq < seq) {
      throw new StepOrderError(`volume ${volumeId}: entry ${seq} is neither in flight nor committed; run SyncPlan first`, { volumeId, seq });
    }
    entry = await ctx.store.getEntry(volumeId, seq);
  }
  const deleted = await sweepPrimarySnapshots(ctx, volumeId);
  await ctx.store.deleteRunItems(volumeId, runId);
  const summary: SyncSummary = {
    volumeId,
    seq: entry.seq,
    kind: entry.kind,
    blocks: entry.deltaMap.size,
    volumeSize: entry.volumeSize,
    primarySnapshotId: entry.primarySnapshotId,
    secondarySnapshotId: entry.secondarySnapshotId,
    deletedPrimarySnapshotIds: deleted,
  };
  const record: JobRecord = { runId, job: 'sync', status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(), summary: { ...summary } };
  await ctx.store.putJobRecord(volumeId, record);
  await ctx.store.releaseLease(volumeId, fence);
  ctx.logger.info('restore point committed', { seq: entry.seq, kind: entry.kind, blocks: summary.blocks });
  return summary;
}

/** Commits the DRL's entry with its secondary snapshot (a `fixup` through appendFixup). */
async function commitInFlight(ctx: EngineContext, volumeId: string, drl: DirtyRegionLog, secondaryId: string, fence: Fence): Promise<ChainEntry> {
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
async function sweepPrimarySnapshots(ctx: EngineContext, volumeId: string): Promise<string[]> {
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

// ── JobFailed ────────────────────────────────────────────────────────────────────────────

/**
 * Every Catch: records the failure (error name and message) in the volume's job records, which
 * `status` shows, and releases the lease if this run holds it. The DRL stays: the next run
 * recovers from it. The execution then fails with the original error name.
 */
export async function jobFailed(ctx: EngineContext, rawInput: JobFailedInput): Promise<JobFailedOutput> {
  const input = jobFailedInputSchema.parse(rawInput);
  const { volumeId, runId } = input;
  const errorName = input.error.Error ?? 'UnknownError';
  const message = causeMessage(input.error.Cause);
  await ctx.store.putJobRecord(volumeId, {
    runId, job: input.job, status: 'failed', at: new Date(ctx.clock.now()).toISOString(), errorName, message,
  });
  const volume = await ctx.store.getVolume(volumeId);
  const lease = volume.lease;
  const ours = lease !== undefined && (lease.fencingToken === input.fencingToken || lease.runId === runId);
  if (ours) await ctx.store.releaseLease(volumeId, { fencingToken: lease.fencingToken });
  if (input.job === 'verify') {
    // Only VerifyReport deletes a verify's P0; a run that failed before it would leak one
    // primary snapshot per failure.
    for (const p0 of await ctx.primary.lookup.findOwned([{ key: VERIFY_RUN_TAG, value: runId }])) {
      await ctx.primary.snapshots.deleteSnapshot(p0.snapshotId);
    }
  }
  ctx.logger.error('job failed', { job: input.job, errorName, message, leaseReleased: ours });
  return { errorName, message, leaseReleased: ours };
}

/** A Lambda error's Cause is JSON `{ errorType, errorMessage, … }`; anything else is kept as is. */
function causeMessage(cause: string | undefined): string {
  if (cause === undefined) return '';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { errorMessage?: unknown }).errorMessage === 'string') {
      return (parsed as { errorMessage: string }).errorMessage;
    }
  } catch {
    // Not JSON: a plain message.
  }
  return cause;
}

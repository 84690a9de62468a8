/**
 * The Restore job (claim 12): one exported function per Task state, plain JSON in and out.
 *
 * ```
 *  RestoreBegin ─┬─ refusal (nothing changed) ─► the execution fails with its name and message
 *                ├─ delta: lease, P_now ─► SnapshotStatus(P_now) ⟲ ─┐
 *                └─ full (lineage gone) ──────────────────────────┴─► RestorePlan (R persisted, target started, lease released)
 *      ┌─────────────────────────────────────────────────────────────────┘
 *      ├─ delta: Map restoreCopySegment(S_k → target) ─► restoreCompleteTarget ─► SnapshotStatus(target) ⟲ ─┐
 *      └─ full ───────────────────────────────────────────────────────────────────────────────────────────┴─►
 *  RestoreCreateVolume ⟲ IN_PROGRESS ─► RestoreSwap (a no-op unless inPlace) ─► RestoreReport
 * ```
 *
 * Delta restore: `R = D_{k+1} ∪ … ∪ D_head ∪ changes(P_head → P_now)`; every block of `R` is read
 * from `S_k` (zeros if unlisted or beyond its size) into a new snapshot whose parent is `P_now`,
 * so the cost grows with what changed since `k`, not with the volume size. Full restore (the
 * primary volume or its base snapshot `P_head` is gone): the volume is created from `S_k`.
 *
 * Lease: a restore only reads the chain, but the present delta map needs `P_head`, which a
 * committing sync deletes, and the copy needs `S_k`, which a prune deletes. The lease is held from
 * `RestoreBegin` (before `P_now` is taken) until `RestorePlan` has persisted `R` and started the
 * target, so neither can move under the plan; it is released before the copy, so syncs go on
 * while blocks are written. A prune of `S_k` during the copy then makes `CopySegment` fail
 * loudly (SnapshotNotFoundError), never restore a wrong image. Holding the lease through the copy
 * would stall protection of the primary for the whole restore.
 */
import type { ChainEntry } from '../core/chain-entry';
import type { Chain } from '../core/chain';
import { BLOCKS_PER_SEGMENT, MAX_VOLUME_BLOCKS, volumeBlocks } from '../core/constants';
import { DeltaMap } from '../core/delta-map';
import { RestorePointNotFoundError } from '../core/errors';
import type { ChainStore, JsonValue, ProtectedVolume } from '../core/ports/chain-store';
import type { SnapshotState, SnapshotWriter, Tag, VolumeAttributes, Volumes } from '../core/ports/snapshots';
import { restorePlan, selectRestorePoint, type RestorePointSelector } from '../core/restore-plan';
import { InvalidVolumeError, SnapshotFailedError, SnapshotNotFoundError, UnrelatedSnapshotsError, VolumeNotProtectedError } from '../core/ports/errors';
import type { EngineContext, PrimarySide, SecondarySide } from './context';
import { PURPOSE_TAG, RUN_ID_TAG, VOLUME_ID_TAG } from '../core/tags';
import { completeSnapshotFromDigests, copySegmentBlocks, type CopySegmentResult } from './copy-segment';
import { RestoreChainMovedError, RestoreRequestError } from './errors';
import {
  restoreBeginInputSchema,
  restoreCompleteTargetInputSchema,
  restoreCopySegmentInputSchema,
  restoreCreateVolumeInputSchema,
  restorePlanInputSchema,
  restoreReportInputSchema,
  restoreSwapInputSchema,
  type Refusal,
  type RestoreDecision,
  type RestorePointRef,
  type VolumeLike,
} from './restore-schemas';

/** Volume type of a restored volume when the primary is gone and there is nothing to copy. */
export const DEFAULT_RESTORE_VOLUME_TYPE = 'gp3';

/** The restore point a restore's snapshots and volume were made for. */
export const RESTORE_POINT_TAG = 'ebs-cdp:restore-point';

/** `purpose` tag of `P_now`: how a rerun of `RestoreBegin` finds the snapshot it already took. */
const PURPOSE_PRIMARY_NOW = 'restore-p-now';

/** `purpose` tag of the target snapshot, and the root of its ClientToken job. */
const PURPOSE_TARGET = 'restore-target';

/** `purpose` tag of the restored volume. */
const PURPOSE_VOLUME = 'restore-volume';

/**
 * Name of the run map holding the restore plan `R`, per segment, so each `CopySegment` Map item
 * reads only its own segment.
 */
export const RESTORE_PLAN_MAP = 'restore-plan';

/**
 * The engine context as the Restore job needs it. Beyond the sync's ports, a delta restore writes
 * on the primary side (the target's parent `P_now` lives there), and a full restore creates its
 * volume where `S_k` lives: `secondary.volumes`, or the primary's EC2 when both sides share a
 * Region (the local cloud, a same-Region deployment). A cross-Region full restore would first
 * have to copy `S_k` into the primary's Region: not done here.
 */
export interface RestoreContext extends Pick<EngineContext, 'clock' | 'logger' | 'tuning'> {
  readonly store: ChainStore;
  readonly primary: PrimarySide & { readonly writer: SnapshotWriter };
  readonly secondary: SecondarySide & { readonly volumes?: Volumes };
}

// ── RestoreBegin ─────────────────────────────────────────────────────────────────────────

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
export async function restoreBegin(ctx: RestoreContext, rawInput: unknown): Promise<RestoreBeginOutput> {
  const input = restoreBeginInputSchema.parse(rawInput);
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
    restorePoint: restorePointRef(restorePoint),
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

async function readCommittedChain(store: ChainStore, volumeId: string, toSeq?: number): Promise<Chain> {
  const chain: ChainEntry[] = [];
  for await (const entry of store.readChain(volumeId, { toSeq })) chain.push(entry);
  return chain;
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

function restorePointRef(entry: ChainEntry): RestorePointRef {
  return {
    seq: entry.seq,
    pointInTime: entry.pointInTime,
    trust: entry.trust,
    secondarySnapshotId: entry.secondarySnapshotId,
    volumeSize: entry.volumeSize,
  };
}

function restoreTags(runId: string, seq: number, volumeId: string, purpose: string): Tag[] {
  return [
    // The Sync job's keys: its sweep of primary snapshots matches purpose `sync` only, so it never
    // deletes a restore's P_now, and a rerun finds what an earlier attempt made by run and purpose.
    { key: VOLUME_ID_TAG, value: volumeId },
    { key: RUN_ID_TAG, value: runId },
    { key: PURPOSE_TAG, value: purpose },
    { key: RESTORE_POINT_TAG, value: String(seq) },
  ];
}

// ── RestorePlan ──────────────────────────────────────────────────────────────────────────

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
export async function restorePlanStep(ctx: RestoreContext, rawInput: unknown): Promise<RestorePlanOutput> {
  const input = restorePlanInputSchema.parse(rawInput);
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
    const presentDeltaMap = await collectPresentDeltaMap(ctx, basePrimarySnapshotId, primarySnapshotId, input.like.size);
    if (presentDeltaMap === undefined) {
      return fullPlan(restorePoint, `the primary snapshot ${primarySnapshotId} is not of the lineage of ${basePrimarySnapshotId}`);
    }
    const plan = restorePlan(chain, restorePoint.seq, { snapshotId: primarySnapshotId, volumeSize: input.like.size, presentDeltaMap });
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

/** `changes(P_head → P_now)` sized to the primary now, or undefined when the two are unrelated. */
async function collectPresentDeltaMap(
  ctx: RestoreContext,
  basePrimarySnapshotId: string,
  primarySnapshotId: string,
  volumeSize: number,
): Promise<DeltaMap | undefined> {
  const present = DeltaMap.empty(volumeBlocks(volumeSize));
  try {
    for await (const changed of ctx.primary.reader.listChangedBlocks(basePrimarySnapshotId, primarySnapshotId)) present.add(changed.blockIndex);
  } catch (error) {
    if (error instanceof UnrelatedSnapshotsError) return undefined;
    throw error;
  }
  return present;
}

// ── the copy: CopySegment items and CompleteSnapshot of the target ─────────────────────

/**
 * One Map item of a delta restore: copies the blocks of `R` in `segment` from `S_k` into the
 * target (a block `S_k` does not list, or beyond its size, is written as zeros) through the
 * shared {@link copySegmentBlocks}, which persists the digests for the LINEAR aggregate.
 * Idempotent: re-putting a block into a pending snapshot overwrites it.
 *
 * @throws SnapshotNotFoundError when `S_k` was pruned during the copy (the restore fails loudly)
 */
export async function restoreCopySegment(ctx: RestoreContext, rawInput: unknown): Promise<CopySegmentResult> {
  const input = restoreCopySegmentInputSchema.parse(rawInput);
  // The run map is read per segment: a map sized to cover this segment is enough.
  const coveringBlocks = Math.min(MAX_VOLUME_BLOCKS, (input.segment + 1) * BLOCKS_PER_SEGMENT);
  const blocks = await ctx.store.readRunMap(input.volumeId, input.runId, RESTORE_PLAN_MAP, input.segment, coveringBlocks);
  return copySegmentBlocks(
    { store: ctx.store, reader: ctx.secondary.reader, writer: ctx.primary.writer, logger: ctx.logger, blockWorkers: ctx.tuning.blockWorkers },
    { volumeId: input.volumeId, runId: input.runId, segment: input.segment, blocks, sourceSnapshotId: input.sourceSnapshotId, targetSnapshotId: input.targetSnapshotId },
  );
}

/**
 * CompleteSnapshot of the restore's target (on the primary side) with the LINEAR aggregate over
 * the digests the Map items persisted; `expectedBlocks` (`|R|`) guards against a missing segment.
 * Answers the shared CompleteSnapshot task's shape; then wait with SnapshotStatus (side primary).
 *
 * @throws DigestsIncompleteError when a segment's copy is missing
 */
export async function restoreCompleteTarget(ctx: RestoreContext, rawInput: unknown): Promise<{ snapshotId: string; state: SnapshotState }> {
  const input = restoreCompleteTargetInputSchema.parse(rawInput);
  const state = await completeSnapshotFromDigests(
    { store: ctx.store, writer: ctx.primary.writer, waiter: ctx.primary.waiter },
    { volumeId: input.volumeId, runId: input.runId, snapshotId: input.snapshotId, expectedBlocks: input.expectedBlocks },
  );
  if (state === 'error') {
    throw new SnapshotFailedError(input.snapshotId, 'the restore target failed its checksum or timed out', { volumeId: input.volumeId });
  }
  return { snapshotId: input.snapshotId, state };
}

// ── RestoreCreateVolume ──────────────────────────────────────────────────────────────────

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
export async function restoreCreateVolume(ctx: RestoreContext, rawInput: unknown): Promise<RestoreCreateVolumeOutput> {
  const input = restoreCreateVolumeInputSchema.parse(rawInput);
  const volumes = input.mode === 'full' ? (ctx.secondary.volumes ?? ctx.primary.volumes) : ctx.primary.volumes;
  const { availabilityZone } = input.like;
  if (input.newVolumeId !== undefined) {
    const existing = await volumes.describeVolume(input.newVolumeId);
    return { status: existing.state === 'creating' ? 'IN_PROGRESS' : 'COMPLETED', newVolumeId: existing.volumeId, availabilityZone };
  }
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
export async function restoreSwap(ctx: RestoreContext, rawInput: unknown): Promise<RestoreSwapOutput> {
  const input = restoreSwapInputSchema.parse(rawInput);
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

// ── RestoreReport ────────────────────────────────────────────────────────────────────────

export interface RestoreReport {
  readonly volumeId: string;
  readonly runId: string;
  readonly mode?: 'delta' | 'full';
  readonly newVolumeId?: string;
  readonly restorePoint?: { seq: number; pointInTime: string; trust: 'trusted' | 'suspect' };
  /** Blocks the copy wrote into the target (a full restore writes none). */
  readonly blocksWritten: number;
  /** `|R|`: what a delta restore had to write. */
  readonly planBlocks: number;
  /** Allocated blocks of the snapshot the new volume came from: what a full copy would have written. */
  readonly volumeBlocksAllocated: number;
  readonly swapped: boolean;
  readonly refused?: Refusal;
}

/**
 * Summarizes the run for `status` and the CLI. A refused run (the Catch of `RestoreBegin`) reports
 * only why; a restore reports what it wrote against what a full copy would have.
 */
export async function restoreReport(ctx: RestoreContext, rawInput: unknown): Promise<RestoreReport> {
  const input = restoreReportInputSchema.parse(rawInput);
  const { volumeId, runId } = input;
  if (input.refused !== undefined || input.restorePoint === undefined) {
    const refused: RestoreReport = { volumeId, runId, blocksWritten: 0, planBlocks: 0, volumeBlocksAllocated: 0, swapped: false, refused: input.refused };
    await recordRefusal(ctx, refused);
    return refused;
  }
  const blocksWritten = (input.copied ?? []).reduce((sum, item) => sum + item.blocksWritten, 0);
  const reader = input.mode === 'full' ? ctx.secondary.reader : ctx.primary.reader;
  let volumeBlocksAllocated = 0;
  if (input.snapshotId !== undefined) {
    for await (const _block of reader.listBlocks(input.snapshotId)) volumeBlocksAllocated += 1;
  }
  const { seq, pointInTime, trust } = input.restorePoint;
  const report: RestoreReport = {
    volumeId,
    runId,
    mode: input.mode,
    newVolumeId: input.newVolumeId,
    restorePoint: { seq, pointInTime, trust },
    blocksWritten,
    planBlocks: input.planBlocks ?? 0,
    volumeBlocksAllocated,
    swapped: input.swapped === true,
  };
  // The run's plan and digests served the copy only; the snapshots and the volume stay.
  await ctx.store.deleteRunItems(volumeId, runId);
  // What `status` shows of the run; rewriting the same record on a retry is harmless.
  await ctx.store.putJobRecord(volumeId, { runId, job: 'restore', status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(), summary: toJson(report) });
  ctx.logger.info('restore done', { ...report.restorePoint, newVolumeId: report.newVolumeId, blocksWritten, volumeBlocksAllocated });
  return report;
}

/** Records a refusal where `status` shows it; an unprotected volume has nowhere to keep it. */
async function recordRefusal(ctx: RestoreContext, report: RestoreReport): Promise<void> {
  try {
    await ctx.store.putJobRecord(report.volumeId, {
      runId: report.runId,
      job: 'restore',
      status: 'failed',
      at: new Date(ctx.clock.now()).toISOString(),
      errorName: report.refused?.error,
      message: report.refused?.message,
    });
  } catch (error) {
    if (!(error instanceof VolumeNotProtectedError)) throw error;
  }
}

/** The report as a stored JSON value (absent fields dropped, as DynamoDB would). */
function toJson(report: RestoreReport): JsonValue {
  return JSON.parse(JSON.stringify(report)) as JsonValue;
}

/** The `refused` field of a report, from an error the Catch handed over. */
export function refusalOf(error: unknown): Refusal {
  return error instanceof Error ? { error: error.name, message: error.message } : { error: 'Error', message: String(error) };
}

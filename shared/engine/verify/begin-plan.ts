/**
 * `VerifyBegin` and `VerifyPlan` (ARCHITECTURE.md "Verify", step 1, claims 3–6 and 17–18):
 * `P0` at `T0`, then `D0 = changes(P_head → P0)` (the present delta map) and the quick scope,
 * persisted per segment for the Map state.
 */
import type { ChainEntry } from '../../core/chain-entry';
import { DeltaMap } from '../../core/delta-map';
import { segmentCount } from '../../core/constants';
import { PitMap } from '../../core/pit-map';
import type { VerifyRun } from '../../core/ports/chain-store';
import { SnapshotNotFoundError, VerifyRunNotFoundError } from '../../core/ports/errors';
import { PURPOSE_TAG, VERIFY_RUN_TAG } from '../../core/tags';
import type { EngineContext } from '../context';
import { NothingToVerifyError, SnapshotNotReadyError, VerifyBaseMovedError } from '../errors';
import { presentDeltaMap } from '../tasks/present-delta-map';
import { iso, PLANNED, plannedSegments } from './common';
import { allSegments, writeVerifyMap } from './maps';
import type { VerifyBeginOutput, VerifyPlanOutput } from './outputs';
import type { VerifyBeginInput, VerifyPlanInput } from './schemas';

/**
 * Attempts at listing `D0` while syncs keep deleting its base: each commit replaces the base, and a
 * sync takes minutes, so a third consecutive loss means something else deletes our snapshots.
 */
const BASE_LIST_ATTEMPTS = 3;

/**
 * `VerifyBegin` (step 1): takes `P0` at `T0` and records the verify run. A rerun returns the
 * recorded run, or finds the `P0` it already took by its run tag.
 *
 * @throws NothingToVerifyError when nothing is committed yet
 * @example
 * const begun = await verifyBegin(ctx, { volumeId, runId, quick: false });
 * // wait for begun.primarySnapshotId (SnapshotStatus, side primary), then verifyPlan
 */
export async function verifyBegin(ctx: EngineContext, input: VerifyBeginInput): Promise<VerifyBeginOutput> {
  const { volumeId, runId, quick } = input;
  const recorded = await findRun(ctx, volumeId, runId);
  if (recorded !== undefined) return beginOutput(volumeId, recorded);
  const volume = await ctx.store.getVolume(volumeId);
  if (volume.headSeq === undefined) {
    throw new NothingToVerifyError(`volume ${volumeId} has no restore point yet: run a sync before verifying`, { volumeId });
  }
  const runTag = { key: VERIFY_RUN_TAG, value: runId };
  const [taken] = await ctx.primary.lookup.findOwned([runTag]);
  const t0 = taken?.startTime ?? iso(ctx.clock.now());
  const p0 =
    taken?.snapshotId ??
    (await ctx.primary.snapshots.takeSnapshot(volumeId, {
      tags: [runTag, { key: PURPOSE_TAG, value: 'verify' }],
      description: `ebs-cdp verify ${runId}: P0 of ${volumeId}`,
    }));
  const run: VerifyRun = { runId, t0, p0, headSeqAtT0: volume.headSeq, quick, status: 'scanning', counts: {} };
  await ctx.store.putVerifyRun(volumeId, run);
  ctx.logger.info('verify begun', { volumeId, runId, snapshotId: p0, headSeq: volume.headSeq, quick });
  return beginOutput(volumeId, run);
}

/**
 * `VerifyPlan` (step 1, claims 3–4): `D0 = changes(P_head → P0)`, persisted per segment with the
 * quick scope, and the segments the Map state scans. A rerun returns the persisted plan.
 *
 * If a sync committed since `T0` and deleted `P_head`, `D0` is listed from the current base
 * instead and united with the delta maps committed since: a superset of `D0`, which only leaves
 * more blocks pending (never compares a block whose version moved).
 *
 * @throws SnapshotNotReadyError when `P0` is not completed (the wait loop should run first)
 */
export async function verifyPlan(ctx: EngineContext, input: VerifyPlanInput): Promise<VerifyPlanOutput> {
  const { volumeId, runId } = input;
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  if (run.counts[PLANNED] === 1) return { volumeId, runId, segments: await plannedSegments(ctx, volumeId, run), pendingBlocks: run.counts.pendingBlocks ?? 0 };
  const status = await ctx.primary.waiter.status(run.p0);
  if (status.state !== 'completed') {
    throw new SnapshotNotReadyError(`P0 ${run.p0} is ${status.state}: wait for it before planning the verify`, { volumeId, snapshotId: run.p0 });
  }
  const head = await ctx.store.getEntry(volumeId, run.headSeqAtT0);
  const present = await listPendingDeltaMap(ctx, volumeId, run);
  const pitMap = PitMap.against(head, present);
  const blocks = pitMap.volumeBlocks;
  let segments = allSegments(segmentCount(blocks));
  let quickBlocks: number | undefined;
  if (run.quick) {
    const quickScope = await dirtyRegions(ctx, volumeId, head, blocks);
    const regions = quickScope.subtract(present);
    await writeVerifyMap(ctx.store, volumeId, runId, 'quick', regions);
    segments = regions.segmentIndexes();
    quickBlocks = regions.size;
  }
  await writeVerifyMap(ctx.store, volumeId, runId, 'present', present);
  const counts: Record<string, number> = { volumeBlocks: blocks, segments: segments.length, pendingBlocks: present.size, [PLANNED]: 1 };
  if (quickBlocks !== undefined) counts.quickBlocks = quickBlocks;
  await ctx.store.putVerifyRun(volumeId, { ...run, counts });
  ctx.logger.info('verify planned', { volumeId, runId, segments: segments.length, pendingBlocks: present.size, quickBlocks });
  return { volumeId, runId, segments, pendingBlocks: present.size };
}

async function findRun(ctx: EngineContext, volumeId: string, runId: string): Promise<VerifyRun | undefined> {
  try {
    return await ctx.store.getVerifyRun(volumeId, runId);
  } catch (error) {
    if (error instanceof VerifyRunNotFoundError) return undefined;
    throw error;
  }
}

function beginOutput(volumeId: string, run: VerifyRun): VerifyBeginOutput {
  return { volumeId, runId: run.runId, quick: run.quick, primarySnapshotId: run.p0, t0: run.t0, headSeq: run.headSeqAtT0 };
}

/**
 * `D0 = changes(P_head → P0)`, sized to `P0`'s volume. Listed from the volume's current base
 * primary snapshot and united with the delta maps committed after the head at `T0` (nothing when
 * no sync committed since, the usual case).
 */
async function listPendingDeltaMap(ctx: EngineContext, volumeId: string, run: VerifyRun): Promise<DeltaMap> {
  let lastError: unknown;
  for (let attempt = 0; attempt < BASE_LIST_ATTEMPTS; attempt++) {
    const volume = await ctx.store.getVolume(volumeId);
    const base = volume.basePrimarySnapshotId;
    if (base === undefined) throw new NothingToVerifyError(`volume ${volumeId} has no base primary snapshot: run a sync first`, { volumeId });
    const since: ChainEntry[] = [];
    for await (const entry of ctx.store.readChain(volumeId, { fromSeq: run.headSeqAtT0 + 1 })) if (entry.status === 'committed') since.push(entry);
    try {
      const present = (await presentDeltaMap(ctx.primary.reader, base, run.p0)).deltaMap;
      const blocks = present.volumeBlocks;
      for (const entry of since) entry.deltaMap.forEach((blockIndex) => blockIndex < blocks && present.add(blockIndex));
      return present;
    } catch (error) {
      if (!(error instanceof SnapshotNotFoundError) || error.snapshotId === run.p0) throw error;
      lastError = error;
    }
  }
  throw new VerifyBaseMovedError(
    `verify ${run.runId} of ${volumeId}: the base primary snapshot was deleted ${BASE_LIST_ATTEMPTS} times while D0 was listed; retry the plan`,
    { volumeId, cause: lastError },
  );
}

/**
 * The quick verify's regions, sized to `P0`'s volume: the head restore point's delta map, united
 * with the live DRL if a sync crashed (see the module comment for why both).
 */
async function dirtyRegions(ctx: EngineContext, volumeId: string, head: ChainEntry, blocks: number): Promise<DeltaMap> {
  const regions = DeltaMap.empty(blocks);
  head.deltaMap.forEach((blockIndex) => blockIndex < blocks && regions.add(blockIndex));
  const live = await ctx.store.readDirtyRegionLog(volumeId);
  live?.deltaMap.forEach((blockIndex) => blockIndex < blocks && regions.add(blockIndex));
  return regions;
}

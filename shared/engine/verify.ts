/**
 * The Verify job (claims 1–11; ARCHITECTURE.md "Verify"): one exported function per task of the
 * state machine, each taking the engine context and a small JSON input, each idempotent. The
 * chain algebra (PIT map, `C`, `SD`, `C'`, suspect walk) is in `shared/core`; this module does
 * the I/O around it.
 *
 * ```
 * VerifyBegin ─► wait(P0) ─► VerifyPlan ─► Map(VerifyScanSegment) ─► VerifyFinishScan ─┬─ clean ──► VerifyReport
 *   T0: P0        completed   D0, PIT map    C per segment            T1: SD, C', walk  └─ repair ─► fix-up (sync
 *                                                                     marks (lease)          pipeline, extraFromRun)
 *                                                                                             ─► VerifyReport
 * ├─────────────────────── scan interval (T0, T1]: syncs keep committing ───────────┤
 * ```
 *
 * Quick verify (`quick: true`, claims 5–6 and 17–18) limits the scan to the dirty regions:
 * the delta map of the head restore point (the blocks the last sync wrote into the secondary,
 * i.e. the newest and so the least verified copies), united with the live dirty region log when a
 * sync crashed (the regions modified but not yet committed, the claims' literal reading). In this
 * snapshot model the DRL's blocks are nearly always pending in `D0` (they changed since `P_head`),
 * so what a quick verify reads in practice is `D_head − D0`; the crashed sync's own snapshot is
 * checked against the DRL by the sync's recovery (adopt or discard), not here.
 */
import { DeltaMap } from '../core/delta-map';
import type { ChainEntry } from '../core/chain-entry';
import { BLOCKS_PER_SEGMENT, segmentCount } from '../core/constants';
import { ChainInvariantError } from '../core/errors';
import { PitMap } from '../core/pit-map';
import type { JsonValue, VerifyRun } from '../core/ports/chain-store';
import { revisedCompareMap, scanDeltaMap, scanIntervalSuspects, suspectWalk, type SuspectMark } from '../core/verify-plan';
import { SnapshotNotFoundError, VerifyRunNotFoundError } from '../core/ports/errors';
import type { EngineContext } from './context';
import { FixupMissingError, NothingToVerifyError, ScanIncompleteError, SnapshotNotReadyError, VerifyBaseMovedError } from './errors';
import { allSegments, readVerifyMap, writeVerifyMap, writeVerifySegment } from './verify-maps';
import { scanSegment } from './verify-scan';
import { PURPOSE_TAG, VERIFY_RUN_TAG } from '../core/tags';
import {
  verifyBeginInputSchema,
  verifyFinishScanInputSchema,
  verifyPlanInputSchema,
  verifyReportInputSchema,
  verifyScanSegmentInputSchema,
  type VerifyBeginInput,
  type VerifyFinishScanInput,
  type VerifyPlanInput,
  type VerifyReportInput,
  type VerifyScanSegmentInput,
} from './verify-schemas';


/**
 * Attempts at listing `D0` while syncs keep deleting its base: each commit replaces the base, and a
 * sync takes minutes, so a third consecutive loss means something else deletes our snapshots.
 */
const BASE_LIST_ATTEMPTS = 3;

/** Mismatched block indexes quoted in a report; the full set stays in the chain store. */
const REPORT_BLOCK_SAMPLE = 100;

/** `counts` key set once the plan is persisted: later tasks refuse to run before it. */
const PLANNED = 'planned';

// ── outputs ──────────────────────────────────────────────────────────────────────────────

/** `VerifyBegin`'s answer: wait for `primarySnapshotId` (side `primary`) before the plan. */
export interface VerifyBeginOutput {
  readonly volumeId: string;
  readonly runId: string;
  readonly quick: boolean;
  /** `P0`. */
  readonly primarySnapshotId: string;
  readonly t0: string;
  /** The head restore point at `T0`, whose secondary snapshot is compared. */
  readonly headSeq: number;
}

/** `VerifyPlan`'s answer: the Map state's items. */
export interface VerifyPlanOutput {
  readonly volumeId: string;
  readonly runId: string;
  readonly segments: number[];
  /** `|D0|`: blocks pending at `T0`, not compared. */
  readonly pendingBlocks: number;
}

/** One Map item's answer. */
export interface VerifyScanSegmentOutput {
  readonly segment: number;
  /** Blocks compared. */
  readonly scanned: number;
  /** Blocks whose two versions differed. */
  readonly mismatches: number;
}

/** `VerifyFinishScan`'s answer: `repair` sends the state machine into the fix-up. */
export interface VerifyFinishScanOutput {
  readonly volumeId: string;
  readonly runId: string;
  readonly outcome: 'clean' | 'repair';
  /** `|C|`. */
  readonly mismatches: number;
  /** `|C'|`: what the fix-up copies besides `HC`. */
  readonly revised: number;
  /** `|C ∩ SD|`: bad blocks a sync already rewrote during the scan (not copied again). */
  readonly rewrittenDuringScan: number;
  /** Restore points marked suspect, ascending seq, with their bad-block counts. */
  readonly suspectPoints: SuspectMark[];
  /** Blocks bad back to the baseline that no entry wrote: damage outside the method's model. */
  readonly residual: number;
  readonly t1: string;
  /** When `repair`: the lease this run holds, for the fix-up to present (it stays held so no sync commits before the fix-up). */
  readonly fencingToken?: number;
}

/** The final result of a verify run. */
export interface VerifyReport {
  readonly volumeId: string;
  readonly runId: string;
  readonly quick: boolean;
  readonly outcome: 'clean' | 'repaired';
  readonly t0: string;
  readonly t1: string;
  readonly headSeqAtT0: number;
  /** Blocks compared across all segments. */
  readonly blocksScanned: number;
  /** `|D0|`: pending at `T0`, left to the next sync. */
  readonly pendingBlocks: number;
  readonly mismatches: number;
  readonly rewrittenDuringScan: number;
  /** Blocks the fix-up repaired (`|C'|`). */
  readonly fixed: number;
  readonly fixupSeq?: number;
  readonly suspectPoints: SuspectMark[];
  readonly residual: number;
  /** The first mismatched block indexes, ascending. */
  readonly mismatchedBlocks: number[];
}

// ── tasks ────────────────────────────────────────────────────────────────────────────────

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
  const { volumeId, runId, quick } = verifyBeginInputSchema.parse(input);
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
  const { volumeId, runId } = verifyPlanInputSchema.parse(input);
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  if (run.counts[PLANNED] === 1) return { volumeId, runId, segments: await plannedSegments(ctx, volumeId, run), pendingBlocks: run.counts.pendingBlocks ?? 0 };
  const status = await ctx.primary.waiter.status(run.p0);
  if (status.state !== 'completed') {
    throw new SnapshotNotReadyError(`P0 ${run.p0} is ${status.state}: wait for it before planning the verify`, { volumeId, snapshotId: run.p0 });
  }
  const head = await ctx.store.getEntry(volumeId, run.headSeqAtT0);
  const present = await listPresentDeltaMap(ctx, volumeId, run);
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

/**
 * `VerifyScanSegment` (step 2, claims 1–2 and 4–6): one Map item. Compares `P0` with `S_head` on
 * every block of the segment in scope and writes the segment's compare shard. Needs no lease:
 * both snapshots are immutable. A rerun rewrites the same shards.
 */
export async function verifyScanSegment(ctx: EngineContext, input: VerifyScanSegmentInput): Promise<VerifyScanSegmentOutput> {
  const { volumeId, runId, segment } = verifyScanSegmentInputSchema.parse(input);
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  const blocks = plannedVolumeBlocks(volumeId, run);
  const head = await ctx.store.getEntry(volumeId, run.headSeqAtT0);
  const present = (await readVerifyMap(ctx.store, volumeId, runId, 'present', blocks)).deltaMap;
  const dirty = run.quick ? (await readVerifyMap(ctx.store, volumeId, runId, 'quick', blocks)).deltaMap : undefined;
  const { scope, compare } = await scanSegment({
    volumeId,
    segment,
    primaryReader: ctx.primary.reader,
    secondaryReader: ctx.secondary.reader,
    primarySnapshotId: run.p0,
    secondarySnapshotId: head.secondarySnapshotId,
    pitMap: PitMap.against(head, present),
    dirtyRegionLog: dirty,
    concurrency: ctx.tuning.blockWorkers,
  });
  // Scope first: the compare shard is what marks the segment scanned.
  await writeVerifySegment(ctx.store, volumeId, runId, 'scope', segment, scope);
  await writeVerifySegment(ctx.store, volumeId, runId, 'compare', segment, compare);
  ctx.logger.info('verify segment scanned', { volumeId, runId, segment, scanned: scope.size, mismatches: compare.size });
  return { segment, scanned: scope.size, mismatches: compare.size };
}

/**
 * `VerifyFinishScan` (steps 3 and 5, claims 7–9 and 11): at `T1`, `SD` (delta maps committed
 * during the scan), `C' = C − SD` persisted for the fix-up, the suspect walk from `C` plus the
 * entries committed during the scan, marked under the volume lease.
 *
 * The lease is taken before `T1`, so no sync commits between `T1` and the fix-up: an entry
 * committed there would inherit the bad blocks of `C'` unmarked. On `repair` the lease stays held
 * for the fix-up (same run, same fencing token); on `clean` it is released.
 *
 * The walk and `SD` are anchored on the head restore point at `T0` (the one whose snapshot the
 * scan compared) through its `committedAt`, not the wall-clock `T0`: a commit stamps its time
 * before it becomes visible, so wall-clock times cannot order it against the head read at `T0`.
 *
 * @throws ScanIncompleteError when a planned segment has no compare shard yet
 * @throws VolumeBusyError when a sync holds the lease (Step Functions retries)
 */
export async function verifyFinishScan(ctx: EngineContext, input: VerifyFinishScanInput): Promise<VerifyFinishScanOutput> {
  const { volumeId, runId } = verifyFinishScanInputSchema.parse(input);
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  if (run.status !== 'scanning') return finishOf(volumeId, run);
  const blocks = plannedVolumeBlocks(volumeId, run);
  const planned = await plannedSegments(ctx, volumeId, run);
  const compareState = await readVerifyMap(ctx.store, volumeId, runId, 'compare', blocks);
  const scanned = new Set(compareState.segments);
  const missing = planned.filter((segment) => !scanned.has(segment));
  if (missing.length > 0) {
    throw new ScanIncompleteError(
      `verify ${runId} of ${volumeId}: segments ${missing.join(', ')} were not scanned yet; run their VerifyScanSegment items first`,
      { volumeId, segment: missing[0] },
    );
  }
  const lease = await ctx.store.acquireLease(volumeId, { holder: runId, runId, ttlMs: ctx.tuning.leaseTtlMs, now: ctx.clock.now() });
  const t1 = iso(ctx.clock.now());
  const chain = await readCommittedChain(ctx, volumeId);
  const anchor = chain.find((entry) => entry.seq === run.headSeqAtT0)?.committedAt;
  if (anchor === undefined) {
    throw new ChainInvariantError(`verify ${runId}: restore point ${run.headSeqAtT0}, compared by the scan, left the chain during it`, {
      volumeId,
      seq: run.headSeqAtT0,
    });
  }
  const compare = compareState.deltaMap;
  const revised = revisedCompareMap(compare, scanDeltaMap(chain, anchor, t1, blocks));
  const walk = suspectWalk(chain, compare, anchor);
  if (!compare.isEmpty() && walk.startSeq !== run.headSeqAtT0) {
    throw new ChainInvariantError(`verify ${runId}: the suspect walk would start at ${walk.startSeq}, not at the compared restore point ${run.headSeqAtT0}`, {
      volumeId,
      seq: run.headSeqAtT0,
    });
  }
  const marks = [...walk.marks, ...scanIntervalSuspects(chain, compare, anchor, t1)].sort((a, b) => a.seq - b.seq);
  if (marks.length > 0) await ctx.store.markSuspect(volumeId, marks, lease);
  await writeVerifyMap(ctx.store, volumeId, runId, 'revised', revised);
  const outcome = revised.isEmpty() ? 'clean' : 'repair';
  const finish: VerifyFinishScanOutput = {
    volumeId,
    runId,
    outcome,
    mismatches: compare.size,
    revised: revised.size,
    rewrittenDuringScan: compare.size - revised.size,
    suspectPoints: marks,
    residual: walk.residual.size,
    t1,
    fencingToken: outcome === 'repair' ? lease.fencingToken : undefined,
  };
  await ctx.store.putVerifyRun(volumeId, {
    ...run,
    status: outcome === 'clean' ? 'clean' : 'fixing',
    counts: { ...run.counts, mismatches: compare.size, revised: revised.size, suspectPoints: marks.length, residual: walk.residual.size },
    result: { finish: toJson(finish) },
  });
  if (outcome === 'clean') await ctx.store.releaseLease(volumeId, lease);
  ctx.logger.info('verify scan finished', { volumeId, runId, outcome, mismatches: compare.size, revised: revised.size, suspectPoints: marks.length });
  if (walk.residual.size > 0) {
    ctx.logger.warn('verify found bad blocks no restore point wrote', { volumeId, runId, residual: walk.residual.size });
  }
  return finish;
}

/**
 * `VerifyReport`: the final result. After a repair, checks that the fix-up entry (`fixupSeq`, or
 * the first `fixup` entry committed after `T1`) covers `C'`. Deletes `P0` (only the base primary
 * snapshot is kept) and records the report in the run. A rerun returns the recorded report.
 *
 * @throws FixupMissingError when a repairing run has no fix-up entry covering `C'`
 */
export async function verifyReport(ctx: EngineContext, input: VerifyReportInput): Promise<VerifyReport> {
  const { volumeId, runId, fixupSeq } = verifyReportInputSchema.parse(input);
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  const recorded = recordedReport(run);
  if (recorded !== undefined) return recorded;
  const finish = finishOf(volumeId, run);
  const blocks = plannedVolumeBlocks(volumeId, run);
  const compare = (await readVerifyMap(ctx.store, volumeId, runId, 'compare', blocks)).deltaMap;
  const scope = (await readVerifyMap(ctx.store, volumeId, runId, 'scope', blocks)).deltaMap;
  let fixup: ChainEntry | undefined;
  if (finish.outcome === 'repair') {
    const revised = (await readVerifyMap(ctx.store, volumeId, runId, 'revised', blocks)).deltaMap;
    fixup = await findFixup(ctx, volumeId, runId, finish.t1, fixupSeq);
    const uncovered = revised.subtract(fixup.deltaMap);
    if (!uncovered.isEmpty()) {
      throw new FixupMissingError(
        `verify ${runId}: fix-up entry ${fixup.seq} does not copy ${uncovered.size} block(s) of C' (first ${uncovered.toArray()[0]}); run the fix-up again`,
        { volumeId, seq: fixup.seq },
      );
    }
  }
  await ctx.primary.snapshots.deleteSnapshot(run.p0);
  const report: VerifyReport = {
    volumeId,
    runId,
    quick: run.quick,
    outcome: finish.outcome === 'repair' ? 'repaired' : 'clean',
    t0: run.t0,
    t1: finish.t1,
    headSeqAtT0: run.headSeqAtT0,
    blocksScanned: scope.size,
    pendingBlocks: run.counts.pendingBlocks ?? 0,
    mismatches: finish.mismatches,
    rewrittenDuringScan: finish.rewrittenDuringScan,
    fixed: fixup === undefined ? 0 : finish.revised,
    fixupSeq: fixup?.seq,
    suspectPoints: finish.suspectPoints,
    residual: finish.residual,
    mismatchedBlocks: compare.toArray().slice(0, REPORT_BLOCK_SAMPLE),
  };
  await ctx.store.putVerifyRun(volumeId, {
    ...run,
    status: report.outcome,
    counts: { ...run.counts, blocksScanned: report.blocksScanned, fixed: report.fixed },
    result: { finish: toJson(finish), report: toJson(report) },
  });
  ctx.logger.info('verify reported', { volumeId, runId, outcome: report.outcome, fixed: report.fixed, fixupSeq: report.fixupSeq });
  return report;
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
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

/** `P0`'s volume in blocks, as the plan recorded it. @throws StepOrderError before the plan. */
function plannedVolumeBlocks(volumeId: string, run: VerifyRun): number {
  const blocks = run.counts.volumeBlocks;
  if (run.counts[PLANNED] !== 1 || blocks === undefined) {
    throw new SnapshotNotReadyError(`verify ${run.runId} of ${volumeId} has no plan yet: run VerifyPlan (after P0 completed) first`, { volumeId });
  }
  return blocks;
}

/** The segments the plan handed to the Map state: every segment, or those of the quick scope. */
async function plannedSegments(ctx: EngineContext, volumeId: string, run: VerifyRun): Promise<number[]> {
  const blocks = plannedVolumeBlocks(volumeId, run);
  if (!run.quick) return allSegments(segmentCount(blocks));
  return (await readVerifyMap(ctx.store, volumeId, run.runId, 'quick', blocks)).deltaMap.segmentIndexes();
}

/** The committed chain, ascending. */
async function readCommittedChain(ctx: EngineContext, volumeId: string): Promise<ChainEntry[]> {
  const chain: ChainEntry[] = [];
  for await (const entry of ctx.store.readChain(volumeId)) if (entry.status === 'committed') chain.push(entry);
  return chain;
}

/**
 * `D0 = changes(P_head → P0)`, sized to `P0`'s volume. Listed from the volume's current base
 * primary snapshot and united with the delta maps committed after the head at `T0` (nothing when
 * no sync committed since, the usual case).
 */
async function listPresentDeltaMap(ctx: EngineContext, volumeId: string, run: VerifyRun): Promise<DeltaMap> {
  let lastError: unknown;
  for (let attempt = 0; attempt < BASE_LIST_ATTEMPTS; attempt++) {
    const volume = await ctx.store.getVolume(volumeId);
    const base = volume.basePrimarySnapshotId;
    if (base === undefined) throw new NothingToVerifyError(`volume ${volumeId} has no base primary snapshot: run a sync first`, { volumeId });
    const since: ChainEntry[] = [];
    for await (const entry of ctx.store.readChain(volumeId, { fromSeq: run.headSeqAtT0 + 1 })) if (entry.status === 'committed') since.push(entry);
    try {
      const first = await ctx.primary.reader.changedBlocksOfSegment(base, run.p0, 0);
      const blocks = first.deltaMap.volumeBlocks;
      const present = first.deltaMap.clone();
      if (blocks > BLOCKS_PER_SEGMENT) {
        for await (const changed of ctx.primary.reader.listChangedBlocks(base, run.p0, { start: BLOCKS_PER_SEGMENT, end: blocks })) {
          present.add(changed.blockIndex);
        }
      }
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

/** The fix-up entry of a repairing run. */
async function findFixup(ctx: EngineContext, volumeId: string, runId: string, t1: string, fixupSeq: number | undefined): Promise<ChainEntry> {
  if (fixupSeq !== undefined) {
    const entry = await ctx.store.getEntry(volumeId, fixupSeq);
    if (entry.kind !== 'fixup' || entry.status !== 'committed') {
      throw new FixupMissingError(`verify ${runId}: entry ${fixupSeq} is a ${entry.status} ${entry.kind} entry, not a committed fix-up`, { volumeId, seq: fixupSeq });
    }
    return entry;
  }
  const after = Date.parse(t1);
  for (const entry of await readCommittedChain(ctx, volumeId)) {
    if (entry.kind === 'fixup' && entry.committedAt !== undefined && Date.parse(entry.committedAt) > after) return entry;
  }
  throw new FixupMissingError(`verify ${runId} of ${volumeId} needs a repair but no fix-up entry was committed after ${t1}: run the fix-up`, { volumeId });
}

function toJson(value: object): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What VerifyFinishScan recorded. @throws ScanIncompleteError when it has not run yet. */
function finishOf(volumeId: string, run: VerifyRun): VerifyFinishScanOutput {
  const finish = isRecord(run.result) ? run.result.finish : undefined;
  if (!isRecord(finish)) {
    throw new ScanIncompleteError(`verify ${run.runId} of ${volumeId} has not finished its scan: run VerifyFinishScan first`, { volumeId });
  }
  return finish as unknown as VerifyFinishScanOutput;
}

function recordedReport(run: VerifyRun): VerifyReport | undefined {
  const report = isRecord(run.result) ? run.result.report : undefined;
  return isRecord(report) ? (report as unknown as VerifyReport) : undefined;
}


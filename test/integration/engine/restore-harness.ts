/**
 * The Restore job's suites on the shared engine harness (emulator + dynalite on loopback, an engine
 * context over real HTTP), with a workload that writes the primary volume while keeping the image
 * each restore point must restore to, and drivers that run the Sync and Restore jobs' tasks in
 * their state machines' order (the Wait/Choice loops as bounded polls).
 */
import { DeltaMap } from '../../../shared/core/delta-map';
import type { EngineContext } from '../../../shared/engine/context';
import { completeSnapshot, copySegment, snapshotStatus, syncBegin, syncCommit, syncPlan } from '../../../shared/engine/sync';
import {
  restoreBegin,
  restoreCompleteTarget,
  restoreCopySegment,
  restoreCreateVolume,
  restorePlanStep,
  restoreReport,
  restoreSwap,
  type RestoreBeginOutput,
  type RestoreContext,
  type RestoreCreateVolumeOutput,
  type RestorePlanOutput,
  type RestoreReport,
  type RestoreSwapOutput,
} from '../../../shared/engine/restore';
import { patternBlock, sha256Hex, startEngineHarness, ZERO_BLOCK_HEX, ZONE, type EngineHarness } from './engine-harness';

export { ZONE };

/** The adapters' bounded waits poll this often: the emulator answers at once. */
const POLL_INTERVAL_MS = 5;


export interface RestoreHarness {
  /** The shared engine harness: emulator, dynalite, the engine context and a movable clock. */
  readonly engine: EngineHarness;
  readonly cloud: EngineHarness['cloud'];
  readonly context: EngineContext;
  /** The context the restore steps take (the engine context: it has the primary-side writer). */
  readonly restore: RestoreContext;
  stop(): Promise<void>;
}

/** The shared engine harness; its context already carries the primary-side writer a delta restore needs. */
export async function startRestoreHarness(): Promise<RestoreHarness> {
  const engine = await startEngineHarness();
  const { cloud, context } = engine;
  return { engine, cloud, context, restore: context, stop: () => engine.stop() };
}

// ── the workload ─────────────────────────────────────────────────────────────────────────

/** A primary volume on an instance, and the image it holds (block → sha256 hex of non-zero blocks). */
export interface Workload {
  readonly volumeId: string;
  readonly instanceId: string;
  /** The current image: only non-zero blocks. */
  readonly image: Map<number, string>;
  /** Every block ever written or trimmed: outside it, every image reads zeros. */
  readonly touched: Set<number>;
  write(blocks: readonly number[], seed: number): Promise<void>;
  trim(blocks: readonly number[]): Promise<void>;
}

/** Creates a gp3 primary volume attached to a running instance, and protects it. */
export async function startWorkload(harness: RestoreHarness, volumeSize: number): Promise<Workload> {
  const { model } = harness.cloud;
  const volume = await model.createVolume({ availabilityZone: ZONE, size: volumeSize, volumeType: 'gp3', iops: 4_000, throughput: 250 });
  const instanceId = await model.createInstance({ availabilityZone: ZONE, rootVolume: volume.volumeId });
  await harness.context.store.protectVolume(volume.volumeId, { volumeSize, config: {} });
  const image = new Map<number, string>();
  const touched = new Set<number>();
  return {
    volumeId: volume.volumeId,
    instanceId,
    image,
    touched,
    async write(blocks, seed) {
      for (const blockIndex of blocks) {
        const data = patternBlock(seed * 1_000_003 + blockIndex);
        await model.writeBlock(volume.volumeId, blockIndex, data);
        image.set(blockIndex, sha256Hex(data));
        touched.add(blockIndex);
      }
    },
    async trim(blocks) {
      for (const blockIndex of blocks) {
        await model.trimBlock(volume.volumeId, blockIndex);
        image.delete(blockIndex);
        touched.add(blockIndex);
      }
    },
  };
}

/** Blocks of `volumeId` (in the emulator's EC2 model) that differ from `expected` over `blocks`. */
export async function differingBlocks(
  harness: RestoreHarness,
  volumeId: string,
  expected: ReadonlyMap<number, string>,
  blocks: Iterable<number>,
): Promise<number[]> {
  const differ: number[] = [];
  for (const blockIndex of blocks) {
    const actual = sha256Hex(await harness.cloud.model.readBlock(volumeId, blockIndex));
    if (actual !== (expected.get(blockIndex) ?? ZERO_BLOCK_HEX)) differ.push(blockIndex);
  }
  return differ;
}

// ── the sync steps (stand-in until shared/engine/sync.ts) ────────────────────────────────

/** What one sync committed. */
export interface SyncedPoint {
  readonly seq: number;
  readonly pointInTime: string;
  /** The primary's image at this restore point. */
  readonly image: ReadonlyMap<number, string>;
  readonly deltaMap: DeltaMap;
}

let syncRuns = 0;

/**
 * One sync of the workload's volume through the Sync job's steps, in the state machine's order:
 * SyncBegin, SnapshotStatus(P_now) until COMPLETED, SyncPlan, one CopySegment per segment,
 * CompleteSnapshot, SnapshotStatus(S) until COMPLETED, SyncCommit.
 */
export async function syncOnce(harness: RestoreHarness, workload: Workload): Promise<SyncedPoint> {
  const { context } = harness;
  const { volumeId } = workload;
  syncRuns += 1;
  const runId = `sync-${syncRuns}`;
  const begun = await syncBegin(context, { volumeId, runId });
  await untilCompleted(() => snapshotStatus(context, { volumeId, runId, snapshotId: begun.primarySnapshotId, side: 'primary' }));
  const plan = await syncPlan(context, { volumeId, runId, fencingToken: begun.fencingToken, primarySnapshotId: begun.primarySnapshotId, pointInTime: begun.pointInTime });
  for (const segment of plan.segments) {
    await copySegment(context, {
      volumeId, runId, fencingToken: plan.fencingToken, seq: plan.seq, segment, sourceSnapshotId: plan.primarySnapshotId, targetSnapshotId: plan.secondarySnapshotId,
    });
  }
  await completeSnapshot(context, { volumeId, runId, snapshotId: plan.secondarySnapshotId, expectedBlocks: plan.blocks });
  await untilCompleted(() => snapshotStatus(context, { volumeId, runId, snapshotId: plan.secondarySnapshotId, side: 'secondary' }));
  await syncCommit(context, { volumeId, runId, fencingToken: plan.fencingToken, seq: plan.seq });
  const entry = await context.store.getEntry(volumeId, plan.seq);
  return { seq: entry.seq, pointInTime: entry.pointInTime, image: new Map(workload.image), deltaMap: entry.deltaMap };
}

/** Most looks of a Wait/Choice loop: the emulator completes snapshots at once, so a few suffice. */
const MAX_STATUS_LOOKS = 100;

/** The Wait/Choice loop: looks until COMPLETED (bounded). */
async function untilCompleted(look: () => Promise<{ status: 'IN_PROGRESS' | 'COMPLETED' }>): Promise<void> {
  for (let at = 0; at < MAX_STATUS_LOOKS; at++) {
    if ((await look()).status === 'COMPLETED') return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`still IN_PROGRESS after ${MAX_STATUS_LOOKS} looks`);
}

// ── the restore's copy: the Map of CopySegment items, then CompleteSnapshot and its wait ──

/** What the Map of CopySegment items answers, one element per segment. */
export type CopiedSegments = Array<{ segment: number; blocksWritten: number }>;

/** Runs the plan's Map items in state-machine order, completes the target and waits for it. */
export async function copyAndComplete(
  harness: RestoreHarness,
  args: { volumeId: string; runId: string; sourceSnapshotId: string; targetSnapshotId: string; segments: readonly number[]; blocks: number },
): Promise<CopiedSegments> {
  const { restore } = harness;
  const copied: CopiedSegments = [];
  for (const segment of args.segments) {
    const result = await restoreCopySegment(restore, {
      volumeId: args.volumeId, runId: args.runId, segment, sourceSnapshotId: args.sourceSnapshotId, targetSnapshotId: args.targetSnapshotId, targetSide: 'primary',
    });
    copied.push({ segment: result.segment, blocksWritten: result.blocksWritten });
  }
  await restoreCompleteTarget(restore, { volumeId: args.volumeId, runId: args.runId, snapshotId: args.targetSnapshotId, expectedBlocks: args.blocks, side: 'primary' });
  await untilCompleted(() => snapshotStatus(harness.context, { volumeId: args.volumeId, runId: args.runId, snapshotId: args.targetSnapshotId, side: 'primary' }));
  return copied;
}

// ── the whole job, step by step ──────────────────────────────────────────────────────────

export interface RestoreRun {
  readonly decision: RestoreBeginOutput;
  readonly plan: RestorePlanOutput;
  readonly copied: CopiedSegments;
  readonly volume: RestoreCreateVolumeOutput;
  readonly swap: RestoreSwapOutput;
  readonly report: RestoreReport;
}

let restoreRuns = 0;

/** A run id no other restore of the process uses (the execution name, in Step Functions). */
export function nextRestoreRunId(): string {
  restoreRuns += 1;
  return `restore-${restoreRuns}`;
}

/**
 * Drives the Restore job's tasks in the state machine's order: RestoreBegin, the wait for
 * `P_now` (delta), RestorePlan, the Map of CopySegment + CompleteSnapshot + wait (delta),
 * RestoreCreateVolume until COMPLETED, RestoreSwap, RestoreReport.
 */
export async function runRestore(harness: RestoreHarness, request: Record<string, unknown>): Promise<RestoreRun> {
  const { restore } = harness;
  const decision = await restoreBegin(restore, request);
  const { volumeId, runId } = decision;
  const primaryNow = decision.primarySnapshotId;
  if (decision.mode === 'delta' && primaryNow !== undefined) {
    await untilCompleted(() => snapshotStatus(harness.context, { volumeId, runId, snapshotId: primaryNow, side: 'primary' }));
  }
  const plan = await restorePlanStep(restore, decision);
  const copied = plan.mode === 'delta'
    ? await copyAndComplete(harness, { volumeId, runId, sourceSnapshotId: plan.sourceSnapshotId, targetSnapshotId: plan.targetSnapshotId, segments: plan.segments, blocks: plan.blocks })
    : [];
  const createInput = { volumeId, runId, mode: plan.mode, snapshotId: plan.targetSnapshotId, restorePoint: decision.restorePoint, like: decision.like };
  let volume = await restoreCreateVolume(restore, createInput);
  while (volume.status === 'IN_PROGRESS') volume = await restoreCreateVolume(restore, { ...createInput, newVolumeId: volume.newVolumeId });
  const swap = await restoreSwap(restore, { ...decision, ...volume });
  const report = await restoreReport(restore, {
    volumeId,
    runId,
    mode: plan.mode,
    restorePoint: decision.restorePoint,
    newVolumeId: volume.newVolumeId,
    snapshotId: plan.targetSnapshotId,
    planBlocks: plan.blocks,
    copied,
    swapped: swap.swapped,
  });
  return { decision, plan, copied, volume, swap, report };
}

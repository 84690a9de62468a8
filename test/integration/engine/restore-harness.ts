/**
 * The Restore job's suites on the shared engine harness (emulator + dynalite on loopback, an engine
 * context over real HTTP), with a workload that writes the primary volume while keeping the image
 * each restore point must restore to. The Sync and Restore jobs run through the local drivers
 * (`local/drivers`), in their state machines' order.
 */
import type { DeltaMap } from '../../../shared/core/delta-map';
import type { EngineContext } from '../../../shared/engine/context';
import type { RestoreContext } from '../../../shared/engine/restore';
import { driveRestore, driveSync, nextRunId, type CopiedSegments, type RestoreRun as DriverRestoreRun } from '../../../local/drivers';
import { patternBlock, sha256Hex, ZERO_BLOCK_HEX } from '../../../local/block-content';
import { startEngineHarness, ZONE, type EngineHarness } from './engine-harness';

export { ZONE, type CopiedSegments };

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

// ── the sync job ─────────────────────────────────────────────────────────────────────────

/** What one sync committed. */
export interface SyncedPoint {
  readonly seq: number;
  readonly pointInTime: string;
  /** The primary's image at this restore point. */
  readonly image: ReadonlyMap<number, string>;
  readonly deltaMap: DeltaMap;
}

/** One sync of the workload's volume through the Sync driver; the restore point it committed. */
export async function syncOnce(harness: RestoreHarness, workload: Workload): Promise<SyncedPoint> {
  const { context } = harness;
  const { volumeId } = workload;
  const { summary, runId } = await driveSync(context, volumeId, nextRunId('sync'));
  if (summary === undefined) throw new Error(`sync ${runId} of ${volumeId} committed nothing`);
  const entry = await context.store.getEntry(volumeId, summary.seq);
  return { seq: entry.seq, pointInTime: entry.pointInTime, image: new Map(workload.image), deltaMap: entry.deltaMap };
}

// ── the restore job ──────────────────────────────────────────────────────────────────────

/** A finished restore: every step's answer. */
export type RestoreRun = Required<Omit<DriverRestoreRun, 'stoppedAfter'>>;

/** A run id no other restore of the process uses (the execution name, in Step Functions). */
export function nextRestoreRunId(): string {
  return nextRunId('restore');
}

/** Runs `request` through the Restore driver (the state machine's order) to its report. */
export async function runRestore(harness: RestoreHarness, request: Record<string, unknown>): Promise<RestoreRun> {
  const run = await driveRestore(harness.context, request);
  const { decision, plan, volume, swap, report } = run;
  if (decision === undefined || plan === undefined || volume === undefined || swap === undefined || report === undefined) {
    throw new Error(`restore ${run.runId} did not finish`);
  }
  return { runId: run.runId, decision, plan, copied: run.copied, volume, swap, report };
}

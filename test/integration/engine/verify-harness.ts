/**
 * The local cloud for the Verify job's suites: the engine harness (emulator + dynalite on
 * loopback, an engine context over real HTTP), a workload writing the primary volume, and the
 * emulator's back doors (silent corruption, call stats).
 *
 * Syncs and the fix-up run through the Sync driver (`local/drivers`), in the state machine's
 * order; the fix-up is `SyncPlan` with `extraFromRun`, which reads `C'` from the run.
 */
import type { EngineContext } from '../../../shared/engine/context';
import type { SyncSummary } from '../../../shared/engine/sync';
import type { LocalDynamoDb } from '../../../local/dynamodb';
import { driveSync, nextRunId } from '../../../local/drivers';
import { patternBlock, sha256Hex, ZERO_BLOCK_HEX } from '../../../local/block-content';
import type { AdaptersHarness } from '../aws/adapters-harness';
import { startEngineHarness, ZONE, type EngineHarness } from './engine-harness';

export interface VerifyHarness {
  /** The engine harness it is: one bring-up for every engine suite. */
  readonly engine: EngineHarness;
  readonly cloud: AdaptersHarness;
  readonly db: LocalDynamoDb;
  readonly ctx: EngineContext;
  stop(): Promise<void>;
}

/** Starts the engine harness (emulator, dynalite, the chain table, the engine context). */
export async function startVerifyHarness(): Promise<VerifyHarness> {
  const engine = await startEngineHarness();
  return { engine, cloud: engine.cloud, db: engine.db, ctx: engine.context, stop: () => engine.stop() };
}

/** A protected primary volume and what it holds. */
export interface Workload {
  readonly volumeId: string;
  /** Every block ever written: outside it, every image reads zeros. */
  readonly touched: Set<number>;
  write(blocks: readonly number[], seed: number): Promise<void>;
}

/** Creates a primary volume of `volumeSize` GiB and protects it. */
export async function startWorkload(harness: VerifyHarness, volumeSize: number): Promise<Workload> {
  const { model } = harness.cloud;
  const volume = await model.createVolume({ availabilityZone: ZONE, size: volumeSize, volumeType: 'gp3' });
  await harness.ctx.store.protectVolume(volume.volumeId, { volumeSize, config: {} });
  const touched = new Set<number>();
  return {
    volumeId: volume.volumeId,
    touched,
    async write(blocks, seed) {
      for (const blockIndex of blocks) {
        await model.writeBlock(volume.volumeId, blockIndex, patternBlock(seed * 1_000_003 + blockIndex));
        touched.add(blockIndex);
      }
    },
  };
}

/**
 * One sync through the Sync driver (the state machine's order). With `extraFromRun` (the verify
 * run's id, which is also the fix-up's run id so that it presents the lease VerifyFinishScan
 * kept) it is that verify's fix-up: `F = HC ∪ C'`, kind `fixup`.
 */
export async function runSyncSteps(harness: VerifyHarness, workload: Workload, extraFromRun?: string): Promise<SyncSummary> {
  const run = await driveSync(harness.ctx, workload.volumeId, extraFromRun ?? nextRunId('sync-steps'), { extraFromRun });
  if (run.summary === undefined) throw new Error(`sync ${run.runId} of ${workload.volumeId} committed nothing (plan skipped: ${run.plan?.skipped ?? 'no'})`);
  return run.summary;
}

/** The committed chain as `{ seq, kind, trust, suspectBlocks }`, for exact assertions. */
export async function chainView(harness: VerifyHarness, volumeId: string): Promise<Array<{ seq: number; kind: string; trust: string; suspectBlocks: number }>> {
  const view = [];
  for await (const entry of harness.ctx.store.readChain(volumeId)) {
    view.push({ seq: entry.seq, kind: entry.kind, trust: entry.trust, suspectBlocks: entry.suspectBlocks });
  }
  return view;
}

/**
 * Silently corrupts `blockIndex` at rest through the first of `sharers`, as damage shows on EBS:
 * the stored version its image resolves to goes bad for the snapshot that wrote it and every later
 * image that did not rewrite it. `sharers` are the snapshots the test's diagram says hold the bad
 * version; the emulator's answer must name exactly those.
 */
export async function corrupt(harness: VerifyHarness, blockIndex: number, sharers: readonly [string, ...string[]]): Promise<void> {
  const result = await harness.cloud.emulator.store.corruptBlock(sharers[0], blockIndex);
  expect([...result.affectedSnapshotIds].sort()).toEqual([...sharers].sort());
}

/**
 * Blocks where the secondary snapshot's image differs from the primary volume now, over every
 * block the workload touched and every block the snapshot lists.
 */
export async function imageDifferences(harness: VerifyHarness, workload: Workload, secondarySnapshotId: string): Promise<number[]> {
  const reader = harness.ctx.secondary.reader;
  const tokens = new Map<number, string>();
  for await (const listed of reader.listBlocks(secondarySnapshotId)) tokens.set(listed.blockIndex, listed.blockToken);
  const blocks = [...new Set([...workload.touched, ...tokens.keys()])].sort((a, b) => a - b);
  const differ: number[] = [];
  for (const blockIndex of blocks) {
    const token = tokens.get(blockIndex);
    const secondary = token === undefined ? ZERO_BLOCK_HEX : sha256Hex(await reader.getBlock(secondarySnapshotId, blockIndex, token));
    const primary = sha256Hex(await harness.cloud.model.readBlock(workload.volumeId, blockIndex));
    if (secondary !== primary) differ.push(blockIndex);
  }
  return differ;
}

/** GetSnapshotBlock requests the emulator served since its stats were last reset. */
export function blockReads(harness: VerifyHarness): number {
  return harness.cloud.emulator.stats.calls.GetSnapshotBlock ?? 0;
}

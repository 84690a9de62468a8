/**
 * The local cloud for the Verify job's suites: the emulator (EBS + EC2) and dynalite on loopback,
 * an engine context over real HTTP, a workload writing the primary volume, and the emulator's
 * back doors (silent corruption, call stats).
 *
 * Syncs and the fix-up run through the real Sync steps (`shared/engine/sync.ts`) in the state
 * machine's order; the fix-up is `SyncPlan` with `extraFromRun`, which reads `C'` from the run.
 */
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { type EngineContext } from '../../../shared/engine/context';
import { createEngineContext } from '../../../shared/wiring/engine-context';
import { completeSnapshot, copySegment, syncBegin, syncCommit, syncPlan, type SyncSummary } from '../../../shared/engine/sync';
import { createChainTable, startLocalDynamoDb, type LocalDynamoDb } from '../../../local/dynamodb';
import { patternBlock, REGION, sha256Hex, startAdaptersHarness, stopAdaptersHarness, ZONE, type AdaptersHarness } from '../aws/adapters-harness';

const TABLE_NAME = 'ebs-cdp-chain';

/** The adapters' bounded waits poll this often: the emulator answers at once. */
const POLL_INTERVAL_MS = 5;

/** What an unwritten block of an unencrypted volume reads as. */
const ZERO_HEX = sha256Hex(Buffer.alloc(BLOCK_SIZE));

export interface VerifyHarness {
  readonly cloud: AdaptersHarness;
  readonly db: LocalDynamoDb;
  readonly ctx: EngineContext;
  stop(): Promise<void>;
}

/** Starts the emulator, dynalite and the chain table, and builds the engine context on them. */
export async function startVerifyHarness(): Promise<VerifyHarness> {
  const cloud = await startAdaptersHarness();
  const db = await startLocalDynamoDb();
  const setup = db.client();
  await createChainTable(setup, TABLE_NAME);
  setup.destroy();
  const endpoints = { region: REGION, ebsEndpoint: cloud.emulator.endpoint, ec2Endpoint: cloud.emulator.endpoint };
  const ctx = createEngineContext({ chainTable: TABLE_NAME, primary: endpoints, secondary: endpoints, dynamoDbEndpoint: db.endpoint, pollIntervalMs: POLL_INTERVAL_MS });
  return {
    cloud,
    db,
    ctx,
    async stop() {
      ctx.close();
      await stopAdaptersHarness(cloud);
      await db.stop();
    },
  };
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

let syncRuns = 0;

/**
 * One sync through the real Sync steps, in the state machine's order (SyncBegin → wait P_now →
 * SyncPlan → CopySegment per segment → CompleteSnapshot → wait → SyncCommit). With
 * `extraFromRun` (the verify run's id, which is also the fix-up's run id so that it presents the
 * lease VerifyFinishScan kept) it is that verify's fix-up: `F = HC ∪ C'`, kind `fixup`.
 */
export async function runSyncSteps(harness: VerifyHarness, workload: Workload, extraFromRun?: string): Promise<SyncSummary> {
  const { ctx } = harness;
  const { volumeId } = workload;
  syncRuns += 1;
  const runId = extraFromRun ?? `sync-steps-${syncRuns}`;
  const begun = await syncBegin(ctx, { volumeId, runId });
  await ctx.primary.snapshots.waitUntilCompleted(begun.primarySnapshotId);
  const plan = await syncPlan(ctx, {
    volumeId,
    runId,
    fencingToken: begun.fencingToken,
    primarySnapshotId: begun.primarySnapshotId,
    pointInTime: begun.pointInTime,
    extraFromRun,
  });
  for (const segment of plan.segments) {
    await copySegment(ctx, {
      volumeId,
      runId,
      fencingToken: plan.fencingToken,
      seq: plan.seq,
      segment,
      sourceSnapshotId: plan.primarySnapshotId,
      targetSnapshotId: plan.secondarySnapshotId,
    });
  }
  await completeSnapshot(ctx, { volumeId, runId, snapshotId: plan.secondarySnapshotId, expectedBlocks: plan.blocks });
  await ctx.secondary.waiter.waitUntilCompleted(plan.secondarySnapshotId);
  return syncCommit(ctx, { volumeId, runId, fencingToken: plan.fencingToken, seq: plan.seq });
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
 * Silently corrupts `blockIndex` in each of `snapshotIds`. The emulator corrupts one snapshot's
 * copy only; on EBS a child shares its parent's stored block, so damage at rest shows in every
 * later image that did not rewrite it: the tests pass that whole run of snapshots.
 */
export async function corrupt(harness: VerifyHarness, blockIndex: number, snapshotIds: readonly string[]): Promise<void> {
  for (const snapshotId of snapshotIds) await harness.cloud.emulator.store.corruptBlock(snapshotId, blockIndex);
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
    const secondary = token === undefined ? ZERO_HEX : sha256Hex(await reader.getBlock(secondarySnapshotId, blockIndex, token));
    const primary = sha256Hex(await harness.cloud.model.readBlock(workload.volumeId, blockIndex));
    if (secondary !== primary) differ.push(blockIndex);
  }
  return differ;
}

/** GetSnapshotBlock requests the emulator served since its stats were last reset. */
export function blockReads(harness: VerifyHarness): number {
  return harness.cloud.emulator.stats.calls.GetSnapshotBlock ?? 0;
}

/**
 * The local cloud for the engine benches: the emulator (EBS + EC2 with its workload API) and
 * dynalite on loopback, the chain table, and engine contexts over real HTTP with the real SDK
 * clients, plus what the benches count: every EBS/EC2 call (the emulator's stats) and every
 * DynamoDB write (a middleware on the chain store's client).
 *
 * The drivers run the engine's steps in the order the state machines do (Wait/Choice loops as
 * bounded polls). A Map state's items run `mapConcurrency` at a time, each on its own context,
 * i.e. its own rate limiter, as separate Lambdas would.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbChainStore } from '../shared/aws/chain-store';
import { BLOCK_SIZE } from '../shared/core/constants';
import { EbsCdpError } from '../shared/core/errors';
import { silentLogger, type EngineContext, type EngineTuning } from '../shared/engine/context';
import { createEngineContext, type EngineConfig } from '../shared/wiring/engine-context';
import { completeSnapshot, copySegment, snapshotStatus, syncBegin, syncCommit, syncPlan, type SyncSummary } from '../shared/engine/sync';
import {
  restoreBegin,
  restoreCompleteTarget,
  restoreCopySegment,
  restoreCreateVolume,
  restorePlanStep,
  restoreReport,
  restoreSwap,
  type RestoreReport,
} from '../shared/engine/restore';
import { verifyBegin, verifyFinishScan, verifyPlan, verifyReport, verifyScanSegment, type VerifyReport } from '../shared/engine/verify';
import type { LocalDynamoDb } from '../local/dynamodb';
import { startLocalCloudCore } from '../local/cloud';
import type { FaultConfig, RunningEmulator } from '../local/emulator';
import type { Ec2Model } from '../local/emulator/ec2';

export const REGION = 'us-east-1';
export const ZONE = 'us-east-1a';
const TABLE_NAME = 'ebs-cdp-bench-chain';

/** The adapters' bounded waits poll this often: the emulator answers at once. */
const POLL_INTERVAL_MS = 5;

/** Looks of a Wait/Choice loop before a driver gives up (the emulator completes snapshots at once). */
const MAX_STATUS_LOOKS = 1_000;

/** A bench setup step failed (never a measured figure: those are reported, not thrown). */
export class BenchSetupError extends EbsCdpError {
  static override readonly errorName: string = 'BenchSetupError';
}

/** DynamoDB requests the chain store sent, by operation, and what its writes carried. */
export class DynamoCounter {
  requests: Record<string, number> = {};
  /** Items put, updated or deleted (a BatchWriteItem counts each of its items). */
  itemsWritten = 0;
  /** Bytes of the write requests' JSON bodies: an upper bound of the items' stored size. */
  bytesWritten = 0;

  record(operation: string, body: string): void {
    this.requests[operation] = (this.requests[operation] ?? 0) + 1;
    const writes = writeItemsOf(operation, body);
    if (writes > 0) {
      this.itemsWritten += writes;
      this.bytesWritten += Buffer.byteLength(body);
    }
  }

  reset(): void {
    this.requests = {};
    this.itemsWritten = 0;
    this.bytesWritten = 0;
  }
}

const SINGLE_ITEM_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

/** Items a write request carries: 1 for the single-item writes, every request of a batch or transaction. */
function writeItemsOf(operation: string, body: string): number {
  if (SINGLE_ITEM_WRITES.has(operation)) return 1;
  if (body === '') return 0;
  if (operation === 'BatchWriteItem') {
    const parsed = JSON.parse(body) as { RequestItems?: Record<string, unknown[]> };
    return Object.values(parsed.RequestItems ?? {}).reduce((sum, requests) => sum + requests.length, 0);
  }
  if (operation === 'TransactWriteItems') return (JSON.parse(body) as { TransactItems?: unknown[] }).TransactItems?.length ?? 0;
  return 0;
}

const UTF8 = new TextDecoder();

/** The request body as text (the SDK may hand it over as a string or as bytes). */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  // Decoded without touching string methods, which the SDK's JSON body warns about.
  if (body instanceof Uint8Array) return UTF8.decode(body);
  return '';
}

/** A DynamoDB client whose every request is recorded in `counter` (operation from `X-Amz-Target`). */
function countingDynamoClient(endpoint: string, counter: DynamoCounter): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const target = request.headers?.['x-amz-target'] ?? '';
      const operation = target.slice(target.indexOf('.') + 1);
      counter.record(operation, bodyText(request.body));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchDynamoCounter' },
  );
  return client;
}

export interface LocalCloudOptions {
  readonly faults?: Partial<FaultConfig>;
  readonly tuning?: Partial<EngineTuning>;
  /** Map items run at once, each on its own context (one Lambda each). */
  readonly mapConcurrency?: number;
}

export interface LocalCloud {
  readonly emulator: RunningEmulator;
  readonly model: Ec2Model;
  readonly db: LocalDynamoDb;
  readonly dynamo: DynamoCounter;
  readonly config: EngineConfig;
  /** The context of the non-Map tasks. */
  readonly context: EngineContext;
  /** One context per Map slot. */
  readonly itemContexts: readonly EngineContext[];
  stop(): Promise<void>;
}

/** Starts the emulator (in memory), dynalite and the chain table, and builds the engine contexts. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const core = await startLocalCloudCore({ faults: options.faults, chainTable: TABLE_NAME });
  const { emulator, model, db } = core;
  const endpoints = core.side;
  const config: EngineConfig = {
    chainTable: TABLE_NAME,
    primary: endpoints,
    secondary: endpoints,
    dynamoDbEndpoint: db.endpoint,
    pollIntervalMs: POLL_INTERVAL_MS,
    logger: silentLogger,
    tuning: options.tuning,
  };
  const dynamo = new DynamoCounter();
  const counted = (): { context: EngineContext; client: DynamoDBClient } => {
    const base = createEngineContext(config);
    const client = countingDynamoClient(db.endpoint, dynamo);
    return { context: { ...base, store: new DynamoDbChainStore({ client, tableName: TABLE_NAME }) }, client };
  };
  const built = Array.from({ length: 1 + (options.mapConcurrency ?? 1) }, counted);
  const [main, ...items] = built;
  return {
    emulator,
    model,
    db,
    dynamo,
    config,
    context: main.context,
    itemContexts: items.map((item) => item.context),
    async stop() {
      for (const { context, client } of built) {
        context.close();
        client.destroy();
      }
      await core.stop();
    },
  };
}

/** A block whose bytes depend on `seed` (distinct seeds, distinct content: the store dedups equal blocks). */
export function patternBlock(seed: number): Buffer {
  const data = Buffer.alloc(BLOCK_SIZE);
  for (let at = 0; at < BLOCK_SIZE; at += 4) data.writeUInt32LE((seed * 2_654_435_761 + at) >>> 0, at);
  return data;
}

/** SHA-256 hex of a block. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Creates a gp3 primary volume of `volumeSize` GiB and protects it. */
export async function createProtectedVolume(cloud: LocalCloud, volumeSize: number): Promise<string> {
  const volume = await cloud.model.createVolume({ availabilityZone: ZONE, size: volumeSize, volumeType: 'gp3' });
  await cloud.context.store.protectVolume(volume.volumeId, { volumeSize, config: {} });
  return volume.volumeId;
}

/** Writes a distinct block at each index (content from `seed` and the index), as the workload would. */
export async function writeBlocks(cloud: LocalCloud, volumeId: string, blocks: Iterable<number>, seed: number): Promise<void> {
  for (const blockIndex of blocks) await cloud.model.writeBlock(volumeId, blockIndex, patternBlock(seed * 1_000_003 + blockIndex));
}

/** Runs `task` over `items`, `concurrency` at a time; slot `s` passes its index to `task`. */
export async function mapItems<T, R>(items: readonly T[], concurrency: number, task: (item: T, slot: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async (_, slot) => {
      for (let at = next++; at < items.length; at = next++) results[at] = await task(items[at], slot);
    }),
  );
  return results;
}

/** The Wait/Choice loop: looks until COMPLETED (bounded). */
async function untilCompleted(look: () => Promise<{ status: 'IN_PROGRESS' | 'COMPLETED' }>): Promise<void> {
  for (let at = 0; at < MAX_STATUS_LOOKS; at++) {
    if ((await look()).status === 'COMPLETED') return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new BenchSetupError(`still IN_PROGRESS after ${MAX_STATUS_LOOKS} looks`);
}

let runs = 0;

/** A fresh execution name. */
export function nextRunId(label: string): string {
  runs += 1;
  return `${label}-${runs}`;
}

/** Wall time of a job's Map phase, filled in by the drivers when given. */
export interface JobPhases {
  /** SyncPlan alone. */
  planMs?: number;
  /** The Map of CopySegment items alone. */
  copyMs?: number;
  /** The Map of VerifyScanSegment items alone. */
  scanMs?: number;
}

/**
 * One sync of `volumeId` through the Sync job's steps in state-machine order; with
 * `extraFromRun` it is that verify run's fix-up.
 */
export async function driveSync(cloud: LocalCloud, volumeId: string, extraFromRun?: string, phases?: JobPhases): Promise<SyncSummary> {
  const ctx = cloud.context;
  const runId = extraFromRun ?? nextRunId('sync');
  const begun = await syncBegin(ctx, { volumeId, runId });
  await untilCompleted(() => snapshotStatus(ctx, { volumeId, runId, snapshotId: begun.primarySnapshotId, side: 'primary' }));
  const planBegan = performance.now();
  const plan = await syncPlan(ctx, {
    volumeId, runId, fencingToken: begun.fencingToken, primarySnapshotId: begun.primarySnapshotId, pointInTime: begun.pointInTime, extraFromRun,
  });
  if (phases !== undefined) phases.planMs = performance.now() - planBegan;
  const copyBegan = performance.now();
  await mapItems(plan.segments, cloud.itemContexts.length, (segment, slot) =>
    copySegment(cloud.itemContexts[slot], {
      volumeId, runId, fencingToken: plan.fencingToken, seq: plan.seq, segment,
      sourceSnapshotId: plan.primarySnapshotId, targetSnapshotId: plan.secondarySnapshotId,
    }));
  if (phases !== undefined) phases.copyMs = performance.now() - copyBegan;
  await completeSnapshot(ctx, { volumeId, runId, snapshotId: plan.secondarySnapshotId, expectedBlocks: plan.blocks });
  await untilCompleted(() => snapshotStatus(ctx, { volumeId, runId, snapshotId: plan.secondarySnapshotId, side: 'secondary' }));
  return syncCommit(ctx, { volumeId, runId, fencingToken: plan.fencingToken, seq: plan.seq });
}

/** One verify run (full, or `quick`) through the Verify job's steps, with its fix-up when needed. */
export async function driveVerify(cloud: LocalCloud, volumeId: string, quick: boolean, phases?: JobPhases): Promise<VerifyReport> {
  const ctx = cloud.context;
  const runId = nextRunId(quick ? 'quick-verify' : 'verify');
  const begun = await verifyBegin(ctx, { volumeId, runId, quick });
  await untilCompleted(() => snapshotStatus(ctx, { volumeId, runId, snapshotId: begun.primarySnapshotId, side: 'primary' }));
  const { segments } = await verifyPlan(ctx, { volumeId, runId });
  const scanBegan = performance.now();
  await mapItems(segments, cloud.itemContexts.length, (segment, slot) => verifyScanSegment(cloud.itemContexts[slot], { volumeId, runId, segment }));
  if (phases !== undefined) phases.scanMs = performance.now() - scanBegan;
  const finish = await verifyFinishScan(ctx, { volumeId, runId });
  const fixup = finish.outcome === 'repair' ? await driveSync(cloud, volumeId, runId) : undefined;
  return verifyReport(ctx, { volumeId, runId, fixupSeq: fixup?.seq });
}

/** EBS direct API calls the emulator served since its stats were last reset, by API. */
export function ebsCalls(cloud: LocalCloud): Record<string, number> {
  return { ...cloud.emulator.stats.calls };
}

/** Resets the call counters of the emulator and of the chain store. */
export function resetCounters(cloud: LocalCloud): void {
  cloud.emulator.stats.reset();
  cloud.dynamo.reset();
}

/**
 * One restore of `volumeId` to restore point `seq` through the Restore job's steps in
 * state-machine order: RestoreBegin, wait `P_now`, RestorePlan, the Map of CopySegment,
 * CompleteSnapshot and its wait, RestoreCreateVolume until COMPLETED, RestoreSwap, RestoreReport.
 */
export async function driveRestore(cloud: LocalCloud, volumeId: string, seq: number): Promise<RestoreReport> {
  const ctx = cloud.context;
  const decision = await restoreBegin(ctx, { volumeId, runId: nextRunId('restore'), seq });
  const { runId } = decision;
  const primaryNow = decision.primarySnapshotId;
  if (decision.mode === 'delta' && primaryNow !== undefined) {
    await untilCompleted(() => snapshotStatus(ctx, { volumeId, runId, snapshotId: primaryNow, side: 'primary' }));
  }
  const plan = await restorePlanStep(ctx, decision);
  let copied: Array<{ segment: number; blocksWritten: number }> = [];
  if (plan.mode === 'delta') {
    copied = await mapItems(plan.segments, cloud.itemContexts.length, async (segment, slot) => {
      const result = await restoreCopySegment(cloud.itemContexts[slot], {
        volumeId, runId, segment, sourceSnapshotId: plan.sourceSnapshotId, targetSnapshotId: plan.targetSnapshotId, targetSide: 'primary',
      });
      return { segment: result.segment, blocksWritten: result.blocksWritten };
    });
    await restoreCompleteTarget(ctx, { volumeId, runId, snapshotId: plan.targetSnapshotId, expectedBlocks: plan.blocks, side: 'primary' });
    await untilCompleted(() => snapshotStatus(ctx, { volumeId, runId, snapshotId: plan.targetSnapshotId, side: 'primary' }));
  }
  const createInput = { volumeId, runId, mode: plan.mode, snapshotId: plan.targetSnapshotId, restorePoint: decision.restorePoint, like: decision.like };
  let volume = await restoreCreateVolume(ctx, createInput);
  for (let look = 0; volume.status === 'IN_PROGRESS' && look < MAX_STATUS_LOOKS; look++) {
    volume = await restoreCreateVolume(ctx, { ...createInput, newVolumeId: volume.newVolumeId });
  }
  const swap = await restoreSwap(ctx, { ...decision, ...volume });
  return restoreReport(ctx, {
    volumeId, runId, mode: plan.mode, restorePoint: decision.restorePoint, newVolumeId: volume.newVolumeId,
    snapshotId: plan.targetSnapshotId, planBlocks: plan.blocks, copied, swapped: swap.swapped,
  });
}

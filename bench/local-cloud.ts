/**
 * The local cloud for the engine benches: the emulator (EBS + EC2 with its workload API) and
 * dynalite on loopback, the chain table, and engine contexts over real HTTP with the real SDK
 * clients, plus what the benches count: every EBS/EC2 call (the emulator's stats) and every
 * DynamoDB write (a middleware on the chain store's client).
 *
 * The jobs run through the local drivers (`local/drivers`: the state machines' order, Wait/Choice
 * loops as bounded polls). A Map state's items run `mapConcurrency` at a time, each on its own
 * context, i.e. its own rate limiter, as separate Lambdas would.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbChainStore } from '../shared/aws/chain-store';
import { EbsCdpError } from '../shared/core/errors';
import { silentLogger, type EngineContext, type EngineTuning } from '../shared/engine/context';
import { createEngineContext, type EngineConfig } from '../shared/wiring/engine-context';
import type { SyncSummary } from '../shared/engine/sync';
import type { RestoreReport } from '../shared/engine/restore';
import type { VerifyReport } from '../shared/engine/verify';
import type { ScrubReport } from '../shared/engine/scrub';
import type { PruneOutput } from '../shared/engine/prune';
import type { SnapshotReader } from '../shared/core/ports/snapshots';
import type { LocalDynamoDb } from '../local/dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_ZONE, startLocalCloudCore } from '../local/cloud';
import * as drivers from '../local/drivers';
import type { JobPhases } from '../local/drivers';
import type { FaultConfig, RunningEmulator } from '../local/emulator';
import type { Ec2Model } from '../local/emulator/ec2';
import { patternBlock } from '../local/block-content';

export { mapItems, type JobPhases } from '../local/drivers';
export { patternBlock, sha256Hex } from '../local/block-content';

export const REGION = LOCAL_REGION;
export const ZONE = LOCAL_ZONE;

/**
 * The benches' own table name: the DynamoDB counter measures request bytes, which include it, so
 * it stays what earlier results were measured with.
 */
const TABLE_NAME = 'ebs-cdp-bench-chain';

/** The adapters' bounded waits poll this often: the emulator answers at once. */
const POLL_INTERVAL_MS = 5;

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
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials: LOCAL_CREDENTIALS });
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
  const config = core.engineConfig({ pollIntervalMs: POLL_INTERVAL_MS, logger: silentLogger, tuning: options.tuning });
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

let runs = 0;

/**
 * A fresh execution name, `<label>-<n>`: shorter than the drivers' default, and what the
 * DynamoDB byte counts of earlier results were measured with (run ids are part of the keys).
 */
export function nextRunId(label: string): string {
  runs += 1;
  return `${label}-${runs}`;
}

/** The drivers' options for `cloud`: Map items on the per-slot contexts (one Lambda each). */
function onCloud(cloud: LocalCloud, phases?: JobPhases): { mapContexts: readonly EngineContext[]; phases?: JobPhases } {
  return { mapContexts: cloud.itemContexts, phases };
}

/**
 * One sync of `volumeId` through the Sync driver (state-machine order); with `extraFromRun` it
 * is that verify run's fix-up.
 *
 * @throws BenchSetupError when the sync committed nothing (the volume did not change)
 */
export async function driveSync(cloud: LocalCloud, volumeId: string, extraFromRun?: string, phases?: JobPhases): Promise<SyncSummary> {
  const run = await drivers.driveSync(cloud.context, volumeId, extraFromRun ?? nextRunId('sync'), { ...onCloud(cloud, phases), extraFromRun });
  if (run.summary === undefined) throw new BenchSetupError(`sync ${run.runId} of ${volumeId} committed nothing: write blocks before syncing`);
  return run.summary;
}

/** One verify run (full, or `quick`) through the Verify driver, with its fix-up when needed. */
export async function driveVerify(cloud: LocalCloud, volumeId: string, quick: boolean, phases?: JobPhases): Promise<VerifyReport> {
  const run = await drivers.driveVerify(cloud.context, volumeId, nextRunId(quick ? 'quick-verify' : 'verify'), { ...onCloud(cloud, phases), quick });
  if (run.report === undefined) throw new BenchSetupError(`verify ${run.runId} of ${volumeId} did not report`);
  return run.report;
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

/** One restore of `volumeId` to restore point `seq` through the Restore driver (state-machine order). */
export async function driveRestore(cloud: LocalCloud, volumeId: string, seq: number): Promise<RestoreReport> {
  const run = await drivers.driveRestore(cloud.context, { volumeId, runId: nextRunId('restore'), seq }, onCloud(cloud));
  if (run.report === undefined) throw new BenchSetupError(`restore ${run.runId} of ${volumeId} did not report`);
  return run.report;
}

/** One scrub (scope `all` by default: every retained stored version) through the Scrub driver. */
export async function driveScrub(cloud: LocalCloud, volumeId: string, scope: 'all' | 'new' = 'all'): Promise<ScrubReport> {
  const run = await drivers.driveScrub(cloud.context, volumeId, nextRunId('scrub'), { mapContexts: cloud.itemContexts, scope });
  if (run.report === undefined) throw new BenchSetupError(`scrub ${run.runId} of ${volumeId} did not report`);
  return run.report;
}

/** Prunes exactly restore points `seqs` through the Prune driver. */
export async function drivePrune(cloud: LocalCloud, volumeId: string, seqs: readonly number[]): Promise<PruneOutput> {
  const run = await drivers.drivePrune(cloud.context, volumeId, nextRunId('prune'), { seqs });
  if (run.pruned === undefined) throw new BenchSetupError(`prune ${run.runId} of ${volumeId} did not report`);
  return run.pruned;
}

/** GetSnapshotBlock calls and bytes one side's readers returned, and the snapshots they read. */
export class SideReadCounter {
  gets = 0;
  bytes = 0;
  readonly snapshots = new Set<string>();

  record(snapshotId: string, data: Uint8Array): void {
    this.gets += 1;
    this.bytes += data.byteLength;
    this.snapshots.add(snapshotId);
  }

  reset(): void {
    this.gets = 0;
    this.bytes = 0;
    this.snapshots.clear();
  }
}

/** The block reads of every context of a {@link countingSides} cloud, by side. */
export interface SideReadCounters {
  readonly primary: SideReadCounter;
  readonly secondary: SideReadCounter;
}

/** `reader` with every block it returns recorded in `counter`; everything else answers from `reader`. */
function countingReader(reader: SnapshotReader, counter: SideReadCounter): SnapshotReader {
  return {
    listBlocks: (snapshotId, range) => reader.listBlocks(snapshotId, range),
    listChangedBlocks: (first, second, range) => reader.listChangedBlocks(first, second, range),
    changedBlocksOfSegment: (first, second, segment) => reader.changedBlocksOfSegment(first, second, segment),
    async getBlock(snapshotId, blockIndex, blockToken) {
      const data = await reader.getBlock(snapshotId, blockIndex, blockToken);
      counter.record(snapshotId, data);
      return data;
    },
  };
}

/**
 * `cloud` whose contexts (the job's and every Map slot's) count the blocks each side's reader
 * returns. In a deployment the primary side's clients talk to the primary's Region and the
 * secondary side's to the secondary's, so this splits a job's reads by Region, which the emulator
 * (one endpoint for both sides) cannot: it counts them together, and a bench checks the two agree.
 */
export function countingSides(cloud: LocalCloud): { cloud: LocalCloud; reads: SideReadCounters } {
  const reads: SideReadCounters = { primary: new SideReadCounter(), secondary: new SideReadCounter() };
  const wrap = (context: EngineContext): EngineContext => ({
    ...context,
    primary: { ...context.primary, reader: countingReader(context.primary.reader, reads.primary) },
    secondary: { ...context.secondary, reader: countingReader(context.secondary.reader, reads.secondary) },
  });
  return { cloud: { ...cloud, context: wrap(cloud.context), itemContexts: cloud.itemContexts.map(wrap) }, reads };
}

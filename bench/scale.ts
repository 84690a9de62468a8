/**
 * Scale: one incremental sync of a 16 TiB volume (512 segments) with 1 % of its blocks changed
 * (335,544 blocks), run as the real Sync state machine (synthesized from CDK) by the local runner.
 *
 * Sparse and list-only, so that it fits in a minute on a laptop: `P_now` is built through the
 * emulator's store seam (every changed block shares one buffer: one block on disk), and block
 * data never crosses HTTP (GetSnapshotBlock / PutSnapshotBlock are counted, not sent; the
 * secondary snapshot is a stand-in the waiter reports completed). Everything else is real: the
 * listings over HTTP, the delta maps, the DRL, the digests and the chain entry in DynamoDB, the
 * state machine's transitions and Lambda invocations.
 *
 *   npx tsx bench/scale.ts          # BENCH_SCALE_GIB=1024 for a quicker look
 */
import { createHash } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { BLOCK_SIZE, segmentCount, volumeBlocks } from '../shared/core/constants';
import { DeltaMap } from '../shared/core/delta-map';
import type { PrimarySnapshots, SnapshotReader, SnapshotStatus, SnapshotWaiter, SnapshotWriter, StartedSnapshot } from '../shared/core/ports/snapshots';
import type { EngineContext } from '../shared/engine/context';
import { runStateMachine } from '../local/stepfunctions/runner';
import { markdownTable, writeResults, xorshift32 } from './harness';
import { atMost, CONTEXT, recordFigures } from './summary';
import { BenchSetupError, createProtectedVolume, driveSync, startLocalCloud, writeBlocks, type LocalCloud } from './local-cloud';

/** 16 TiB, the largest gp3 volume. */
const VOLUME_GIB = Number(process.env.BENCH_SCALE_GIB ?? 16_384);
/** 1 % of the blocks change between the two syncs. */
const CHANGED_FRACTION = 0.01;
const SEED = 0x5ca1_e016;
const BYTES_PER_MIB = 1_048_576;
/** Memory is sampled this often during the run (ms): the peak of a step lasting a second or more is caught. */
const MEMORY_SAMPLE_MS = 20;
/** SyncPlan is one Lambda: it must list, build and persist the delta map within Lambda's 900 s (EBS-FACTS.md). */
const LAMBDA_TIMEOUT_SECONDS = 900;
const MS_PER_SECOND = 1_000;

export interface ScaleResult {
  readonly volumeGiB: number;
  readonly volumeBlocks: number;
  readonly changedBlocks: number;
  readonly segmentsTouched: number;
  readonly planMs: number;
  readonly deltaMapBuildMs: number;
  readonly deltaMapSerializeMs: number;
  readonly deltaMapBytes: number;
  readonly dynamoItemsWritten: number;
  readonly dynamoBytesWritten: number;
  readonly dynamoRequests: Record<string, number>;
  readonly ebsCalls: Record<string, number>;
  readonly blockCallsCounted: { get: number; put: number };
  readonly stateTransitions: number;
  readonly transitionsSource: string;
  readonly lambdaInvocations: number;
  readonly peakHeapMiB: number;
  readonly peakRssMiB: number;
}

/** `count` distinct block indexes below `total`, ascending (seeded). */
export function sampleBlocks(total: number, count: number, random: () => number): Uint32Array {
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(random() * total));
  return Uint32Array.from(chosen).sort();
}

/** `target` with the named methods replaced; every other member still answers from `target`. */
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (Object.prototype.hasOwnProperty.call(overrides, property)) return overrides[property as keyof T];
      const value: unknown = Reflect.get(object, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/** Counts of the block calls the list-only context answered instead of sending. */
interface BlockCallCounter {
  get: number;
  put: number;
  /** When SyncPlan's first listing began and when it started the secondary: the plan's wall time. */
  planBegan?: number;
  planEnded?: number;
}

/**
 * The engine context of the list-only run: `takeSnapshot` answers the prepared `P_now`, block
 * reads and writes are counted and answered from one buffer, the secondary snapshot is a
 * stand-in the waiter reports completed. Listings, DynamoDB and EC2 stay real.
 */
function listOnlyContext(base: EngineContext, pNow: string, counter: BlockCallCounter): EngineContext {
  const data = Buffer.alloc(BLOCK_SIZE, 1);
  const digest = createHash('sha256').update(data).digest();
  const standIns = new Set<string>();
  let started = 0;
  const snapshots = overriding<PrimarySnapshots>(base.primary.snapshots, { takeSnapshot: async () => pNow });
  const reader = overriding<SnapshotReader>(base.primary.reader, {
    changedBlocksOfSegment: (first, second, segment) => {
      counter.planBegan ??= performance.now();
      return base.primary.reader.changedBlocksOfSegment(first, second, segment);
    },
    getBlock: async () => {
      counter.get++;
      return data;
    },
  });
  const writer = overriding<SnapshotWriter>(base.secondary.writer, {
    startSnapshot: async (request): Promise<StartedSnapshot> => {
      counter.planEnded = performance.now();
      started++;
      const snapshotId = `snap-standin${started.toString(16).padStart(8, '0')}`;
      standIns.add(snapshotId);
      return { snapshotId, state: 'pending', volumeSize: request.volumeSize, encrypted: false };
    },
    putBlock: async () => {
      counter.put++;
      return digest;
    },
    putZeroBlock: async () => {
      counter.put++;
      return digest;
    },
    completeSnapshot: async () => 'completed',
  });
  const standInStatus = (snapshotId: string): SnapshotStatus => ({ snapshotId, state: 'completed', progress: 100, tags: [] });
  const waiter = overriding<SnapshotWaiter>(base.secondary.waiter, {
    status: async (snapshotId) => (standIns.has(snapshotId) ? standInStatus(snapshotId) : base.secondary.waiter.status(snapshotId)),
    waitUntilCompleted: async (snapshotId) => (standIns.has(snapshotId) ? standInStatus(snapshotId) : base.secondary.waiter.waitUntilCompleted(snapshotId)),
  });
  return {
    ...base,
    primary: { ...base.primary, snapshots, reader },
    secondary: { ...base.secondary, writer, waiter },
  };
}

/** A synthetic `P_now`: the base snapshot plus `changed` blocks (all one buffer), in the volume's lineage. */
async function seedPrimaryNow(cloud: LocalCloud, volumeId: string, parentSnapshotId: string, changed: Uint32Array): Promise<string> {
  const data = Buffer.alloc(BLOCK_SIZE, 2);
  const blocks = new Map<number, Buffer>();
  for (const blockIndex of changed) blocks.set(blockIndex, data);
  const info = await cloud.emulator.store.createSnapshotFromVolume({
    volumeId, volumeSize: VOLUME_GIB, parentSnapshotId, changed: blocks, tags: [], encrypted: false,
  });
  return info.snapshotId;
}

/** StateEntered events of every state machine execution the runner starts, counted. */
function countStateTransitions(): { count: () => number; restore: () => void } {
  const prototype = StateMachine.prototype as unknown as { run: (...args: unknown[]) => { eventLogs: AsyncGenerator<{ type: string }> } };
  const original = prototype.run;
  let entered = 0;
  const drains: Array<Promise<void>> = [];
  prototype.run = function run(this: unknown, ...args: unknown[]) {
    const execution = original.apply(this, args);
    drains.push((async () => {
      for await (const event of execution.eventLogs) if (event.type === 'StateEntered') entered++;
    })());
    return execution;
  };
  return { count: () => entered, restore: () => { prototype.run = original; } };
}

/** Peak heap and RSS while `work` runs, sampled. */
async function withPeakMemory<T>(work: () => Promise<T>): Promise<{ result: T; peakHeap: number; peakRss: number }> {
  let peakHeap = 0;
  let peakRss = 0;
  const sample = (): void => {
    const usage = process.memoryUsage();
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakRss = Math.max(peakRss, usage.rss);
  };
  sample();
  const timer = setInterval(sample, MEMORY_SAMPLE_MS);
  try {
    const result = await work();
    sample();
    return { result, peakHeap, peakRss };
  } finally {
    clearInterval(timer);
  }
}

/** A protected volume with a committed (nearly empty) baseline, and `P_now` prepared with 1 % changed. */
async function prepare(cloud: LocalCloud, changed: Uint32Array): Promise<{ volumeId: string; pNow: string }> {
  const volumeId = await createProtectedVolume(cloud, VOLUME_GIB);
  await writeBlocks(cloud, volumeId, [0], 1);
  const baseline = await driveSync(cloud, volumeId);
  const pNow = await seedPrimaryNow(cloud, volumeId, baseline.primarySnapshotId, changed);
  return { volumeId, pNow };
}

/** Runs the benchmark: prints the table and writes bench/results/scale.{json,md}. */
export async function runScaleBench(): Promise<ScaleResult> {
  const totalBlocks = volumeBlocks(VOLUME_GIB);
  const changed = sampleBlocks(totalBlocks, Math.round(totalBlocks * CHANGED_FRACTION), xorshift32(SEED));

  // The delta map alone: built from the changed indexes, then split into its per-segment shards.
  const buildBegan = performance.now();
  const map = DeltaMap.empty(totalBlocks);
  for (const blockIndex of changed) map.add(blockIndex);
  const deltaMapBuildMs = performance.now() - buildBegan;
  const serializeBegan = performance.now();
  const shards = map.split();
  const deltaMapSerializeMs = performance.now() - serializeBegan;
  const deltaMapBytes = [...shards.values()].reduce((sum, shard) => sum + shard.byteLength, 0);

  // The real state machine through the local runner: transitions, invocations, DynamoDB, memory.
  const cloud = await startLocalCloud();
  // The Map's items run 4 at a time in the runner, each on this one context.
  const transitions = countStateTransitions();
  try {
    const { volumeId, pNow } = await prepare(cloud, changed);
    const counter: BlockCallCounter = { get: 0, put: 0 };
    const context = listOnlyContext(cloud.context, pNow, counter);
    cloud.emulator.stats.reset();
    cloud.dynamo.reset();
    const before = transitions.count();
    const run = await withPeakMemory(() => runStateMachine('Sync', { volumeId }, { context }));
    if (run.result.status !== 'SUCCEEDED') {
      throw new BenchSetupError(`the 16 TiB sync did not succeed: ${run.result.error ?? ''} ${run.result.cause ?? ''}`, { volumeId });
    }
    // Events are drained asynchronously: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    const result: ScaleResult = {
      volumeGiB: VOLUME_GIB,
      volumeBlocks: totalBlocks,
      changedBlocks: changed.length,
      segmentsTouched: map.segmentIndexes().length,
      planMs: (counter.planEnded ?? Number.NaN) - (counter.planBegan ?? Number.NaN),
      deltaMapBuildMs,
      deltaMapSerializeMs,
      deltaMapBytes,
      dynamoItemsWritten: cloud.dynamo.itemsWritten,
      dynamoBytesWritten: cloud.dynamo.bytesWritten,
      dynamoRequests: { ...cloud.dynamo.requests },
      ebsCalls: { ...cloud.emulator.stats.calls },
      blockCallsCounted: { get: counter.get, put: counter.put },
      stateTransitions: transitions.count() - before,
      transitionsSource: 'StateEntered events of the local run of the synthesized Sync definition (aws-local-stepfunctions)',
      lambdaInvocations: run.result.history.length,
      peakHeapMiB: run.peakHeap / BYTES_PER_MIB,
      peakRssMiB: run.peakRss / BYTES_PER_MIB,
    };
    report(result);
    return result;
  } finally {
    transitions.restore();
    await cloud.stop();
  }
}

function report(result: ScaleResult): void {
  const mib = (bytes: number): string => (bytes / BYTES_PER_MIB).toFixed(2);
  const rows = [
    { figure: 'volume', value: `${result.volumeGiB.toLocaleString('en-US')} GiB = ${result.volumeBlocks.toLocaleString('en-US')} blocks, ${segmentCount(result.volumeBlocks)} segments` },
    { figure: 'changed blocks (D)', value: `${result.changedBlocks.toLocaleString('en-US')} in ${result.segmentsTouched} segments` },
    { figure: 'SyncPlan: first ListChangedBlocks to StartSnapshot (listing, delta map, DRL write)', value: `${(result.planMs / MS_PER_SECOND).toFixed(2)} s` },
    { figure: 'delta map: build from indexes', value: `${result.deltaMapBuildMs.toFixed(1)} ms` },
    { figure: 'delta map: split into segment shards', value: `${result.deltaMapSerializeMs.toFixed(1)} ms, ${mib(result.deltaMapBytes)} MiB` },
    { figure: 'DynamoDB items written', value: result.dynamoItemsWritten.toLocaleString('en-US') },
    { figure: 'DynamoDB bytes written (request bodies)', value: `${mib(result.dynamoBytesWritten)} MiB` },
    { figure: 'DynamoDB requests', value: Object.entries(result.dynamoRequests).map(([op, n]) => `${op} ${n}`).join(', ') },
    { figure: 'EBS/EC2 calls sent', value: Object.entries(result.ebsCalls).map(([api, n]) => `${api} ${n}`).join(', ') },
    { figure: 'block calls counted, not sent', value: `GetSnapshotBlock ${result.blockCallsCounted.get.toLocaleString('en-US')}, PutSnapshotBlock ${result.blockCallsCounted.put.toLocaleString('en-US')}` },
    { figure: 'Step Functions state transitions', value: `${result.stateTransitions.toLocaleString('en-US')} (${result.transitionsSource})` },
    { figure: 'Lambda invocations', value: result.lambdaInvocations.toLocaleString('en-US') },
    { figure: 'peak memory (whole process: every task, emulator, dynalite)', value: `heap ${result.peakHeapMiB.toFixed(0)} MiB, RSS ${result.peakRssMiB.toFixed(0)} MiB` },
  ];
  const markdown = `# Scale: ${result.volumeGiB.toLocaleString('en-US')} GiB volume, ${CHANGED_FRACTION * 100} % changed (sparse, list-only)\n\n` +
    'One incremental sync run as the synthesized Sync state machine by the local runner. `P_now` is built through the emulator\'s store seam ' +
    '(one shared buffer: sparse on disk); block data does not cross HTTP (Get/Put counted, not sent); everything else is real.\n\n' +
    `${markdownTable(rows)}\nThe peak memory is that of the one process running every task at once plus the emulator and dynalite: ` +
    'an upper bound of the largest task\'s (SyncPlan\'s delta map, or a CopySegment\'s 64 block buffers in AWS).\n';
  console.log(markdown);
  writeResults('scale', result, markdown);
  recordFigures({
    'scale.sync_plan_seconds': { value: result.planMs / MS_PER_SECOND, goal: atMost(LAMBDA_TIMEOUT_SECONDS) },
    'scale.state_transitions': { value: result.stateTransitions, goal: CONTEXT },
    'scale.lambda_invocations': { value: result.lambdaInvocations, goal: CONTEXT },
    'scale.dynamo_mib_written': { value: result.dynamoBytesWritten / BYTES_PER_MIB, goal: CONTEXT },
    // The whole process: an upper bound of the largest task's memory.
    'scale.peak_heap_mib': { value: result.peakHeapMiB, goal: CONTEXT },
  });
}

if (require.main === module) {
  runScaleBench().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

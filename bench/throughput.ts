/**
 * Throughput: a whole local sync (SyncBegin → SyncCommit, the Map's items 4 at a time as the
 * state machine runs them) in MiB/s of changed blocks, against a raw GetSnapshotBlock →
 * PutSnapshotBlock loop through the same emulator in the same run, with the same blocks in
 * flight: the floor any implementation pays. Repeated per block-worker count, and plotted.
 *
 *   npx tsx bench/throughput.ts          # BENCH_THROUGHPUT_BLOCKS_PER_SEGMENT=128 for a longer run
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CompleteSnapshotCommand,
  GetSnapshotBlockCommand,
  paginateListSnapshotBlocks,
  PutSnapshotBlockCommand,
  StartSnapshotCommand,
} from '@aws-sdk/client-ebs';
import { createSideClients } from '../shared/aws/clients';
import { BLOCK_SIZE, BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT } from '../shared/core/constants';
import { SEGMENT_MAP_MAX_CONCURRENCY } from '../shared/engine/context';
import { DEFAULT_BLOCK_WORKERS } from '../shared/core/block-pool';
import { markdownTable, RESULTS_DIR, writeResults } from './harness';
import { LOCAL_CREDENTIALS } from '../local/config';
import { BenchSetupError, createProtectedVolume, driveSync, mapItems, REGION, startLocalCloud, writeBlocks, type LocalCloud, type JobPhases } from './local-cloud';
import { renderLineChart } from './png-plot';
import { atLeast, CONTEXT, recordFigures } from './summary';

/** The worker counts plotted: powers of two up to the engine's default (64). */
const WORKER_COUNTS = [1, 2, 4, 8, 16, 32, DEFAULT_BLOCK_WORKERS];
/** One segment per Map slot, so every slot has work. */
const SEGMENTS = SEGMENT_MAP_MAX_CONCURRENCY;
const VOLUME_GIB = (SEGMENTS * BLOCKS_PER_SEGMENT) / BLOCKS_PER_GIB;
/** 64 × 4 blocks = 128 MiB per run: a second or two each on two shared cores. */
const BLOCKS_PER_SEGMENT_CHANGED = Number(process.env.BENCH_THROUGHPUT_BLOCKS_PER_SEGMENT ?? 64);
/** The goal of the issue: a sync at least 80 % as fast as the raw loop. */
export const THROUGHPUT_GOAL = 0.8;
const BYTES_PER_MIB = 1_048_576;
const MS_PER_SECOND = 1_000;

export interface ThroughputRow {
  readonly workers: number;
  readonly blocks: number;
  readonly syncMiBs: number;
  /** The Map of CopySegment items alone (no snapshot taking, planning or commit). */
  readonly copyMiBs: number;
  readonly rawMiBs: number;
  readonly ratio: number;
  readonly meetsGoal: boolean;
}

/** MiB/s of `blocks` blocks moved in `ms` milliseconds. */
export function mibPerSecond(blocks: number, ms: number): number {
  return (blocks * BLOCK_SIZE) / BYTES_PER_MIB / (ms / MS_PER_SECOND);
}

/** Changed blocks: `perSegment` spread evenly over each segment (distinct content per run). */
function changedBlocks(perSegment: number): number[] {
  const stride = Math.floor(BLOCKS_PER_SEGMENT / perSegment);
  const blocks: number[] = [];
  for (let segment = 0; segment < SEGMENTS; segment++) for (let i = 0; i < perSegment; i++) blocks.push(segment * BLOCKS_PER_SEGMENT + i * stride);
  return blocks;
}

/**
 * The floor: list the source snapshot, then get → put every block into a new snapshot with
 * `inFlight` requests at once, reusing the checksum GetSnapshotBlock returns (no hashing of our
 * own), and complete it. No rate limiter, no DynamoDB, no retries.
 */
async function rawCopy(cloud: LocalCloud, sourceSnapshotId: string, volumeSize: number, inFlight: number): Promise<number> {
  const clients = createSideClients({ region: REGION, endpoint: cloud.emulator.endpoint, credentials: LOCAL_CREDENTIALS });
  const writer = createSideClients({ region: REGION, endpoint: cloud.emulator.endpoint, credentials: LOCAL_CREDENTIALS });
  try {
    const began = performance.now();
    const listed: Array<{ blockIndex: number; blockToken: string }> = [];
    for await (const page of paginateListSnapshotBlocks({ client: clients.ebs }, { SnapshotId: sourceSnapshotId })) {
      for (const block of page.Blocks ?? []) listed.push({ blockIndex: block.BlockIndex ?? 0, blockToken: block.BlockToken ?? '' });
    }
    const started = await writer.ebs.send(new StartSnapshotCommand({ VolumeSize: volumeSize }));
    const target = started.SnapshotId ?? '';
    await mapItems(listed, inFlight, async ({ blockIndex, blockToken }) => {
      const got = await clients.ebs.send(new GetSnapshotBlockCommand({ SnapshotId: sourceSnapshotId, BlockIndex: blockIndex, BlockToken: blockToken }));
      const data = await got.BlockData?.transformToByteArray();
      if (data?.length !== BLOCK_SIZE) throw new BenchSetupError(`block ${blockIndex}: short read`, { snapshotId: sourceSnapshotId, blockIndex });
      await writer.ebs.send(new PutSnapshotBlockCommand({
        SnapshotId: target, BlockIndex: blockIndex, BlockData: data, DataLength: BLOCK_SIZE, Checksum: got.Checksum, ChecksumAlgorithm: 'SHA256',
      }));
    });
    await writer.ebs.send(new CompleteSnapshotCommand({ SnapshotId: target, ChangedBlocksCount: listed.length }));
    return performance.now() - began;
  } finally {
    clients.destroy();
    writer.destroy();
  }
}

/** One worker count: a baseline sync of fresh blocks, then the raw loop over the same `P_now`. */
async function measureWorkers(workers: number, seed: number): Promise<ThroughputRow> {
  const cloud = await startLocalCloud({ tuning: { blockWorkers: workers }, mapConcurrency: SEGMENT_MAP_MAX_CONCURRENCY });
  try {
    const volumeId = await createProtectedVolume(cloud, VOLUME_GIB);
    const blocks = changedBlocks(BLOCKS_PER_SEGMENT_CHANGED);
    await writeBlocks(cloud, volumeId, blocks, seed);
    const began = performance.now();
    const phases: JobPhases = {};
    const summary = await driveSync(cloud, volumeId, undefined, phases);
    const syncMs = performance.now() - began;
    const rawMs = await rawCopy(cloud, summary.primarySnapshotId, VOLUME_GIB, workers * SEGMENT_MAP_MAX_CONCURRENCY);
    const syncMiBs = mibPerSecond(summary.blocks, syncMs);
    const rawMiBs = mibPerSecond(blocks.length, rawMs);
    const ratio = syncMiBs / rawMiBs;
    const copyMiBs = mibPerSecond(summary.blocks, phases.copyMs ?? Number.NaN);
    return { workers, blocks: summary.blocks, syncMiBs, copyMiBs, rawMiBs, ratio, meetsGoal: ratio >= THROUGHPUT_GOAL };
  } finally {
    await cloud.stop();
  }
}

/** Runs the benchmark: prints the table, writes bench/results/throughput.{json,md,png}. */
export async function runThroughputBench(): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const [at, workers] of WORKER_COUNTS.entries()) {
    rows.push(await measureWorkers(workers, at + 1));
    console.log(`workers ${workers}: sync ${rows[at].syncMiBs.toFixed(1)} MiB/s, raw ${rows[at].rawMiBs.toFixed(1)} MiB/s`);
  }
  const png = renderLineChart({
    title: 'Sync vs raw get-put loop (local emulator)',
    xLabel: `block workers per Map item (x${SEGMENT_MAP_MAX_CONCURRENCY} items)`,
    yLabel: 'MiB/s',
    logX: true,
    series: [
      { label: 'sync end to end', color: [31, 119, 180], points: rows.map((row) => [row.workers, row.syncMiBs]) },
      { label: 'sync copy phase', color: [44, 160, 44], points: rows.map((row) => [row.workers, row.copyMiBs]) },
      { label: 'raw get-put loop', color: [214, 39, 40], points: rows.map((row) => [row.workers, row.rawMiBs]) },
    ],
  });
  writeFileSync(join(RESULTS_DIR, 'throughput.png'), png);
  const atDefault = rows.find((row) => row.workers === DEFAULT_BLOCK_WORKERS);
  const verdict = atDefault === undefined
    ? ''
    : atDefault.meetsGoal
      ? `At the default ${DEFAULT_BLOCK_WORKERS} workers the sync runs at ${(atDefault.ratio * 100).toFixed(0)} % of the raw loop: goal (≥ ${THROUGHPUT_GOAL * 100} %) met.\n`
      : `At the default ${DEFAULT_BLOCK_WORKERS} workers the sync runs at ${(atDefault.ratio * 100).toFixed(0)} % of the raw loop: goal (≥ ${THROUGHPUT_GOAL * 100} %) missed by ` +
        `${((THROUGHPUT_GOAL - atDefault.ratio) * 100).toFixed(0)} points. The sync pays for what the loop skips: taking and waiting for P_now, ` +
        'listing per segment, hashing every block twice (verify on read, checksum on write), the digests and the DRL in DynamoDB, the commit.\n';
  const table = markdownTable(rows.map((row) => ({
    'workers/item': row.workers,
    'in flight': row.workers * SEGMENT_MAP_MAX_CONCURRENCY,
    blocks: row.blocks,
    'sync MiB/s': row.syncMiBs.toFixed(1),
    'copy phase MiB/s': row.copyMiBs.toFixed(1),
    'raw loop MiB/s': row.rawMiBs.toFixed(1),
    'sync / raw': row.ratio.toFixed(2),
    'copy / raw': (row.copyMiBs / row.rawMiBs).toFixed(2),
    [`≥ ${THROUGHPUT_GOAL}`]: row.meetsGoal ? 'yes' : 'NO',
  })));
  const markdown = `# Throughput: sync vs raw loop (local emulator, in process)\n\n${SEGMENTS} segments × ${BLOCKS_PER_SEGMENT_CHANGED} changed blocks ` +
    `(${(SEGMENTS * BLOCKS_PER_SEGMENT_CHANGED * BLOCK_SIZE) / BYTES_PER_MIB} MiB) per run; the Map runs ${SEGMENT_MAP_MAX_CONCURRENCY} items at once, ` +
    `the raw loop keeps the same number of blocks in flight. Plot: \`throughput.png\`.\n\n${table}\n${verdict}`;
  console.log(markdown);
  writeResults('throughput', { segments: SEGMENTS, blocksPerSegment: BLOCKS_PER_SEGMENT_CHANGED, goal: THROUGHPUT_GOAL, rows }, markdown);
  if (atDefault !== undefined) {
    recordFigures({
      'throughput.sync_vs_raw': { value: atDefault.ratio, goal: atLeast(THROUGHPUT_GOAL) },
      // The copy phase alone: where the end-to-end gap is not (snapshot taking, planning, commit).
      'throughput.copy_vs_raw': { value: atDefault.copyMiBs / atDefault.rawMiBs, goal: CONTEXT },
    });
  }
  return rows;
}

if (require.main === module) {
  runThroughputBench().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

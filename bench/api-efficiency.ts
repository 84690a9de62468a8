/**
 * API efficiency: EBS direct API calls a job makes against the minimum the job needs, on the
 * local cloud, for a baseline sync, an incremental sync, a full and a quick verify and a delta
 * restore. The minimum: one GetSnapshotBlock per block read from each snapshot that lists it,
 * one PutSnapshotBlock per block written, list pages at 10,000 blocks, one StartSnapshot and one
 * CompleteSnapshot per snapshot written. EC2 calls (free) are shown beside, not counted.
 *
 *   npx tsx bench/api-efficiency.ts
 */
import { BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT } from '../shared/core/constants';
import { markdownTable, writeResults, xorshift32 } from './harness';
import { atMost, recordFigures, type MeasuredFigure } from './summary';
import {
  createProtectedVolume,
  driveRestore,
  driveSync,
  driveVerify,
  startLocalCloud,
  writeBlocks,
  type LocalCloud,
} from './local-cloud';

/** Three segments: enough to show the per-segment cost of the Map state, small enough to copy fast. */
const SEGMENTS = 3;
const VOLUME_GIB = (SEGMENTS * BLOCKS_PER_SEGMENT) / BLOCKS_PER_GIB;
/** Allocated blocks per segment: 256 × 3 × 512 KiB = 384 MiB copied by the baseline. */
const ALLOCATED_PER_SEGMENT = Number(process.env.BENCH_API_BLOCKS_PER_SEGMENT ?? 256);
/** A quarter of the allocated blocks change between syncs. */
const CHANGED_FRACTION = 0.25;
/** EBS's largest list page (MaxResults). */
export const LIST_PAGE_BLOCKS = 10_000;
/** The goal of the issue: calls within 1 % of the minimum. */
export const OVERHEAD_GOAL = 0.01;
const SEED = 0x5eed_0008;

/** The EBS direct APIs (the emulator's stats also count EC2 actions, as `EC2:<Action>`). */
const EBS_APIS = ['ListSnapshotBlocks', 'ListChangedBlocks', 'GetSnapshotBlock', 'PutSnapshotBlock', 'StartSnapshot', 'CompleteSnapshot'] as const;

/** What a job needs at least, per API. */
export interface MinimumCalls {
  readonly list: number;
  readonly get: number;
  readonly put: number;
  readonly start: number;
  readonly complete: number;
}

export interface EfficiencyRow {
  readonly job: string;
  /** Its name in bench/results/summary.json: calls ÷ minimum. */
  readonly figure: string;
  /** Blocks the job copied, compared or restored. */
  readonly blocks: number;
  readonly calls: Record<string, number>;
  readonly ebsCalls: number;
  readonly minimum: number;
  readonly overhead: number;
  readonly ec2Calls: number;
  readonly meetsGoal: boolean;
}

/** List pages needed to list `blocks` blocks once (at least one: an empty listing is a call too). */
export function listPages(blocks: number): number {
  return Math.max(1, Math.ceil(blocks / LIST_PAGE_BLOCKS));
}

/** The minimum of a copy of `blocks` blocks, all listed in the source (sync, delta restore). */
export function copyMinimum(blocks: number, listings: number): MinimumCalls {
  return { list: listings * listPages(blocks), get: blocks, put: blocks, start: 1, complete: 1 };
}

/** The minimum of a compare of `blocks` blocks listed on both sides: both tokens listed, both read; plus `D0`. */
export function compareMinimum(blocks: number): MinimumCalls {
  return { list: 1 + 2 * listPages(blocks), get: 2 * blocks, put: 0, start: 0, complete: 0 };
}

function totalOf(minimum: MinimumCalls): number {
  return minimum.list + minimum.get + minimum.put + minimum.start + minimum.complete;
}

/** One row: the calls since the last reset against `minimum`. */
export function efficiencyRow(job: string, figure: string, blocks: number, calls: Readonly<Record<string, number>>, minimum: MinimumCalls): EfficiencyRow {
  const ebs: Record<string, number> = {};
  for (const api of EBS_APIS) ebs[api] = calls[api] ?? 0;
  const ebsCalls = Object.values(ebs).reduce((a, b) => a + b, 0);
  const ec2Calls = Object.entries(calls).filter(([name]) => name.startsWith('EC2:')).reduce((sum, [, n]) => sum + n, 0);
  const min = totalOf(minimum);
  const overhead = ebsCalls / min - 1;
  return { job, figure, blocks, calls: ebs, ebsCalls, minimum: min, overhead, ec2Calls, meetsGoal: overhead <= OVERHEAD_GOAL };
}

/** Blocks `[0, count)` of each segment, spread by a seeded shuffle, ascending. */
function spreadBlocks(random: () => number, perSegment: number): number[] {
  const blocks: number[] = [];
  for (let segment = 0; segment < SEGMENTS; segment++) {
    const chosen = new Set<number>();
    while (chosen.size < perSegment) chosen.add(segment * BLOCKS_PER_SEGMENT + Math.floor(random() * BLOCKS_PER_SEGMENT));
    blocks.push(...chosen);
  }
  return blocks.sort((a, b) => a - b);
}

async function measure(cloud: LocalCloud, work: () => Promise<{ blocks: number; minimum: MinimumCalls }>, job: string, figure: string): Promise<EfficiencyRow> {
  cloud.emulator.stats.reset();
  const { blocks, minimum } = await work();
  return efficiencyRow(job, figure, blocks, cloud.emulator.stats.calls, minimum);
}

/** Runs the benchmark: prints the table and writes bench/results/api-efficiency.{json,md}. */
export async function runApiEfficiencyBench(): Promise<EfficiencyRow[]> {
  const cloud = await startLocalCloud();
  try {
    const random = xorshift32(SEED);
    const volumeId = await createProtectedVolume(cloud, VOLUME_GIB);
    const allocated = spreadBlocks(random, ALLOCATED_PER_SEGMENT);
    const changed = allocated.filter(() => random() < CHANGED_FRACTION);
    await writeBlocks(cloud, volumeId, allocated, 1);
    const rows: EfficiencyRow[] = [];
    rows.push(await measure(cloud, async () => {
      const summary = await driveSync(cloud, volumeId);
      return { blocks: summary.blocks, minimum: copyMinimum(summary.blocks, 1) };
    }, 'baseline sync', 'api.sync_baseline_vs_minimum'));
    await writeBlocks(cloud, volumeId, changed, 2);
    rows.push(await measure(cloud, async () => {
      const summary = await driveSync(cloud, volumeId);
      return { blocks: summary.blocks, minimum: copyMinimum(summary.blocks, 1) };
    }, 'incremental sync', 'api.sync_incremental_vs_minimum'));
    rows.push(await measure(cloud, async () => {
      const report = await driveVerify(cloud, volumeId, false);
      return { blocks: report.blocksScanned, minimum: compareMinimum(report.blocksScanned) };
    }, 'full verify', 'api.verify_full_vs_minimum'));
    rows.push(await measure(cloud, async () => {
      const report = await driveVerify(cloud, volumeId, true);
      return { blocks: report.blocksScanned, minimum: compareMinimum(report.blocksScanned) };
    }, 'quick verify', 'api.verify_quick_vs_minimum'));
    // A delta restore to the baseline: R = D_1 ∪ changes(P_head → P_now); listed once from
    // ListChangedBlocks (P_head → P_now) and once from S_0 for the tokens.
    rows.push(await measure(cloud, async () => {
      const report = await driveRestore(cloud, volumeId, 0);
      return { blocks: report.blocksWritten, minimum: copyMinimum(report.blocksWritten, 2) };
    }, 'delta restore (point 0)', 'api.restore_delta_vs_minimum'));
    const table = markdownTable(rows.map((row) => ({
      job: row.job,
      blocks: row.blocks,
      ...row.calls,
      'EBS calls': row.ebsCalls,
      minimum: row.minimum,
      overhead: `${(row.overhead * 100).toFixed(2)} %`,
      [`≤ ${OVERHEAD_GOAL * 100} %`]: row.meetsGoal ? 'yes' : 'NO',
      'EC2 calls (free)': row.ec2Calls,
    })));
    const missed = rows.filter((row) => !row.meetsGoal);
    const findings = missed.length === 0
      ? 'Every job is within the goal.\n'
      : missed.map((row) => `- **${row.job}** misses the goal by ${((row.overhead - OVERHEAD_GOAL) * 100).toFixed(2)} points: ` +
        `${row.ebsCalls - row.minimum} calls above the minimum of ${row.minimum} (${describeExcess(row)}).`).join('\n') + '\n';
    const markdown = `# API efficiency (local cloud)\n\n${VOLUME_GIB} GiB volume (${SEGMENTS} segments), ${allocated.length} allocated blocks, ` +
      `${changed.length} changed between the syncs. Minimum: one Get per block read per side, one Put per block written, ` +
      `list pages at ${LIST_PAGE_BLOCKS.toLocaleString('en-US')} blocks, one Start and one Complete per snapshot written.\n\n${table}\n## Findings\n\n${findings}`;
    console.log(markdown);
    writeResults('api-efficiency', { volumeGiB: VOLUME_GIB, allocated: allocated.length, changed: changed.length, goal: OVERHEAD_GOAL, rows }, markdown);
    const figures: Record<string, MeasuredFigure> = {};
    for (const row of rows) figures[row.figure] = { value: row.ebsCalls / row.minimum, goal: atMost(1 + OVERHEAD_GOAL) };
    recordFigures(figures);
    return rows;
  } finally {
    await cloud.stop();
  }
}

/** Where the excess calls are: the APIs above their share of the minimum. */
function describeExcess(row: EfficiencyRow): string {
  const lists = (row.calls.ListSnapshotBlocks ?? 0) + (row.calls.ListChangedBlocks ?? 0);
  return `${lists} list calls for ${row.blocks} blocks: the engine lists per segment (one Map item each) rather than once per job`;
}

if (require.main === module) {
  runApiEfficiencyBench().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Verify cost (issue 12): what one **full check** costs today in block reads and in block bytes
 * across Regions, on the local cloud, against the verified design's minimum (ARCHITECTURE.md,
 * Verify). A full check today = one full verify (Verify machine, the primary's Region: compares
 * `P0` with `S_head` block by block, so it reads the secondary from the primary's Region) + one
 * full scrub (Scrub machine, the secondary's Region: reads each retained stored version once).
 *
 * Setup: a 40 GiB volume (two segments, blocks in both), a baseline, a few syncs that rewrite
 * blocks (and allocate a few new ones), so several entries hold stored versions; some points
 * pruned. Nothing is written after the last sync, so `D0 = ∅`.
 *
 * Measured: the emulator's stats (calls and bytes, reset around each job) and, to tell the
 * Regions apart, a counter on each side's reader (`countingSides`): the emulator serves both
 * sides on one endpoint, the engine reaches the secondary only through its secondary-side
 * clients, which in a deployment point at the secondary's Region. The two counts must agree.
 * The minimum comes from the chain (`bench/full-check.ts`).
 *
 *   npx tsx bench/verify-cost.ts      # or: npm run bench -- verify-cost
 */
import { BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT } from '../shared/core/constants';
import type { ChainEntry } from '../shared/core/chain-entry';
import { fullCheckFigures, fullCheckMinimum, GETS_GOAL, type FullCheckMeasured, type SideReads } from './full-check';
import { markdownTable, writeResults, xorshift32 } from './harness';
import { goalText, recordFigures, toSummaryFigure } from './summary';
import {
  BenchSetupError,
  countingSides,
  createProtectedVolume,
  drivePrune,
  driveScrub,
  driveSync,
  driveVerify,
  resetCounters,
  startLocalCloud,
  writeBlocks,
  type LocalCloud,
  type SideReadCounters,
} from './local-cloud';

/** Two segments: the first full (32 GiB), the second 8 GiB; each Map has two items per point. */
const VOLUME_GIB = 40;
const VOLUME_BLOCKS = VOLUME_GIB * BLOCKS_PER_GIB;
const SEGMENT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, BLOCKS_PER_SEGMENT],
  [BLOCKS_PER_SEGMENT, VOLUME_BLOCKS],
];
/** Allocated blocks per segment before the baseline: 2 × 128 × 512 KiB = 128 MiB. */
const ALLOCATED_PER_SEGMENT = Number(process.env.BENCH_VERIFY_COST_BLOCKS_PER_SEGMENT ?? 128);
/** Syncs after the baseline. */
const SYNCS = Number(process.env.BENCH_VERIFY_COST_SYNCS ?? 4);
/** Each sync rewrites this fraction of the allocated blocks (chosen at random: rewrites overlap)… */
const REWRITE_FRACTION = 0.25;
/** …and allocates this many new blocks per segment, so the primary's allocation outgrows the baseline's. */
const NEW_PER_SEGMENT = 4;
/** Restore points pruned before the check (comma-separated seqs; empty = none): the baseline and a middle one. */
const PRUNE = (process.env.BENCH_VERIFY_COST_PRUNE ?? '0,2').split(',').filter((seq) => seq.trim() !== '').map(Number);
const SEED = 0x5eed_0012;

/** One measured job of the full check. */
export interface JobRow {
  readonly job: 'full verify' | 'full scrub';
  /** Where its Lambdas run. */
  readonly region: 'primary' | 'secondary';
  readonly reads: SideReads;
  /** The emulator's counts for the job (both sides together). */
  readonly emulatorGets: number;
  readonly emulatorGetBytes: number;
  readonly listCalls: number;
  /** Its share of the full check's minimum (the primary scan's for the verify). */
  readonly minimumGets: number;
  readonly seconds: number;
}

/** Blocks of `[start, end)` not in `taken`, `count` of them, by the seeded PRNG. */
function pickNew(random: () => number, [start, end]: readonly [number, number], count: number, taken: ReadonlySet<number>): number[] {
  const chosen = new Set<number>();
  while (chosen.size < count) {
    const blockIndex = start + Math.floor(random() * (end - start));
    if (!taken.has(blockIndex)) chosen.add(blockIndex);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** `fraction` of `blocks`, chosen at random (distinct), ascending. */
function pickSome(random: () => number, blocks: readonly number[], fraction: number): number[] {
  const chosen = new Set<number>();
  const count = Math.round(blocks.length * fraction);
  while (chosen.size < count) chosen.add(blocks[Math.floor(random() * blocks.length)]);
  return [...chosen].sort((a, b) => a - b);
}

async function readChain(cloud: LocalCloud, volumeId: string): Promise<ChainEntry[]> {
  const entries: ChainEntry[] = [];
  for await (const entry of cloud.context.store.readChain(volumeId)) entries.push(entry);
  return entries;
}

/** One job's answer and what it read. */
interface MeasuredJob<T> {
  readonly answer: T;
  readonly reads: SideReads;
  readonly gets: number;
  readonly bytes: number;
  readonly lists: number;
  readonly seconds: number;
}

/** The reads of one job: runs `work` with every counter reset, checks the side counters against the emulator. */
async function measureJob<T>(cloud: LocalCloud, reads: SideReadCounters, work: () => Promise<T>): Promise<MeasuredJob<T>> {
  resetCounters(cloud);
  reads.primary.reset();
  reads.secondary.reset();
  const began = performance.now();
  const answer = await work();
  const seconds = (performance.now() - began) / 1_000;
  const stats = cloud.emulator.stats;
  const gets = stats.calls.GetSnapshotBlock ?? 0;
  const sideReads: SideReads = { primaryGets: reads.primary.gets, primaryBytes: reads.primary.bytes, secondaryGets: reads.secondary.gets, secondaryBytes: reads.secondary.bytes };
  // The method: the emulator measures the job's Gets; the side counters only say which side each
  // went to. If they disagree (a retry the readers hid, a read outside them) the split is not the measurement.
  if (gets !== sideReads.primaryGets + sideReads.secondaryGets || stats.bytesOut !== sideReads.primaryBytes + sideReads.secondaryBytes) {
    throw new BenchSetupError(
      `the emulator served ${gets} Gets (${stats.bytesOut} bytes) but the side readers returned ` +
      `${sideReads.primaryGets} + ${sideReads.secondaryGets} (${sideReads.primaryBytes} + ${sideReads.secondaryBytes} bytes): the split by Region would not be measured`,
    );
  }
  if (Object.keys(stats.errors).length > 0) throw new BenchSetupError(`the emulator answered errors during the job: ${JSON.stringify(stats.errors)}`);
  const lists = (stats.calls.ListSnapshotBlocks ?? 0) + (stats.calls.ListChangedBlocks ?? 0);
  return { answer, reads: sideReads, gets, bytes: stats.bytesOut, lists, seconds };
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/** Runs the benchmark: prints the tables and writes bench/results/verify-cost.{json,md}. */
export async function runVerifyCostBench(): Promise<JobRow[]> {
  const base = await startLocalCloud({ mapConcurrency: 2 });
  try {
    const { cloud, reads } = countingSides(base);
    const random = xorshift32(SEED);
    const volumeId = await createProtectedVolume(cloud, VOLUME_GIB);

    // Setup: a baseline over both segments, then syncs that rewrite a quarter and allocate a few more.
    const allocated = new Set<number>();
    for (const range of SEGMENT_RANGES) for (const blockIndex of pickNew(random, range, ALLOCATED_PER_SEGMENT, allocated)) allocated.add(blockIndex);
    await writeBlocks(cloud, volumeId, [...allocated].sort((a, b) => a - b), 1);
    await driveSync(cloud, volumeId);
    for (let sync = 1; sync <= SYNCS; sync++) {
      const rewritten = pickSome(random, [...allocated].sort((a, b) => a - b), REWRITE_FRACTION);
      const fresh = SEGMENT_RANGES.flatMap((range) => pickNew(random, range, NEW_PER_SEGMENT, allocated));
      for (const blockIndex of fresh) allocated.add(blockIndex);
      await writeBlocks(cloud, volumeId, [...rewritten, ...fresh], 1 + sync);
      await driveSync(cloud, volumeId);
    }
    const pruned = PRUNE.length === 0 ? [] : (await drivePrune(cloud, volumeId, PRUNE)).pruned;

    // The minimum, from the chain; its primary-scan part must be the primary's allocation (D0 = ∅, no trims).
    const chain = await readChain(cloud, volumeId);
    const minimum = fullCheckMinimum(chain);
    if (minimum.primaryScan !== allocated.size) {
      throw new BenchSetupError(`the chain's union of delta maps holds ${minimum.primaryScan} blocks but the primary allocates ${allocated.size}: the minimum would not be the primary scan's`);
    }
    const secondaries = new Set(chain.map((entry) => entry.secondarySnapshotId));

    const verify = await measureJob(cloud, reads, () => driveVerify(cloud, volumeId, false));
    const verified = verify.answer;
    if (verified.outcome !== 'clean' || verified.mismatches !== 0 || verified.pendingBlocks !== 0) {
      throw new BenchSetupError(`the full verify of a healthy lineage with D0 = ∅ reported ${JSON.stringify(verified)}`);
    }
    const verifySecondaries = [...reads.secondary.snapshots];
    const verifyPrimaries = [...reads.primary.snapshots];
    const scrub = await measureJob(cloud, reads, () => driveScrub(cloud, volumeId, 'all'));
    const scrubbed = scrub.answer;
    if (scrubbed.badVersions !== 0 || scrubbed.pointsRead !== minimum.retainedPoints) {
      throw new BenchSetupError(`the full scrub of a healthy lineage of ${minimum.retainedPoints} points reported ${JSON.stringify(scrubbed)}`);
    }
    // Which snapshots each side read: the verify's secondary reads are of S_head, never of a primary snapshot.
    if (verifySecondaries.some((id) => !secondaries.has(id)) || verifyPrimaries.some((id) => secondaries.has(id)) || [...reads.secondary.snapshots].some((id) => !secondaries.has(id))) {
      throw new BenchSetupError('a side reader read a snapshot of the other side: the split by Region would be wrong');
    }

    const measured: FullCheckMeasured = { verify: verify.reads, scrub: scrub.reads };
    const result = fullCheckFigures(measured, minimum);
    const rows: JobRow[] = [
      { job: 'full verify', region: 'primary', reads: verify.reads, emulatorGets: verify.gets, emulatorGetBytes: verify.bytes, listCalls: verify.lists, minimumGets: minimum.primaryScan, seconds: verify.seconds },
      { job: 'full scrub', region: 'secondary', reads: scrub.reads, emulatorGets: scrub.gets, emulatorGetBytes: scrub.bytes, listCalls: scrub.lists, minimumGets: minimum.scrub, seconds: scrub.seconds },
    ];
    const crossing = (row: JobRow): number => (row.region === 'primary' ? row.reads.secondaryBytes : row.reads.primaryBytes);
    const jobTable = markdownTable([
      ...rows.map((row) => ({
        job: row.job,
        'runs in': `${row.region}'s Region`,
        'Gets, primary side': row.reads.primaryGets,
        'Gets, secondary side': row.reads.secondaryGets,
        'minimum Gets': row.minimumGets,
        'Gets ÷ minimum': (row.emulatorGets / row.minimumGets).toFixed(3),
        'block MiB across Regions': mib(crossing(row)),
        'list calls': row.listCalls,
        's': row.seconds.toFixed(1),
      })),
      {
        job: '**full check**',
        'runs in': 'both',
        'Gets, primary side': verify.reads.primaryGets + scrub.reads.primaryGets,
        'Gets, secondary side': verify.reads.secondaryGets + scrub.reads.secondaryGets,
        'minimum Gets': minimum.total,
        'Gets ÷ minimum': (result.totalGets / minimum.total).toFixed(3),
        'block MiB across Regions': mib(result.crossRegionBytes),
        'list calls': verify.lists + scrub.lists,
        's': (verify.seconds + scrub.seconds).toFixed(1),
      },
    ]);
    const summaryRows = Object.entries(result.figures).map(([name, figure]) => {
      const held = toSummaryFigure(name, figure);
      return { figure: `\`${name}\``, value: Number.isInteger(held.value) ? held.value : held.value.toFixed(4), goal: goalText(figure.goal), met: held.met ? 'yes' : 'NO' };
    });
    // What the full check would read if the primary scan read only the primary (against the manifest).
    const manifestScanRatio = (verify.reads.primaryGets + result.scrubGets) / minimum.total;
    const findings = [
      `- **\`verify.cross_region_block_bytes\` = ${result.crossRegionBytes.toLocaleString('en-US')} bytes (${mib(result.crossRegionBytes)} MiB), goal 0: missed.** ` +
        `The full verify reads \`S_head\` block by block from the primary's Region: ${verify.reads.secondaryGets} secondary blocks, ` +
        `one per block allocated in the primary (${minimum.primaryScan}), i.e. the whole image. The scrub reads nothing of the primary ` +
        `(${scrub.reads.primaryGets} primary-side Gets). The goal cannot be met until the primary scan compares \`P0\` with the digest manifest instead of reading the secondary.`,
      `- **\`verify.gets_vs_minimum\` = ${(result.totalGets / minimum.total).toFixed(3)}, goal ≤ ${GETS_GOAL}: ${result.totalGets / minimum.total <= GETS_GOAL ? 'met' : 'missed'}.** ` +
        `${result.totalGets} Gets for a minimum of ${minimum.total} (${minimum.primaryScan} for the primary scan + ${minimum.scrub} stored versions); ` +
        `the excess is exactly the verify's ${verify.reads.secondaryGets} secondary reads (the verify reads ${(result.verifyGets / minimum.primaryScan).toFixed(2)}× the primary scan's minimum). ` +
        `Reading only the primary, the same check would be at ${manifestScanRatio.toFixed(3)}.`,
      `- **\`verify.scrub_gets_vs_versions\` = ${(result.scrubGets / minimum.scrub).toFixed(3)}, goal ≤ ${GETS_GOAL}: ${result.scrubGets / minimum.scrub <= GETS_GOAL ? 'met' : 'missed'}.** ` +
        `The scrub read each of the ${minimum.scrub} retained stored versions ${result.scrubGets === minimum.scrub ? 'exactly once' : `(${result.scrubGets} Gets)`}, all in the secondary's Region.`,
      `- Split of the full check's ${result.totalGets} Gets: verify ${result.verifyGets} (${(result.verifyGets / result.totalGets * 100).toFixed(1)} %), scrub ${result.scrubGets} (${(result.scrubGets / result.totalGets * 100).toFixed(1)} %).`,
    ].join('\n') + '\n';
    const markdown = `# Verify cost: one full check (local cloud)\n\n` +
      `${VOLUME_GIB} GiB volume (2 segments), ${ALLOCATED_PER_SEGMENT} blocks allocated per segment at the baseline, ${SYNCS} syncs each rewriting ` +
      `${REWRITE_FRACTION * 100} % of the allocated blocks and allocating ${NEW_PER_SEGMENT} new ones per segment; ` +
      `${pruned.length === 0 ? 'nothing pruned' : `points ${pruned.join(', ')} pruned`}: ${minimum.retainedPoints} retained points, ` +
      `${minimum.primaryScan} blocks allocated in the primary, ${minimum.scrub} retained stored versions (Σ|D_n|). Nothing written after the last sync (\`D0 = ∅\`).\n\n` +
      `A full check today = one full verify (primary's Region: \`P0\` against \`S_head\`, block by block) + one full scrub (secondary's Region: ` +
      `every retained stored version against its manifest digest). Minimum (from the chain): one read per block allocated in the primary ` +
      `+ one per retained stored version. Cross-Region bytes: the GetSnapshotBlock bytes a job's readers of the other side returned ` +
      `(the emulator serves both sides on one endpoint and counts them together; a counter on each side's reader splits them, and the two counts agree).\n\n` +
      `${jobTable}\n${markdownTable(summaryRows)}\n## Findings\n\n${findings}`;
    console.log(markdown);
    writeResults('verify-cost', {
      volumeGiB: VOLUME_GIB,
      allocatedPerSegment: ALLOCATED_PER_SEGMENT,
      syncs: SYNCS,
      rewriteFraction: REWRITE_FRACTION,
      newPerSegment: NEW_PER_SEGMENT,
      pruned,
      minimum,
      rows,
      crossRegionBytes: result.crossRegionBytes,
      totalGets: result.totalGets,
      manifestScanRatio,
      figures: Object.fromEntries(Object.entries(result.figures).map(([name, figure]) => [name, toSummaryFigure(name, figure)])),
    }, markdown);
    recordFigures(result.figures);
    return rows;
  } finally {
    await base.stop();
  }
}

if (require.main === module) {
  runVerifyCostBench().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Delta-map benchmark: our DeltaMap beside roaring-wasm (CRoaring compiled to WebAssembly)
 * doing the same work on the same blocks in the same run, for the largest volume
 * (65,536 GiB = 134,217,728 blocks) at 0.1 %, 1 % and 10 % density, clustered and scattered.
 *
 * Goals (issue 2): no operation slower than 2× roaring-wasm; serialized size within 1.25× of
 * roaring's portable format (after run optimization).
 */
import { RoaringBitmap32 } from 'roaring-wasm';
import { MAX_VOLUME_BLOCKS } from '../shared/core/constants';
import { DeltaMap } from '../shared/core/delta-map';
import { markdownTable, medianMs, writeResults, xorshift32 } from './harness';
import { atMost, recordFigures } from './summary';

/** Blocks per extent in the clustered pattern: 256 blocks = 128 MiB, a file written sequentially. */
const EXTENT_BLOCKS = 256;
const DENSITIES = [0.001, 0.01, 0.1];
const PATTERNS = ['clustered', 'scattered'] as const;
/** Timed repetitions per operation (median reported); few, because 10 % maps hold 13 million blocks. */
const REPEATS = 5;
const TIME_GOAL = 2;
const SIZE_GOAL = 1.25;

type Pattern = (typeof PATTERNS)[number];

/** Sorted distinct block indexes at `density` of the largest volume. */
function sampleBlocks(pattern: Pattern, density: number, seed: number): Uint32Array {
  const random = xorshift32(seed);
  const total = MAX_VOLUME_BLOCKS;
  if (pattern === 'scattered') {
    const out = new Uint32Array(Math.ceil(total * density * 1.1));
    let n = 0;
    for (let b = 0; b < total; b++) if (random() < density) out[n++] = b;
    return out.slice(0, n);
  }
  const extents = Math.round((total * density) / EXTENT_BLOCKS);
  const starts = new Uint32Array(extents);
  for (let i = 0; i < extents; i++) starts[i] = Math.floor(random() * (total - EXTENT_BLOCKS));
  starts.sort();
  const out = new Uint32Array(extents * EXTENT_BLOCKS);
  let n = 0;
  let covered = -1;
  for (const start of starts) {
    for (let b = Math.max(start, covered + 1); b < start + EXTENT_BLOCKS; b++) out[n++] = b;
    covered = Math.max(covered, start + EXTENT_BLOCKS - 1);
  }
  return out.slice(0, n);
}

function buildOurs(pattern: Pattern, blocks: Uint32Array): DeltaMap {
  const map = DeltaMap.empty(MAX_VOLUME_BLOCKS);
  if (pattern === 'clustered') {
    // Extents arrive as ranges, the way ListChangedBlocks pages of a sequential write do.
    let i = 0;
    while (i < blocks.length) {
      let j = i + 1;
      while (j < blocks.length && blocks[j] === blocks[j - 1] + 1) j++;
      map.addRange(blocks[i], blocks[j - 1] + 1);
      i = j;
    }
  } else {
    for (let i = 0; i < blocks.length; i++) map.add(blocks[i]);
  }
  return map;
}

/**
 * roaring-wasm 1.1.0 caches its heap view across chunks of a large `addMany`, which breaks
 * when the WebAssembly memory grows mid-call ("detached ArrayBuffer"); feeding it at most one
 * of its own chunks per call avoids that.
 */
const ROARING_ADD_CHUNK = 983_040;

function buildRoaring(blocks: Uint32Array): RoaringBitmap32 {
  const bitmap = new RoaringBitmap32();
  for (let at = 0; at < blocks.length; at += ROARING_ADD_CHUNK) {
    bitmap.addMany(blocks.subarray(at, at + ROARING_ADD_CHUNK));
  }
  bitmap.optimize();
  return bitmap;
}

function sum(values: Uint32Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

export interface DeltaMapBenchRow {
  pattern: Pattern;
  density: number;
  blocks: number;
  operation: string;
  oursMs: number;
  roaringMs: number;
  ratio: number;
  meetsGoal: boolean;
}

export interface DeltaMapSizeRow {
  pattern: Pattern;
  density: number;
  blocks: number;
  oursBytesPerBlock: number;
  roaringBytesPerBlock: number;
  ratio: number;
  meetsGoal: boolean;
}

/** Runs the delta-map benchmark, prints its tables and writes bench/results/delta-map.{json,md}. */
export async function runDeltaMapBench(): Promise<{ timings: DeltaMapBenchRow[]; sizes: DeltaMapSizeRow[] }> {
  const timings: DeltaMapBenchRow[] = [];
  const sizes: DeltaMapSizeRow[] = [];
  for (const pattern of PATTERNS) {
    for (const density of DENSITIES) {
      const blocksA = sampleBlocks(pattern, density, 0x5eed + Math.round(density * 1e4));
      const blocksB = sampleBlocks(pattern, density, 0xbeef + Math.round(density * 1e4));
      const oursA = buildOurs(pattern, blocksA);
      const oursB = buildOurs(pattern, blocksB);
      const roarA = buildRoaring(blocksA);
      const roarB = buildRoaring(blocksB);
      if (oursA.size !== roarA.size || oursA.union(oursB).size !== RoaringBitmap32.or(roarA, roarB).size) {
        throw new Error(`delta map and roaring disagree for ${pattern} ${density}: the benchmark would compare different work`);
      }
      const operations: Array<[string, () => unknown, () => unknown]> = [
        ['union', () => oursA.union(oursB), () => RoaringBitmap32.or(roarA, roarB).dispose()],
        ['subtract', () => oursA.subtract(oursB), () => RoaringBitmap32.andNot(roarA, roarB).dispose()],
        ['intersect', () => oursA.intersect(oursB), () => RoaringBitmap32.and(roarA, roarB).dispose()],
        ['iterate', () => sum(oursA.toUint32Array()), () => sum(roarA.toUint32Array())],
        ['serialize', () => oursA.split(), () => roarA.serialize('portable')],
        ['deserialize', deserializeOurs(oursA), deserializeRoaring(roarA)],
      ];
      for (const [operation, ours, roaring] of operations) {
        const oursMs = medianMs(ours, REPEATS);
        const roaringMs = medianMs(roaring, REPEATS);
        const ratio = oursMs / roaringMs;
        timings.push({ pattern, density, blocks: oursA.size, operation, oursMs, roaringMs, ratio, meetsGoal: ratio <= TIME_GOAL });
      }
      const oursBytes = [...oursA.split().values()].reduce((total, shard) => total + shard.length, 0);
      const roaringBytes = roarA.getSerializationSizeInBytes('portable');
      sizes.push({
        pattern,
        density,
        blocks: oursA.size,
        oursBytesPerBlock: oursBytes / oursA.size,
        roaringBytesPerBlock: roaringBytes / roarA.size,
        ratio: oursBytes / roaringBytes,
        meetsGoal: oursBytes / roaringBytes <= SIZE_GOAL,
      });
      for (const bitmap of [roarA, roarB]) bitmap.dispose();
    }
  }
  const timingTable = markdownTable(
    timings.map((row) => ({
      pattern: row.pattern,
      density: `${row.density * 100} %`,
      blocks: row.blocks.toLocaleString('en-US'),
      operation: row.operation,
      'ours ms': row.oursMs.toFixed(2),
      'roaring-wasm ms': row.roaringMs.toFixed(2),
      'ours / roaring': row.ratio.toFixed(2),
      [`≤ ${TIME_GOAL}×`]: row.meetsGoal ? 'yes' : 'NO',
    })),
  );
  const sizeTable = markdownTable(
    sizes.map((row) => ({
      pattern: row.pattern,
      density: `${row.density * 100} %`,
      blocks: row.blocks.toLocaleString('en-US'),
      'ours bytes/block': row.oursBytesPerBlock.toFixed(4),
      'roaring bytes/block': row.roaringBytesPerBlock.toFixed(4),
      'ours / roaring': row.ratio.toFixed(3),
      [`≤ ${SIZE_GOAL}×`]: row.meetsGoal ? 'yes' : 'NO',
    })),
  );
  const markdown =
    `# Delta map vs roaring-wasm (65,536 GiB volume, ${MAX_VOLUME_BLOCKS.toLocaleString('en-US')} blocks)\n\n` +
    `Median of ${REPEATS} runs after a warm-up; same blocks for both.\n\n## Time\n\n${timingTable}\n## Serialized size\n\n${sizeTable}`;
  console.log(markdown);
  writeResults('delta-map', { volumeBlocks: MAX_VOLUME_BLOCKS, repeats: REPEATS, timings, sizes }, markdown);
  // The goals hold for every operation and density, so the summary carries the worst ratio (per pattern for time).
  const worst = (ratios: number[]): number => Math.max(...ratios);
  recordFigures({
    'delta_map.time_vs_roaring.clustered': { value: worst(timings.filter((r) => r.pattern === 'clustered').map((r) => r.ratio)), goal: atMost(TIME_GOAL) },
    'delta_map.time_vs_roaring.scattered': { value: worst(timings.filter((r) => r.pattern === 'scattered').map((r) => r.ratio)), goal: atMost(TIME_GOAL) },
    'delta_map.size_vs_roaring': { value: worst(sizes.map((r) => r.ratio)), goal: atMost(SIZE_GOAL) },
  });
  return { timings, sizes };
}

function deserializeOurs(map: DeltaMap): () => unknown {
  const shards = map.split();
  return () => DeltaMap.join(MAX_VOLUME_BLOCKS, shards);
}

function deserializeRoaring(bitmap: RoaringBitmap32): () => unknown {
  const bytes = bitmap.serialize('portable');
  return () => RoaringBitmap32.deserialize(bytes, 'portable').dispose();
}

if (require.main === module) {
  void runDeltaMapBench();
}

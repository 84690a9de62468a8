/**
 * `npm run bench [-- name ...]`: runs every benchmark (or the named ones), each printing its
 * figures and ratios against a baseline measured in the same run, and writing JSON and
 * markdown under bench/results/ and its headline figures into bench/results/summary.json
 * (`bench/summary.ts`). Benchmarks never assert timings: they report.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSummary } from './summary';

interface Bench {
  name: string;
  file: string;
  entry: string;
}

const BENCHES: Bench[] = [
  { name: 'delta-map', file: 'delta-map', entry: 'runDeltaMapBench' },
  { name: 'emulator', file: 'emulator', entry: 'runEmulatorBench' },
  { name: 'api-efficiency', file: 'api-efficiency', entry: 'runApiEfficiencyBench' },
  { name: 'throughput', file: 'throughput', entry: 'runThroughputBench' },
  { name: 'quota', file: 'quota', entry: 'runQuotaBench' },
  { name: 'scale', file: 'scale', entry: 'runScaleBench' },
  { name: 'restore', file: 'restore', entry: 'runRestoreBench' },
  { name: 'verify-cost', file: 'verify-cost', entry: 'runVerifyCostBench' },
  // After scale: it reads the scale run's transition counts.
  { name: 'cost-model', file: 'cost-model', entry: 'runCostModelBench' },
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !BENCHES.some((bench) => bench.name === name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  // Every bench merges its figures into the summary at its end: a summary file it cannot read
  // should stop the run now, not after minutes of benching.
  readSummary();
  for (const bench of BENCHES) {
    if (wanted.length > 0 && !wanted.includes(bench.name)) continue;
    if (!existsSync(join(__dirname, `${bench.file}.ts`))) continue;
    console.log(`\n=== bench: ${bench.name} ===\n`);
    const module = (await import(`./${bench.file}`)) as Record<string, () => Promise<unknown>>;
    await module[bench.entry]();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

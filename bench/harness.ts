import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where every bench writes its JSON and markdown results. */
export const RESULTS_DIR = join(__dirname, 'results');

/** Untimed runs before measuring: the first calls pay for JIT tiers and WebAssembly memory growth. */
const WARM_UP_RUNS = 3;

/** Median wall time of `fn` in milliseconds over `repeats` runs, after warm-up runs. */
export function medianMs(fn: () => unknown, repeats: number): number {
  for (let i = 0; i < WARM_UP_RUNS; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A markdown table from rows of equal keys. */
export function markdownTable(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '(no rows)\n';
  const headers = Object.keys(rows[0]);
  const line = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map((row) => line(headers.map((h) => row[h])))].join('\n') + '\n';
}

/** Writes `<name>.json` and `<name>.md` under bench/results/. */
export function writeResults(name: string, json: unknown, markdown: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
  writeFileSync(join(RESULTS_DIR, `${name}.md`), markdown);
}

/** A small, fast, seeded PRNG (xorshift32), so every run measures the same maps. */
export function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/**
 * `bench/results/summary.json`: every bench's headline figures in one file, each with its goal and
 * whether the run met it, so a reader (or a script) sees every goal at a glance:
 *
 *   { "figures": { "throughput.sync_vs_raw": { "value": 0.58, "goal": "≥ 0.8", "met": false }, … } }
 *
 * Each bench records its own figures at the end of its run; the file is **merged by figure name**:
 * a run replaces the figures it produces and keeps every other figure as the last run that
 * produced it left it (so `npm run bench -- quota` keeps the throughput figures). A figure a run
 * stops producing keeps its old value until the file is deleted.
 *
 * The write is atomic (a temp file beside it, then a rename): a run killed mid-write leaves the
 * old file or the new one, never half of one. Two benches writing at the same moment from two
 * processes can still lose one's update (read, merge, rename is not a lock); `bench/run.ts` runs
 * them one after another.
 *
 * A missing file starts a fresh summary. A file that exists but is not a summary (bad JSON, wrong
 * shape) is an error that names the file and what is wrong, never silently replaced: replacing it
 * would drop the other benches' figures without a word. Delete it to start over. `bench/run.ts`
 * reads it before the first bench, so a bad file stops the run before minutes of benching, not after.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EbsCdpError } from '../shared/core/errors';
import { RESULTS_DIR } from './harness';

export const SUMMARY_PATH = join(RESULTS_DIR, 'summary.json');

/**
 * Figure names: dotted lowercase, `<bench>.<what>[.<variant>]`, each part `[a-z0-9_]` starting
 * with a letter (`throughput.sync_vs_raw`, `quota.verify.scan`).
 */
const FIGURE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** How a figure is judged: against a bound, or not at all (a figure reported for context). */
export type Goal =
  | { readonly compare: '<=' | '<' | '>=' | '>' | '='; readonly bound: number }
  | { readonly compare: 'context' };

/** One figure as the file holds it. A context figure has goal `context` and is never missed (`met` true). */
export interface SummaryFigure {
  readonly value: number;
  readonly goal: string;
  readonly met: boolean;
}

export interface Summary {
  readonly figures: Readonly<Record<string, SummaryFigure>>;
}

/** What a bench hands over: the measured value and its goal (`met` is derived here, once). */
export interface MeasuredFigure {
  readonly value: number;
  readonly goal: Goal;
}

/** The summary file is unreadable, or a bench handed over a figure the file cannot hold. */
export class BenchSummaryError extends EbsCdpError {
  static override readonly errorName: string = 'BenchSummaryError';
}

const GOAL_SYMBOLS: Record<Exclude<Goal['compare'], 'context'>, string> = { '<=': '≤', '<': '<', '>=': '≥', '>': '>', '=': '=' };

/** Shorthands for the goals the benches state. */
export const atMost = (bound: number): Goal => ({ compare: '<=', bound });
export const below = (bound: number): Goal => ({ compare: '<', bound });
export const atLeast = (bound: number): Goal => ({ compare: '>=', bound });
export const exactly = (bound: number): Goal => ({ compare: '=', bound });
export const CONTEXT: Goal = { compare: 'context' };

/** The goal as the file and the READMEs write it: `≤ 1.4`, `≥ 0.8`, `= 0`, `context`. */
export function goalText(goal: Goal): string {
  return goal.compare === 'context' ? 'context' : `${GOAL_SYMBOLS[goal.compare]} ${goal.bound}`;
}

/** Whether `value` meets `goal` (bounds are inclusive where the goal says so: 1.4 meets `≤ 1.4`). */
export function meetsGoal(value: number, goal: Goal): boolean {
  switch (goal.compare) {
    case 'context': return true;
    case '<=': return value <= goal.bound;
    case '<': return value < goal.bound;
    case '>=': return value >= goal.bound;
    case '>': return value > goal.bound;
    case '=': return value === goal.bound;
  }
}

/** `measured` as the file holds it; refuses a bad name or a value JSON cannot carry (NaN, ∞). */
export function toSummaryFigure(name: string, measured: MeasuredFigure): SummaryFigure {
  if (!FIGURE_NAME.test(name)) throw new BenchSummaryError(`figure name ${JSON.stringify(name)} is not dotted lowercase (<bench>.<what>, [a-z0-9_])`);
  if (!Number.isFinite(measured.value)) throw new BenchSummaryError(`figure ${name} has no finite value (${measured.value}): the bench did not measure it`);
  return { value: measured.value, goal: goalText(measured.goal), met: meetsGoal(measured.value, measured.goal) };
}

/** `existing` with `figures` added or replacing the ones of the same name; the rest untouched. */
export function mergeFigures(existing: Summary, figures: Readonly<Record<string, MeasuredFigure>>): Summary {
  const merged: Record<string, SummaryFigure> = { ...existing.figures };
  for (const [name, measured] of Object.entries(figures)) merged[name] = toSummaryFigure(name, measured);
  const sorted: Record<string, SummaryFigure> = {};
  for (const name of Object.keys(merged).sort()) sorted[name] = merged[name];
  return { figures: sorted };
}

function isSummaryFigure(value: unknown): value is SummaryFigure {
  if (typeof value !== 'object' || value === null) return false;
  const figure = value as Record<string, unknown>;
  return typeof figure.value === 'number' && typeof figure.goal === 'string' && typeof figure.met === 'boolean';
}

/** The summary at `path`: empty if there is none; a BenchSummaryError if the file is not one. */
export function readSummary(path: string = SUMMARY_PATH): Summary {
  if (!existsSync(path)) return { figures: {} };
  const fail = (what: string, cause?: unknown): never => {
    throw new BenchSummaryError(`${path} ${what}; delete it to start a fresh summary (every bench then writes its figures again)`, { cause });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return fail('is not valid JSON', error);
  }
  const figures = (parsed as { figures?: unknown } | null)?.figures;
  if (typeof figures !== 'object' || figures === null || Array.isArray(figures)) return fail('has no "figures" object');
  for (const [name, figure] of Object.entries(figures)) {
    if (!isSummaryFigure(figure)) fail(`holds figure ${JSON.stringify(name)} without a number value, a goal string and a met boolean`);
  }
  return { figures: figures as Record<string, SummaryFigure> };
}

/** Writes `summary` to `path` through a temp file and a rename, so no reader ever sees half of it. */
export function writeSummary(summary: Summary, path: string = SUMMARY_PATH): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(summary, null, 2) + '\n');
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Records a bench's figures: reads the summary, merges `figures` by name, writes it back
 * atomically; returns what was written. Validates every figure before touching the file.
 *
 * @example
 *   recordFigures({ 'throughput.sync_vs_raw': { value: 0.58, goal: atLeast(0.8) } });
 */
export function recordFigures(figures: Readonly<Record<string, MeasuredFigure>>, path: string = SUMMARY_PATH): Summary {
  const summary = mergeFigures(readSummary(path), figures);
  writeSummary(summary, path);
  return summary;
}

/** What several Verify tasks read back of the run: its plan, its chain, its recorded results. */
import type { ChainEntry } from '../../core/chain-entry';
import { segmentCount } from '../../core/constants';
import type { JsonValue, VerifyRun } from '../../core/ports/chain-store';
import type { EngineContext } from '../context';
import { ScanIncompleteError, SnapshotNotReadyError } from '../errors';
import { allSegments, readVerifyMap } from './maps';
import type { VerifyFinishScanOutput, VerifyReport } from './outputs';

/** `counts` key set once the plan is persisted: later tasks refuse to run before it. */
export const PLANNED = 'planned';

export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** `P0`'s volume in blocks, as the plan recorded it. @throws StepOrderError before the plan. */
export function plannedVolumeBlocks(volumeId: string, run: VerifyRun): number {
  const blocks = run.counts.volumeBlocks;
  if (run.counts[PLANNED] !== 1 || blocks === undefined) {
    throw new SnapshotNotReadyError(`verify ${run.runId} of ${volumeId} has no plan yet: run VerifyPlan (after P0 completed) first`, { volumeId });
  }
  return blocks;
}

/** The segments the plan handed to the Map state: every segment, or those of the quick scope. */
export async function plannedSegments(ctx: EngineContext, volumeId: string, run: VerifyRun): Promise<number[]> {
  const blocks = plannedVolumeBlocks(volumeId, run);
  if (!run.quick) return allSegments(segmentCount(blocks));
  return (await readVerifyMap(ctx.store, volumeId, run.runId, 'quick', blocks)).deltaMap.segmentIndexes();
}

/** The committed chain, ascending. */
export async function readCommittedChain(ctx: EngineContext, volumeId: string): Promise<ChainEntry[]> {
  const chain: ChainEntry[] = [];
  for await (const entry of ctx.store.readChain(volumeId)) if (entry.status === 'committed') chain.push(entry);
  return chain;
}

export function toJson(value: object): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What VerifyFinishScan recorded. @throws ScanIncompleteError when it has not run yet. */
export function finishOf(volumeId: string, run: VerifyRun): VerifyFinishScanOutput {
  const finish = isRecord(run.result) ? run.result.finish : undefined;
  if (!isRecord(finish)) {
    throw new ScanIncompleteError(`verify ${run.runId} of ${volumeId} has not finished its scan: run VerifyFinishScan first`, { volumeId });
  }
  return finish as unknown as VerifyFinishScanOutput;
}

export function recordedReport(run: VerifyRun): VerifyReport | undefined {
  const report = isRecord(run.result) ? run.result.report : undefined;
  return isRecord(report) ? (report as unknown as VerifyReport) : undefined;
}

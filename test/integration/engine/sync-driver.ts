/**
 * A small driver that runs the Sync steps in the order the state machine does:
 *
 * ```
 * SyncBegin ─► SnapshotStatus(P) ⟲ ─► SyncPlan ─► CopySegment × segments ─► CompleteSnapshot ─► SnapshotStatus(S) ⟲ ─► SyncCommit
 *         any error ─► JobFailed (the Catch), then the error is rethrown
 * ```
 *
 * `stopAfter` ends the run at a step boundary without JobFailed: a crash of the whole execution.
 */
import type { EngineContext } from '../../../shared/engine/context';
import {
  completeSnapshot,
  copySegment,
  jobFailed,
  snapshotStatus,
  syncBegin,
  syncCommit,
  syncPlan,
  type SyncBeginOutput,
  type SyncPlanOutput,
  type SyncSummary,
} from '../../../shared/engine/sync';

/** Polls of a wait loop before the driver gives up (the emulator completes snapshots at once). */
const MAX_STATUS_POLLS = 50;

/** The step boundaries, in order. */
export const SYNC_STEPS = ['SyncBegin', 'WaitPrimary', 'SyncPlan', 'CopySegment', 'CompleteSnapshot', 'WaitSecondary', 'SyncCommit'] as const;
export type SyncStep = (typeof SYNC_STEPS)[number];

export interface DriveOptions {
  /** Stop (as if the execution died) right after this step, before the next one. */
  readonly stopAfter?: SyncStep;
  /** Run the Catch (JobFailed) when a step throws: true by default, as the state machine does. */
  readonly catchFailures?: boolean;
}

export interface DriveResult {
  readonly begun?: SyncBeginOutput;
  readonly plan?: SyncPlanOutput;
  readonly summary?: SyncSummary;
}

async function waitFor(ctx: EngineContext, volumeId: string, runId: string, snapshotId: string, side: 'primary' | 'secondary'): Promise<void> {
  for (let poll = 0; poll < MAX_STATUS_POLLS; poll++) {
    const { status } = await snapshotStatus(ctx, { volumeId, runId, snapshotId, side });
    if (status === 'COMPLETED') return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`snapshot ${snapshotId} never completed`);
}

/** Runs one sync execution `runId` on `volumeId`. */
export async function driveSync(ctx: EngineContext, volumeId: string, runId: string, options: DriveOptions = {}): Promise<DriveResult> {
  let fencingToken: number | undefined;
  const result: { begun?: SyncBeginOutput; plan?: SyncPlanOutput; summary?: SyncSummary } = {};
  const stop = (step: SyncStep): boolean => options.stopAfter === step;
  try {
    const begun = await syncBegin(ctx, { volumeId, runId });
    result.begun = begun;
    fencingToken = begun.fencingToken;
    if (stop('SyncBegin')) return result;
    await waitFor(ctx, volumeId, runId, begun.primarySnapshotId, 'primary');
    if (stop('WaitPrimary')) return result;
    const plan = await syncPlan(ctx, {
      volumeId, runId, fencingToken, primarySnapshotId: begun.primarySnapshotId, pointInTime: begun.pointInTime,
    });
    result.plan = plan;
    // Nothing changed since the head: SyncPlan ended the run (the machine's SyncChanged Choice).
    if (stop('SyncPlan') || plan.skipped !== undefined) return result;
    for (const segment of plan.segments) {
      await copySegment(ctx, {
        volumeId, runId, fencingToken, seq: plan.seq, segment,
        sourceSnapshotId: plan.primarySnapshotId, targetSnapshotId: plan.secondarySnapshotId,
      });
    }
    if (stop('CopySegment')) return result;
    await completeSnapshot(ctx, { volumeId, runId, snapshotId: plan.secondarySnapshotId, expectedBlocks: plan.blocks });
    if (stop('CompleteSnapshot')) return result;
    await waitFor(ctx, volumeId, runId, plan.secondarySnapshotId, 'secondary');
    if (stop('WaitSecondary')) return result;
    result.summary = await syncCommit(ctx, { volumeId, runId, fencingToken, seq: plan.seq });
    return result;
  } catch (error) {
    if (options.catchFailures !== false) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      await jobFailed(ctx, { volumeId, runId, job: 'sync', fencingToken, error: { Error: name, Cause: JSON.stringify({ errorType: name, errorMessage: message }) } });
    }
    throw error;
  }
}

let runs = 0;

/** A fresh execution name. */
export function nextRunId(label = 'sync'): string {
  runs += 1;
  return `${label}-${runs}-${Date.now().toString(36)}`;
}

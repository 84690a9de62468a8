/**
 * The Restore job's local driver: the engine's Restore steps in the order of the Restore machine
 * (`infra/state-machines/restore-state-machine.ts`), the Wait/Choice loops as bounded polls.
 *
 * ```
 *  RestoreBegin ─┬─ refusal ─► rethrown (no JobFailed: nothing was changed)
 *                ├─ delta: WaitPrimary ⟲ ─┐
 *                └─ full ─────────────────┴─► RestorePlan ─┬─ delta: CopySegment × segments ─► CompleteSnapshot ─► WaitTarget ⟲ ─┐
 *                                                          └─ full ─────────────────────────────────────────────────────────────┴─► RestoreCreateVolume ⟲ ─► RestoreSwap ─► RestoreReport
 *  any other error ─► JobFailed (job restore), then the error is rethrown
 * ```
 */
import { ZodError } from 'zod';
import type { EngineContext } from '../../shared/engine/context';
import {
  restoreBegin,
  restoreCompleteTarget,
  restoreCopySegment,
  restoreCreateVolume,
  restorePlanStep,
  restoreReport,
  restoreSwap,
  type RestoreBeginOutput,
  type RestoreCreateVolumeOutput,
  type RestorePlanOutput,
  type RestoreReport,
  type RestoreSwapOutput,
} from '../../shared/engine/restore';
import { isRestoreRefusal, WaitTimeoutError } from '../../shared/engine/errors';
import type { RestoreCreateVolumeInput } from '../../shared/engine/restore/schemas';
import { InvalidTaskInputError } from '../../lambdas/errors';
import { DRIVER_MAX_POLLS, DRIVER_POLL_INTERVAL_MS, failJob, mapItems, nextRunId, pause, StepBoundaries, waitForSnapshot, type DriveOptions } from './job';

/** The step boundaries of a restore, in order (`RestoreCreateVolume`: the creation and its wait). */
export const RESTORE_STEPS = [
  'RestoreBegin', 'WaitPrimary', 'RestorePlan', 'CopySegment', 'CompleteSnapshot', 'WaitTarget', 'RestoreCreateVolume', 'RestoreSwap', 'RestoreReport',
] as const;
export type RestoreStep = (typeof RESTORE_STEPS)[number];

export type RestoreDriveOptions = DriveOptions<RestoreStep>;

/** What the Map of CopySegment items answers, one element per segment. */
export type CopiedSegments = Array<{ segment: number; blocksWritten: number }>;

/** What a restore execution did, step by step. */
export interface RestoreRun {
  readonly runId: string;
  decision?: RestoreBeginOutput;
  plan?: RestorePlanOutput;
  /** Empty for a full restore. */
  copied: CopiedSegments;
  volume?: RestoreCreateVolumeOutput;
  swap?: RestoreSwapOutput;
  report?: RestoreReport;
  stoppedAfter?: RestoreStep;
}

/** Whether RestoreBegin refused the request (the machine's RestoreRefused: no JobFailed). */
function isRefusal(error: unknown): boolean {
  // A Lambda reports a malformed input as InvalidTaskInputError; in process it is the ZodError itself.
  return isRestoreRefusal(error) || error instanceof ZodError || (error instanceof Error && error.name === InvalidTaskInputError.errorName);
}

/**
 * Runs one restore execution of `request` (the console's input: `volumeId`, `seq` or
 * `pointInTime`, optional `inPlace`, `allowSuspect`, …; `runId` is the execution name, a fresh
 * one when absent).
 *
 * @throws RestoreBegin's refusal as it is; any other step's error after JobFailed
 * @example
 * const { report } = await driveRestore(ctx, { volumeId, seq: 3 });
 */
export async function driveRestore(ctx: EngineContext, request: Readonly<Record<string, unknown>>, options: RestoreDriveOptions = {}): Promise<RestoreRun> {
  const runId = typeof request.runId === 'string' ? request.runId : nextRunId('restore');
  const steps = new StepBoundaries<RestoreStep>(options);
  const contexts = options.mapContexts ?? [ctx];
  const run: RestoreRun = { runId, copied: [] };
  const stop = (step: RestoreStep): RestoreRun => ({ ...run, stoppedAfter: step });
  try {
    const decision = await steps.run('RestoreBegin', () => restoreBegin(ctx, { ...request, runId }));
    run.decision = decision;
    if (steps.stopsAfter('RestoreBegin')) return stop('RestoreBegin');
    const { volumeId } = decision;
    const primaryNow = decision.primarySnapshotId;
    if (decision.mode === 'delta' && primaryNow !== undefined) {
      await steps.run('WaitPrimary', () => waitForSnapshot(ctx, { volumeId, runId, snapshotId: primaryNow, side: 'primary', fencingToken: decision.fencingToken }, options));
      if (steps.stopsAfter('WaitPrimary')) return stop('WaitPrimary');
    }
    const plan = await steps.run('RestorePlan', () => restorePlanStep(ctx, decision));
    run.plan = plan;
    if (steps.stopsAfter('RestorePlan')) return stop('RestorePlan');
    if (plan.mode === 'delta') {
      run.copied = await steps.run('CopySegment', () => mapItems(plan.segments, contexts.length, async (segment, slot) => {
        const result = await restoreCopySegment(contexts[slot], {
          volumeId, runId, segment, sourceSnapshotId: plan.sourceSnapshotId, targetSnapshotId: plan.targetSnapshotId, targetSide: 'primary',
        });
        return { segment: result.segment, blocksWritten: result.blocksWritten };
      }));
      if (steps.stopsAfter('CopySegment')) return stop('CopySegment');
      await steps.run('CompleteSnapshot', () => restoreCompleteTarget(ctx, {
        volumeId, runId, snapshotId: plan.targetSnapshotId, expectedBlocks: plan.blocks, side: 'primary',
      }));
      if (steps.stopsAfter('CompleteSnapshot')) return stop('CompleteSnapshot');
      await steps.run('WaitTarget', () => waitForSnapshot(ctx, { volumeId, runId, snapshotId: plan.targetSnapshotId, side: 'primary' }, options));
      if (steps.stopsAfter('WaitTarget')) return stop('WaitTarget');
    }
    const createInput = { volumeId, runId, mode: plan.mode, snapshotId: plan.targetSnapshotId, restorePoint: decision.restorePoint, like: decision.like };
    const volume = await steps.run('RestoreCreateVolume', () => createVolume(ctx, createInput, options));
    run.volume = volume;
    if (steps.stopsAfter('RestoreCreateVolume')) return stop('RestoreCreateVolume');
    const swap = await steps.run('RestoreSwap', () => restoreSwap(ctx, { ...decision, ...volume }));
    run.swap = swap;
    if (steps.stopsAfter('RestoreSwap')) return stop('RestoreSwap');
    run.report = await steps.run('RestoreReport', () => restoreReport(ctx, {
      volumeId, runId, mode: plan.mode, restorePoint: decision.restorePoint, newVolumeId: volume.newVolumeId,
      snapshotId: plan.targetSnapshotId, planBlocks: plan.blocks, copied: run.copied, swapped: swap.swapped,
    }));
    return run;
  } catch (error) {
    const refused = steps.current === 'RestoreBegin' && isRefusal(error);
    if (options.catchFailures !== false && !refused) {
      const volumeId = run.decision?.volumeId ?? String(request.volumeId);
      await failJob(ctx, { volumeId, runId, job: 'restore', fencingToken: run.decision?.fencingToken }, error);
    }
    throw error;
  }
}

/**
 * RestoreCreateVolume, then the machine's poll loop around it (called again with the new
 * volume's id) until `COMPLETED`, at most `maxPolls` looks.
 *
 * @throws WaitTimeoutError when the looks run out (the name the machine's `RestoredVolumeWaitExhausted` records)
 */
async function createVolume(
  ctx: EngineContext,
  input: RestoreCreateVolumeInput,
  options: RestoreDriveOptions,
): Promise<RestoreCreateVolumeOutput> {
  const maxPolls = options.maxPolls ?? DRIVER_MAX_POLLS;
  let volume = await restoreCreateVolume(ctx, input);
  for (let poll = 0; volume.status === 'IN_PROGRESS'; poll++) {
    if (poll >= maxPolls) throw new WaitTimeoutError(`the restored volume ${volume.newVolumeId} was not available within ${maxPolls} polls`, { volumeId: input.volumeId });
    await pause(options.pollIntervalMs ?? DRIVER_POLL_INTERVAL_MS);
    volume = await restoreCreateVolume(ctx, { ...input, newVolumeId: volume.newVolumeId });
  }
  return volume;
}

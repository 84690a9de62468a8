/**
 * The Sync job's local driver: the engine's Sync steps in the order of the Sync machine
 * (`infra/state-machines/sync-pipeline.ts`), the Wait/Choice loops as bounded polls.
 *
 * ```
 *  SyncBegin ─► WaitPrimary ⟲ ─► SyncPlan ─► CopySegment × segments ─► CompleteSnapshot ─► WaitSecondary ⟲ ─► SyncCommit ─► SyncRecovered? ─ no ─► end
 *      ▲                            │ skipped: unchanged ─► end                                                                   │ yes
 *      └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
 *  any error ─► JobFailed (the Catch), then the error is rethrown
 * ```
 *
 * With `extraFromRun` (the verify run's id, also the run id) it is that verify's fix-up:
 * `F = HC ∪ C'`, kind `fixup`.
 */
import { VolumeBusyError } from '../../shared/core/ports/errors';
import type { EngineContext } from '../../shared/engine/context';
import { syncBegin, syncCommit, syncPlan, type SyncBeginOutput, type SyncPlanOutput, type SyncSummary } from '../../shared/engine/sync';
import { completeSnapshot, copySegment } from '../../shared/engine/tasks';
import { SyncLoopError } from './errors';
import { failJob, mapItems, nextRunId, StepBoundaries, timed, waitForSnapshot, type DriveOptions } from './job';

/** The step boundaries of a sync, in order. */
export const SYNC_STEPS = ['SyncBegin', 'WaitPrimary', 'SyncPlan', 'CopySegment', 'CompleteSnapshot', 'WaitSecondary', 'SyncCommit'] as const;
export type SyncStep = (typeof SYNC_STEPS)[number];

/**
 * Passes through the pipeline one execution makes at most: a recovery's resume, then the
 * scheduled sync (SyncBegin recovers at most the one crashed run whose DRL is live).
 */
const MAX_SYNC_PASSES = 2;

export interface SyncDriveOptions extends DriveOptions<SyncStep> {
  /**
   * The verify run whose revised compare map `C'` this fix-up copies too. `stopAfter:
   * 'SyncCommit'` ends a recovering run after the recovered commit, before the SyncRecovered loop.
   */
  readonly extraFromRun?: string;
}

/** One pass through SyncBegin … SyncCommit. */
export interface SyncPass {
  readonly begun: SyncBeginOutput;
  plan?: SyncPlanOutput;
  summary?: SyncSummary;
}

/** What a sync execution did: each pass, and what the machine outputs. */
export interface SyncRun {
  readonly runId: string;
  /** Every pass (two after a recovery's resume: the SyncRecovered loop). */
  readonly passes: readonly SyncPass[];
  /** SyncBegin's answer in the last pass. */
  readonly begun?: SyncBeginOutput;
  /** SyncPlan's answer in the last pass (`skipped: 'unchanged'` when nothing changed). */
  readonly plan?: SyncPlanOutput;
  /** The machine's output: the last commit (the recovered one if the loop's fresh pass found nothing new). */
  readonly summary?: SyncSummary;
  /** The step the run stopped after (`stopAfter`), if it did. */
  readonly stoppedAfter?: SyncStep;
}

/**
 * Runs one sync execution `runId` (a fresh one when absent; the verify run's for a fix-up) on `volumeId`.
 *
 * @throws the failing step's error, after JobFailed (unless `catchFailures: false`); a plain
 *   sync's VolumeBusyError at SyncBegin skips JobFailed, as the Sync machine's busy skip does
 * @example
 * const { summary } = await driveSync(ctx, volumeId);
 * const crashed = await driveSync(ctx, volumeId, undefined, { stopAfter: 'CompleteSnapshot' });
 */
export async function driveSync(ctx: EngineContext, volumeId: string, runId?: string, options: SyncDriveOptions = {}): Promise<SyncRun> {
  const id = runId ?? options.extraFromRun ?? nextRunId('sync');
  const steps = new StepBoundaries<SyncStep>(options);
  const contexts = options.mapContexts ?? [ctx];
  const passes: SyncPass[] = [];
  let summary: SyncSummary | undefined;
  const result = (stoppedAfter?: SyncStep): SyncRun => ({ runId: id, passes, ...passes.at(-1), summary, stoppedAfter });
  try {
    for (let pass = 1; pass <= MAX_SYNC_PASSES; pass++) {
      const begun = await steps.run('SyncBegin', () => syncBegin(ctx, { volumeId, runId: id }));
      const current: SyncPass = { begun };
      passes.push(current);
      if (steps.stopsAfter('SyncBegin')) return result('SyncBegin');
      await steps.run('WaitPrimary', () => waitForSnapshot(ctx, { volumeId, runId: id, snapshotId: begun.primarySnapshotId, side: 'primary', fencingToken: begun.fencingToken }, options));
      if (steps.stopsAfter('WaitPrimary')) return result('WaitPrimary');
      const plan = await steps.run('SyncPlan', () => timed(options.phases, 'planMs', () => syncPlan(ctx, {
        volumeId, runId: id, fencingToken: begun.fencingToken, primarySnapshotId: begun.primarySnapshotId, pointInTime: begun.pointInTime,
        extraFromRun: options.extraFromRun,
      })));
      current.plan = plan;
      if (steps.stopsAfter('SyncPlan')) return result('SyncPlan');
      // The SyncChanged Choice: nothing to copy ends the run (a recovered commit stays its output).
      if (plan.skipped !== undefined) return result();
      await steps.run('CopySegment', () => timed(options.phases, 'copyMs', () => mapItems(plan.segments, contexts.length, (segment, slot) => copySegment(contexts[slot], {
        volumeId, runId: id, fencingToken: plan.fencingToken, seq: plan.seq, segment,
        sourceSnapshotId: plan.primarySnapshotId, targetSnapshotId: plan.secondarySnapshotId,
      }))));
      if (steps.stopsAfter('CopySegment')) return result('CopySegment');
      await steps.run('CompleteSnapshot', () => completeSnapshot(ctx, { volumeId, runId: id, snapshotId: plan.secondarySnapshotId, expectedBlocks: plan.blocks, fencingToken: plan.fencingToken, seq: plan.seq }));
      if (steps.stopsAfter('CompleteSnapshot')) return result('CompleteSnapshot');
      await steps.run('WaitSecondary', () => waitForSnapshot(ctx, { volumeId, runId: id, snapshotId: plan.secondarySnapshotId, side: 'secondary', fencingToken: plan.fencingToken }, options));
      if (steps.stopsAfter('WaitSecondary')) return result('WaitSecondary');
      summary = await steps.run('SyncCommit', () => syncCommit(ctx, { volumeId, runId: id, fencingToken: plan.fencingToken, seq: plan.seq }));
      current.summary = summary;
      if (steps.stopsAfter('SyncCommit')) return result('SyncCommit');
      // The SyncRecovered Choice: after a resumed crashed run, SyncBegin once more for this run's own sync.
      if (begun.action !== 'recover') return result();
    }
    throw new SyncLoopError(`sync ${id} of ${volumeId} was still recovering after ${MAX_SYNC_PASSES} passes`, { volumeId });
  } catch (error) {
    const busySkip = options.extraFromRun === undefined && steps.current === 'SyncBegin' && error instanceof VolumeBusyError;
    if (options.catchFailures !== false && !busySkip) {
      await failJob(ctx, { volumeId, runId: id, job: 'sync', fencingToken: passes.at(-1)?.begun.fencingToken }, error);
    }
    throw error;
  }
}

/**
 * The Verify job's local driver: the engine's Verify steps in the order of the Verify machine
 * (`infra/state-machines/verify-state-machine.ts`), its fix-up through the Sync driver.
 *
 * ```
 *  VerifyBegin ─► WaitPrimary ⟲ ─► VerifyPlan ─► VerifyScanSegment × segments ─► VerifyFinishScan ─► repair? ─ no ──────────────┬─► VerifyReport
 *                                                                                                          └ yes ─► VerifyFixup ─┘
 *  any error ─► JobFailed (job verify, the fix-up's included), then the error is rethrown
 * ```
 *
 * Not modelled: the machine's Retry of VerifyFinishScan while a sync holds the lease
 * (VolumeBusyError is thrown at once here).
 */
import type { EngineContext } from '../../shared/engine/context';
import {
  verifyBegin,
  verifyFinishScan,
  verifyPlan,
  verifyReport,
  verifyScanSegment,
  type VerifyBeginOutput,
  type VerifyFinishScanOutput,
  type VerifyReport,
  type VerifyScanSegmentOutput,
} from '../../shared/engine/verify';
import { failJob, mapItems, nextRunId, StepBoundaries, timed, waitForSnapshot, type DriveOptions } from './job';
import { driveSync, type SyncDriveOptions, type SyncRun } from './sync';

/** The step boundaries of a verify, in order (`VerifyFixup`: the whole fix-up sync). */
export const VERIFY_STEPS = ['VerifyBegin', 'WaitPrimary', 'VerifyPlan', 'VerifyScanSegment', 'VerifyFinishScan', 'VerifyFixup', 'VerifyReport'] as const;
export type VerifyStep = (typeof VERIFY_STEPS)[number];

export interface VerifyDriveOptions extends DriveOptions<VerifyStep> {
  /** Compare only the dirty regions (claims 5–6). */
  readonly quick?: boolean;
  /**
   * Runs once inside the scan interval (syncs committing while the scan runs): after the first
   * Map item when there are several, before the only one, or before VerifyFinishScan when none.
   */
  readonly duringScan?: () => Promise<void>;
  /** Stop or crash inside the fix-up's sync pipeline (its Catch is this run's). */
  readonly fixup?: Pick<SyncDriveOptions, 'stopAfter' | 'crash'>;
}

/** What a verify execution did, step by step. */
export interface VerifyRun {
  readonly runId: string;
  begun?: VerifyBeginOutput;
  /** The Map's items. */
  segments?: number[];
  /** One answer per Map item, in segment order. */
  scans: VerifyScanSegmentOutput[];
  finish?: VerifyFinishScanOutput;
  /** The fix-up, when the finish said `repair`. */
  fixup?: SyncRun;
  report?: VerifyReport;
  /** The step the run stopped after (`stopAfter`, or the fix-up's), if it did. */
  stoppedAfter?: VerifyStep;
}

/**
 * Runs one verify execution `runId` (a fresh one when absent) on `volumeId`, with its fix-up when
 * the scan found damage.
 *
 * @throws the failing step's error, after JobFailed (unless `catchFailures: false`)
 * @example
 * const { report } = await driveVerify(ctx, volumeId, undefined, { quick: true });
 */
export async function driveVerify(ctx: EngineContext, volumeId: string, runId?: string, options: VerifyDriveOptions = {}): Promise<VerifyRun> {
  const id = runId ?? nextRunId(options.quick === true ? 'quick-verify' : 'verify');
  const steps = new StepBoundaries<VerifyStep>(options);
  const contexts = options.mapContexts ?? [ctx];
  const run: VerifyRun = { runId: id, scans: [] };
  const stop = (step: VerifyStep): VerifyRun => ({ ...run, stoppedAfter: step });
  try {
    const begun = await steps.run('VerifyBegin', () => verifyBegin(ctx, { volumeId, runId: id, quick: options.quick ?? false }));
    run.begun = begun;
    if (steps.stopsAfter('VerifyBegin')) return stop('VerifyBegin');
    await steps.run('WaitPrimary', () => waitForSnapshot(ctx, { volumeId, runId: id, snapshotId: begun.primarySnapshotId, side: 'primary' }, options));
    if (steps.stopsAfter('WaitPrimary')) return stop('WaitPrimary');
    const { segments } = await steps.run('VerifyPlan', () => verifyPlan(ctx, { volumeId, runId: id }));
    run.segments = segments;
    if (steps.stopsAfter('VerifyPlan')) return stop('VerifyPlan');
    run.scans = await steps.run('VerifyScanSegment', () => timed(options.phases, 'scanMs', () => scan(segments, contexts, options.duringScan, (segment, itemContext) =>
      verifyScanSegment(itemContext, { volumeId, runId: id, segment }))));
    if (steps.stopsAfter('VerifyScanSegment')) return stop('VerifyScanSegment');
    const finish = await steps.run('VerifyFinishScan', () => verifyFinishScan(ctx, { volumeId, runId: id }));
    run.finish = finish;
    if (steps.stopsAfter('VerifyFinishScan')) return stop('VerifyFinishScan');
    if (finish.outcome === 'repair') {
      const fixup = await steps.run('VerifyFixup', () => driveSync(ctx, volumeId, id, {
        mapContexts: options.mapContexts, maxPolls: options.maxPolls, pollIntervalMs: options.pollIntervalMs,
        ...options.fixup, extraFromRun: id, catchFailures: false,
      }));
      run.fixup = fixup;
      // The fix-up's execution died (its stopAfter): so did this one.
      if (fixup.stoppedAfter !== undefined) return stop('VerifyFixup');
      if (steps.stopsAfter('VerifyFixup')) return stop('VerifyFixup');
    }
    run.report = await steps.run('VerifyReport', () => verifyReport(ctx, { volumeId, runId: id, fixupSeq: run.fixup?.summary?.seq }));
    return run;
  } catch (error) {
    if (options.catchFailures !== false) {
      await failJob(ctx, { volumeId, runId: id, job: 'verify', fencingToken: run.finish?.fencingToken }, error);
    }
    throw error;
  }
}

/** The Map of VerifyScanSegment items, with `duringScan` run once inside the scan interval. */
async function scan(
  segments: readonly number[],
  contexts: readonly EngineContext[],
  duringScan: (() => Promise<void>) | undefined,
  task: (segment: number, ctx: EngineContext) => Promise<VerifyScanSegmentOutput>,
): Promise<VerifyScanSegmentOutput[]> {
  const map = (items: readonly number[]): Promise<VerifyScanSegmentOutput[]> => mapItems(items, contexts.length, (segment, slot) => task(segment, contexts[slot]));
  if (duringScan === undefined) return map(segments);
  if (segments.length <= 1) {
    await duringScan();
    return map(segments);
  }
  const [first, ...rest] = segments;
  const head = await task(first, contexts[0]);
  await duringScan();
  return [head, ...(await map(rest))];
}

/**
 * The Scrub job's local driver: the engine's Scrub steps in the order of the Scrub machine.
 *
 * ```
 *  ScrubBegin ─► ScrubSegment × items ─► ScrubFinish ─► end      any error ─► JobFailed (job scrub), rethrown
 * ```
 */
import type { EngineContext } from '../../shared/engine/context';
import { scrubBegin, scrubFinish, scrubSegment, type ScrubBeginOutput, type ScrubReport, type ScrubScope, type ScrubSegmentOutput } from '../../shared/engine/scrub';
import { failJob, mapItems, nextRunId, StepBoundaries, type DriveOptions } from './job';

/** The step boundaries of a scrub. */
export const SCRUB_STEPS = ['ScrubBegin', 'ScrubSegment', 'ScrubFinish'] as const;
export type ScrubStep = (typeof SCRUB_STEPS)[number];

export interface ScrubDriveOptions extends DriveOptions<ScrubStep> {
  /** `all` (default): every retained point; `new`: the points committed since the last scrub. */
  readonly scope?: ScrubScope;
}

/** What a scrub execution did. */
export interface ScrubRun {
  readonly runId: string;
  begun?: ScrubBeginOutput;
  segments: ScrubSegmentOutput[];
  report?: ScrubReport;
  stoppedAfter?: ScrubStep;
}

/**
 * Runs one scrub execution `runId` (a fresh one when absent) on `volumeId`.
 *
 * @throws the failing step's error, after JobFailed (unless `catchFailures: false`)
 * @example
 * const { report } = await driveScrub(ctx, volumeId, undefined, { scope: 'new' });
 */
export async function driveScrub(ctx: EngineContext, volumeId: string, runId?: string, options: ScrubDriveOptions = {}): Promise<ScrubRun> {
  const id = runId ?? nextRunId('scrub');
  const steps = new StepBoundaries<ScrubStep>(options);
  const contexts = options.mapContexts ?? [ctx];
  const run: ScrubRun = { runId: id, segments: [] };
  try {
    const begun = await steps.run('ScrubBegin', () => scrubBegin(ctx, { volumeId, runId: id, scope: options.scope ?? 'all' }));
    run.begun = begun;
    if (steps.stopsAfter('ScrubBegin')) return { ...run, stoppedAfter: 'ScrubBegin' };
    run.segments = await mapItems(begun.items, contexts.length, (item, slot) =>
      steps.run('ScrubSegment', () => scrubSegment(contexts[slot] ?? ctx, { volumeId, runId: id, seq: item.seq, segment: item.segment })));
    if (steps.stopsAfter('ScrubSegment')) return { ...run, stoppedAfter: 'ScrubSegment' };
    run.report = await steps.run('ScrubFinish', () => scrubFinish(ctx, { volumeId, runId: id, scope: begun.scope, throughSeq: begun.throughSeq, seqs: begun.seqs }));
    return run;
  } catch (error) {
    if (options.catchFailures !== false) await failJob(ctx, { volumeId, runId: id, job: 'scrub' }, error);
    throw error;
  }
}

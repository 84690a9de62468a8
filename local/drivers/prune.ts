/**
 * The Prune job's local driver: the Prune machine's one task
 * (`infra/state-machines/prune-state-machine.ts`) and its Catch.
 *
 * ```
 *  Prune ─► end            any error ─► JobFailed (job prune), then the error is rethrown
 * ```
 */
import type { EngineContext } from '../../shared/engine/context';
import { prune, type PruneOutput } from '../../shared/engine/prune';
import { failJob, nextRunId, StepBoundaries, type DriveOptions } from './job';

/** The step boundaries of a prune. */
export const PRUNE_STEPS = ['Prune'] as const;
export type PruneStep = (typeof PRUNE_STEPS)[number];

export interface PruneDriveOptions extends DriveOptions<PruneStep> {
  /** Prune exactly these restore points instead of applying the retention policy. */
  readonly seqs?: readonly number[];
}

export interface PruneRun {
  readonly runId: string;
  readonly pruned?: PruneOutput;
}

/**
 * Runs one prune execution `runId` (a fresh one when absent) on `volumeId`.
 *
 * @throws Prune's error, after JobFailed (unless `catchFailures: false`)
 */
export async function drivePrune(ctx: EngineContext, volumeId: string, runId?: string, options: PruneDriveOptions = {}): Promise<PruneRun> {
  const id = runId ?? nextRunId('prune');
  const steps = new StepBoundaries<PruneStep>(options);
  try {
    const pruned = await steps.run('Prune', () => prune(ctx, { volumeId, runId: id, seqs: options.seqs === undefined ? undefined : [...options.seqs] }));
    return { runId: id, pruned };
  } catch (error) {
    if (options.catchFailures !== false) await failJob(ctx, { volumeId, runId: id, job: 'prune' }, error);
    throw error;
  }
}

/** `RestoreReport` (claim 12): the run's summary, or why it was refused. */
import type { JsonValue } from '../../core/ports/chain-store';
import { VolumeNotProtectedError } from '../../core/ports/errors';
import type { RestoreContext } from './context';
import type { Refusal, RestoreReportInput } from './schemas';

export interface RestoreReport {
  readonly volumeId: string;
  readonly runId: string;
  readonly mode?: 'delta' | 'full';
  readonly newVolumeId?: string;
  readonly restorePoint?: { seq: number; pointInTime: string; trust: 'trusted' | 'suspect' };
  /** Blocks the copy wrote into the target (a full restore writes none). */
  readonly blocksWritten: number;
  /** `|R|`: what a delta restore had to write. */
  readonly planBlocks: number;
  /** Allocated blocks of the snapshot the new volume came from: what a full copy would have written. */
  readonly volumeBlocksAllocated: number;
  readonly swapped: boolean;
  readonly refused?: Refusal;
}

/**
 * Summarizes the run for `status` and the CLI. A refused run (the Catch of `RestoreBegin`) reports
 * only why; a restore reports what it wrote against what a full copy would have.
 */
export async function restoreReport(ctx: RestoreContext, input: RestoreReportInput): Promise<RestoreReport> {
  const { volumeId, runId } = input;
  if (input.refused !== undefined || input.restorePoint === undefined) {
    const refused: RestoreReport = { volumeId, runId, blocksWritten: 0, planBlocks: 0, volumeBlocksAllocated: 0, swapped: false, refused: input.refused };
    await recordRefusal(ctx, refused);
    return refused;
  }
  const blocksWritten = (input.copied ?? []).reduce((sum, item) => sum + item.blocksWritten, 0);
  const reader = input.mode === 'full' ? ctx.secondary.reader : ctx.primary.reader;
  let volumeBlocksAllocated = 0;
  if (input.snapshotId !== undefined) {
    for await (const _block of reader.listBlocks(input.snapshotId)) volumeBlocksAllocated += 1;
  }
  const { seq, pointInTime, trust } = input.restorePoint;
  const report: RestoreReport = {
    volumeId,
    runId,
    mode: input.mode,
    newVolumeId: input.newVolumeId,
    restorePoint: { seq, pointInTime, trust },
    blocksWritten,
    planBlocks: input.planBlocks ?? 0,
    volumeBlocksAllocated,
    swapped: input.swapped === true,
  };
  // The run's plan and digests served the copy only; the snapshots and the volume stay.
  await ctx.store.deleteRunItems(volumeId, runId);
  // What `status` shows of the run; rewriting the same record on a retry is harmless.
  await ctx.store.putJobRecord(volumeId, { runId, job: 'restore', status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(), summary: toJson(report) });
  ctx.logger.info('restore done', { ...report.restorePoint, newVolumeId: report.newVolumeId, blocksWritten, volumeBlocksAllocated });
  return report;
}

/** Records a refusal where `status` shows it; an unprotected volume has nowhere to keep it. */
async function recordRefusal(ctx: RestoreContext, report: RestoreReport): Promise<void> {
  try {
    await ctx.store.putJobRecord(report.volumeId, {
      runId: report.runId,
      job: 'restore',
      status: 'failed',
      at: new Date(ctx.clock.now()).toISOString(),
      errorName: report.refused?.error,
      message: report.refused?.message,
    });
  } catch (error) {
    if (!(error instanceof VolumeNotProtectedError)) throw error;
  }
}

/** The report as a stored JSON value (absent fields dropped, as DynamoDB would). */
function toJson(report: RestoreReport): JsonValue {
  return JSON.parse(JSON.stringify(report)) as JsonValue;
}

/** The `refused` field of a report, from an error the Catch handed over. */
export function refusalOf(error: unknown): Refusal {
  return error instanceof Error ? { error: error.name, message: error.message } : { error: 'Error', message: String(error) };
}

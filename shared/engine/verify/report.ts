/**
 * `VerifyReport` (ARCHITECTURE.md "Verify", the last task): checks the fix-up covers `C'`,
 * deletes `P0`, records the report.
 */
import type { ChainEntry } from '../../core/chain-entry';
import type { EngineContext } from '../context';
import { FixupMissingError } from '../errors';
import { finishOf, plannedVolumeBlocks, readCommittedChain, recordedReport, toJson } from './common';
import { readVerifyMap } from './maps';
import type { VerifyReport } from './outputs';
import type { VerifyReportInput } from './schemas';

/** Mismatched block indexes quoted in a report; the full set stays in the chain store. */
const REPORT_BLOCK_SAMPLE = 100;

/**
 * `VerifyReport`: the final result. After a repair, checks that the fix-up entry (`fixupSeq`, or
 * the first `fixup` entry committed after `T1`) covers `C'`. Deletes `P0` (only the base primary
 * snapshot is kept), records the report in the run and the job's outcome in the job history. A
 * rerun returns the recorded report.
 *
 * @throws FixupMissingError when a repairing run has no fix-up entry covering `C'`
 */
export async function verifyReport(ctx: EngineContext, input: VerifyReportInput): Promise<VerifyReport> {
  const { volumeId, runId, fixupSeq } = input;
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  const recorded = recordedReport(run);
  if (recorded !== undefined) return recorded;
  const finish = finishOf(volumeId, run);
  const blocks = plannedVolumeBlocks(volumeId, run);
  const compare = (await readVerifyMap(ctx.store, volumeId, runId, 'compare', blocks)).deltaMap;
  const scope = (await readVerifyMap(ctx.store, volumeId, runId, 'scope', blocks)).deltaMap;
  let fixup: ChainEntry | undefined;
  if (finish.outcome === 'repair') {
    const revised = (await readVerifyMap(ctx.store, volumeId, runId, 'revised', blocks)).deltaMap;
    fixup = await findFixup(ctx, volumeId, runId, finish.t1, fixupSeq);
    const uncovered = revised.subtract(fixup.deltaMap);
    if (!uncovered.isEmpty()) {
      throw new FixupMissingError(
        `verify ${runId}: fix-up entry ${fixup.seq} does not copy ${uncovered.size} block(s) of C' (first ${uncovered.toArray()[0]}); run the fix-up again`,
        { volumeId, seq: fixup.seq },
      );
    }
  }
  await ctx.primary.snapshots.deleteSnapshot(run.p0);
  const report: VerifyReport = {
    volumeId,
    runId,
    quick: run.quick,
    outcome: finish.outcome === 'repair' ? 'repaired' : 'clean',
    t0: run.t0,
    t1: finish.t1,
    headSeqAtT0: run.headSeqAtT0,
    blocksScanned: scope.size,
    pendingBlocks: run.counts.pendingBlocks ?? 0,
    mismatches: finish.mismatches,
    rewrittenDuringScan: finish.rewrittenDuringScan,
    fixed: fixup === undefined ? 0 : finish.revised,
    fixupSeq: fixup?.seq,
    suspectPoints: finish.suspectPoints,
    residual: finish.residual,
    mismatchedBlocks: compare.toArray().slice(0, REPORT_BLOCK_SAMPLE),
  };
  await ctx.store.putVerifyRun(volumeId, {
    ...run,
    status: report.outcome,
    counts: { ...run.counts, blocksScanned: report.blocksScanned, fixed: report.fixed },
    result: { finish: toJson(finish), report: toJson(report) },
  });
  // The job's outcome beside the other jobs' (`ebs-cdp status` shows the last verify from it); a
  // failed verify is recorded by JobFailed the same way.
  await ctx.store.putJobRecord(volumeId, { runId, job: 'verify', status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(), summary: toJson(report) });
  ctx.logger.info('verify reported', { volumeId, runId, outcome: report.outcome, fixed: report.fixed, fixupSeq: report.fixupSeq });
  return report;
}

/** The fix-up entry of a repairing run. */
async function findFixup(ctx: EngineContext, volumeId: string, runId: string, t1: string, fixupSeq: number | undefined): Promise<ChainEntry> {
  if (fixupSeq !== undefined) {
    const entry = await ctx.store.getEntry(volumeId, fixupSeq);
    if (entry.kind !== 'fixup' || entry.status !== 'committed') {
      throw new FixupMissingError(`verify ${runId}: entry ${fixupSeq} is a ${entry.status} ${entry.kind} entry, not a committed fix-up`, { volumeId, seq: fixupSeq });
    }
    return entry;
  }
  const after = Date.parse(t1);
  for (const entry of await readCommittedChain(ctx, volumeId)) {
    if (entry.kind === 'fixup' && entry.committedAt !== undefined && Date.parse(entry.committedAt) > after) return entry;
  }
  throw new FixupMissingError(`verify ${runId} of ${volumeId} needs a repair but no fix-up entry was committed after ${t1}: run the fix-up`, { volumeId });
}

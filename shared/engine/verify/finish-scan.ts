/**
 * `VerifyFinishScan` (ARCHITECTURE.md "Verify", steps 3 and 5, claims 7–9 and 11): `SD`, `C'`
 * and the suspect walk at `T1`, under the volume lease.
 */
import { ChainInvariantError } from '../../core/errors';
import { revisedCompareMap, scanDeltaMap, scanIntervalSuspects, suspectWalk } from '../../core/verify-plan';
import type { EngineContext } from '../context';
import { ScanIncompleteError } from '../errors';
import { finishOf, iso, plannedSegments, plannedVolumeBlocks, readCommittedChain, toJson } from './common';
import { readVerifyMap, writeVerifyMap } from './maps';
import type { VerifyFinishScanOutput } from './outputs';
import type { VerifyFinishScanInput } from './schemas';

/**
 * `VerifyFinishScan` (steps 3 and 5, claims 7–9 and 11): at `T1`, `SD` (delta maps committed
 * during the scan), `C' = C − SD` persisted for the fix-up, the suspect walk from `C` plus the
 * entries committed during the scan, marked under the volume lease.
 *
 * The lease is taken before `T1`, so no sync commits between `T1` and the fix-up: an entry
 * committed there would inherit the bad blocks of `C'` unmarked. On `repair` the lease stays held
 * for the fix-up (same run, same fencing token); on `clean` it is released.
 *
 * The walk and `SD` are anchored on the head restore point at `T0` (the one whose snapshot the
 * scan compared) through its `committedAt`, not the wall-clock `T0`: a commit stamps its time
 * before it becomes visible, so wall-clock times cannot order it against the head read at `T0`.
 *
 * @throws ScanIncompleteError when a planned segment has no compare shard yet
 * @throws VolumeBusyError when a sync holds the lease (Step Functions retries)
 */
export async function verifyFinishScan(ctx: EngineContext, input: VerifyFinishScanInput): Promise<VerifyFinishScanOutput> {
  const { volumeId, runId } = input;
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  if (run.status !== 'scanning') return finishOf(volumeId, run);
  const blocks = plannedVolumeBlocks(volumeId, run);
  const planned = await plannedSegments(ctx, volumeId, run);
  const compareState = await readVerifyMap(ctx.store, volumeId, runId, 'compare', blocks);
  const scanned = new Set(compareState.segments);
  const missing = planned.filter((segment) => !scanned.has(segment));
  if (missing.length > 0) {
    throw new ScanIncompleteError(
      `verify ${runId} of ${volumeId}: segments ${missing.join(', ')} were not scanned yet; run their VerifyScanSegment items first`,
      { volumeId, segment: missing[0] },
    );
  }
  const lease = await ctx.store.acquireLease(volumeId, { holder: runId, runId, ttlMs: ctx.tuning.leaseTtlMs, now: ctx.clock.now() });
  const t1 = iso(ctx.clock.now());
  const chain = await readCommittedChain(ctx, volumeId);
  const anchor = chain.find((entry) => entry.seq === run.headSeqAtT0)?.committedAt;
  if (anchor === undefined) {
    throw new ChainInvariantError(`verify ${runId}: restore point ${run.headSeqAtT0}, compared by the scan, left the chain during it`, {
      volumeId,
      seq: run.headSeqAtT0,
    });
  }
  const compare = compareState.deltaMap;
  const revised = revisedCompareMap(compare, scanDeltaMap(chain, anchor, t1, blocks));
  const walk = suspectWalk(chain, compare, anchor);
  if (!compare.isEmpty() && walk.startSeq !== run.headSeqAtT0) {
    throw new ChainInvariantError(`verify ${runId}: the suspect walk would start at ${walk.startSeq}, not at the compared restore point ${run.headSeqAtT0}`, {
      volumeId,
      seq: run.headSeqAtT0,
    });
  }
  const marks = [...walk.marks, ...scanIntervalSuspects(chain, compare, anchor, t1)].sort((a, b) => a.seq - b.seq);
  if (marks.length > 0) await ctx.store.markSuspect(volumeId, marks, lease);
  await writeVerifyMap(ctx.store, volumeId, runId, 'revised', revised);
  const outcome = revised.isEmpty() ? 'clean' : 'repair';
  const finish: VerifyFinishScanOutput = {
    volumeId,
    runId,
    outcome,
    mismatches: compare.size,
    revised: revised.size,
    rewrittenDuringScan: compare.size - revised.size,
    suspectPoints: marks,
    residual: walk.residual.size,
    t1,
    fencingToken: outcome === 'repair' ? lease.fencingToken : undefined,
  };
  await ctx.store.putVerifyRun(volumeId, {
    ...run,
    status: outcome === 'clean' ? 'clean' : 'fixing',
    counts: { ...run.counts, mismatches: compare.size, revised: revised.size, suspectPoints: marks.length, residual: walk.residual.size },
    result: { finish: toJson(finish) },
  });
  if (outcome === 'clean') await ctx.store.releaseLease(volumeId, lease);
  ctx.logger.info('verify scan finished', { volumeId, runId, outcome, mismatches: compare.size, revised: revised.size, suspectPoints: marks.length });
  if (walk.residual.size > 0) {
    ctx.logger.warn('verify found bad blocks no restore point wrote', { volumeId, runId, residual: walk.residual.size });
  }
  return finish;
}

/**
 * `VerifyFinishScan` (ARCHITECTURE.md "Verify", steps 3 and 5, claims 7–9 and 11): `SD`, `C'`
 * and the suspect walk at `T1`, under the volume lease.
 */
import { ChainInvariantError } from '../../core/errors';
import { imageBadBlocks, suspectWalkVersions } from '../../core/bad-versions';
import { revisedCompareMap, scanDeltaMap, type SuspectMark } from '../../core/verify-plan';
import type { EngineContext } from '../context';
import { ScanIncompleteError } from '../errors';
import { finishOf, iso, plannedSegments, plannedVolumeBlocks, readCommittedChain, toJson } from './common';
import { readVerifyMap, writeVerifyMap } from './maps';
import type { VerifyFinishScanOutput } from './outputs';
import type { VerifyFinishScanInput } from './schemas';

/**
 * `VerifyFinishScan` (steps 3 and 5, claims 7–9 and 11): at `T1`, `SD` (delta maps committed
 * during the scan), `C' = C − SD` persisted, and the suspect walk from `C` recorded as bad
 * versions under the volume lease. Every image that holds one of them is suspect from then on,
 * the entries committed during the scan included: trust is derived, nothing is marked.
 *
 * `repair` when the head image holds a bad version (this run's or one an earlier fix-up failed
 * to repair): the lease stays held for the fix-up (same run, same fencing token), whose sync
 * carries the head's bad blocks. Had it failed, any later sync carries them just the same. On
 * `clean` the lease is released.
 *
 * `T0` and `T1` are chain positions: the walk starts at the head seq recorded at `T0`, and `SD`
 * is the union of the delta maps of the entries committed after it.
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
  if (!chain.some((entry) => entry.seq === run.headSeqAtT0)) {
    throw new ChainInvariantError(`verify ${runId}: restore point ${run.headSeqAtT0}, compared by the scan, left the chain during it`, {
      volumeId,
      seq: run.headSeqAtT0,
    });
  }
  const compare = compareState.deltaMap;
  // Instants are chain positions: the scan interval is every entry committed after the head at T0.
  const revised = revisedCompareMap(compare, scanDeltaMap(chain, run.headSeqAtT0, blocks));
  const walk = suspectWalkVersions(chain, compare, run.headSeqAtT0);
  if (walk.versions.size > 0) await ctx.store.recordBadVersions(volumeId, walk.versions, lease);
  // Trust is derived: re-read, so the marks reported are what every reader now sees.
  const marked = imageBadBlocks(chain, walk.versions);
  const after = marked.size === 0 ? chain : await readCommittedChain(ctx, volumeId);
  const marks: SuspectMark[] = after.filter((entry) => marked.has(entry.seq)).map((entry) => ({ seq: entry.seq, suspectBlocks: entry.suspectBlocks }));
  const head = after.at(-1);
  const pendingRepair = head === undefined ? 0 : head.suspectBlocks;
  await writeVerifyMap(ctx.store, volumeId, runId, 'revised', revised);
  // The head's bad blocks, not only this run's: a repair an earlier fix-up failed to make is due too.
  const outcome = pendingRepair === 0 ? 'clean' : 'repair';
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

/**
 * `VerifyScanSegment` (ARCHITECTURE.md "Verify", step 2, claims 1–2 and 4–6): one Map item, the
 * block comparison of `scan.ts` over one segment, its scope and compare shards persisted.
 */
import { PitMap } from '../../core/pit-map';
import type { EngineContext } from '../context';
import { plannedVolumeBlocks } from './common';
import { readVerifyMap, writeVerifySegment } from './maps';
import type { VerifyScanSegmentOutput } from './outputs';
import { scanSegment } from './scan';
import type { VerifyScanSegmentInput } from './schemas';

/**
 * `VerifyScanSegment` (step 2, claims 1–2 and 4–6): one Map item. Compares `P0` with `S_head` on
 * every block of the segment in scope and writes the segment's compare shard. Needs no lease:
 * both snapshots are immutable. A rerun rewrites the same shards.
 */
export async function verifyScanSegment(ctx: EngineContext, input: VerifyScanSegmentInput): Promise<VerifyScanSegmentOutput> {
  const { volumeId, runId, segment } = input;
  const run = await ctx.store.getVerifyRun(volumeId, runId);
  const blocks = plannedVolumeBlocks(volumeId, run);
  const head = await ctx.store.getEntry(volumeId, run.headSeqAtT0);
  const present = (await readVerifyMap(ctx.store, volumeId, runId, 'present', blocks)).deltaMap;
  const dirty = run.quick ? (await readVerifyMap(ctx.store, volumeId, runId, 'quick', blocks)).deltaMap : undefined;
  const { scope, compare } = await scanSegment({
    volumeId,
    segment,
    primaryReader: ctx.primary.reader,
    secondaryReader: ctx.secondary.reader,
    primarySnapshotId: run.p0,
    secondarySnapshotId: head.secondarySnapshotId,
    pitMap: PitMap.against(head, present),
    dirtyRegionLog: dirty,
    concurrency: ctx.tuning.blockWorkers,
  });
  // Scope first: the compare shard is what marks the segment scanned.
  await writeVerifySegment(ctx.store, volumeId, runId, 'scope', segment, scope);
  await writeVerifySegment(ctx.store, volumeId, runId, 'compare', segment, compare);
  ctx.logger.info('verify segment scanned', { volumeId, runId, segment, scanned: scope.size, mismatches: compare.size });
  return { segment, scanned: scope.size, mismatches: compare.size };
}

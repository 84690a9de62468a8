/** `ScrubFinish`: records what the scrub found as bad versions, under the volume lease. */
import { imageBadBlocks } from '../../core/bad-versions';
import { volumeBlocks } from '../../core/constants';
import type { DeltaMap } from '../../core/delta-map';
import type { SuspectMark } from '../../core/verify-plan';
import type { EngineContext } from '../context';
import { readCommittedChain } from '../verify/common';
import { SCRUB_JOB } from './begin';
import type { ScrubReport } from './outputs';
import { badMapName } from './segment';
import type { ScrubFinishInput } from './schemas';

/**
 * Gathers every segment's bad versions and records them (the one record of damage: every image
 * holding one is suspect from then on, and the next sync carries the head's), then records the
 * job (its `throughSeq` is where the next `new` scrub starts) and releases the lease.
 *
 * A point pruned while the scrub ran is left out: its copies that the successor still holds are
 * the successor's from then on, and the next scrub reads them there.
 *
 * @throws VolumeBusyError when a sync holds the lease (Step Functions retries)
 */
export async function scrubFinish(ctx: EngineContext, input: ScrubFinishInput): Promise<ScrubReport> {
  const { volumeId, runId, scope, throughSeq } = input;
  const lease = await ctx.store.acquireLease(volumeId, { holder: runId, runId, ttlMs: ctx.tuning.leaseTtlMs, now: ctx.clock.now() });
  try {
    const chain = await readCommittedChain(ctx, volumeId);
    const retained = new Set(chain.map((entry) => entry.seq));
    const blocks = volumeBlocks((await ctx.store.getVolume(volumeId)).volumeSize);
    const versions = new Map<number, DeltaMap>();
    const prunedMeanwhile: number[] = [];
    for (const seq of input.seqs) {
      if (!retained.has(seq)) {
        prunedMeanwhile.push(seq);
        continue;
      }
      const found = (await ctx.store.readRunMapSegments(volumeId, runId, badMapName(seq), blocks)).deltaMap;
      if (!found.isEmpty()) versions.set(seq, found);
    }
    if (versions.size > 0) await ctx.store.recordBadVersions(volumeId, versions, lease);
    const marked = imageBadBlocks(chain, versions);
    const after = marked.size === 0 ? chain : await readCommittedChain(ctx, volumeId);
    const suspectPoints: SuspectMark[] = after.filter((entry) => marked.has(entry.seq)).map((entry) => ({ seq: entry.seq, suspectBlocks: entry.suspectBlocks }));
    let badVersions = 0;
    for (const found of versions.values()) badVersions += found.size;
    const report: ScrubReport = { volumeId, runId, scope, throughSeq, pointsRead: input.seqs.length - prunedMeanwhile.length, badVersions, suspectPoints, prunedMeanwhile };
    await ctx.store.putJobRecord(volumeId, {
      runId, job: SCRUB_JOB, status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(),
      summary: JSON.parse(JSON.stringify(report)) as Record<string, never>,
    });
    await ctx.store.deleteRunItems(volumeId, runId);
    ctx.logger.info('scrub finished', { volumeId, runId, scope, badVersions, suspectPoints: suspectPoints.length });
    return report;
  } finally {
    await ctx.store.releaseLease(volumeId, lease);
  }
}

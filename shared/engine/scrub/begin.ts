/** `ScrubBegin`: which restore points and segments the scrub reads. */
import type { EngineContext } from '../context';
import { NothingToVerifyError } from '../errors';
import type { ScrubBeginOutput, ScrubItem } from './outputs';
import type { ScrubBeginInput } from './schemas';

/** The job whose records say how far the last scrub read. */
export const SCRUB_JOB = 'scrub';

/**
 * Lists the restore points in scope (every retained one, or those committed after the last
 * succeeded scrub's `throughSeq`) and one Map item per segment each one wrote. Reads only the
 * chain; a rerun answers the same unless the chain moved.
 *
 * Bound: the items are as many as the segments the points wrote (a 64 TiB baseline alone has
 * 2,048); past a few thousand the Map must read them from the store instead (noted in the README).
 *
 * @throws NothingToVerifyError when nothing is committed yet
 */
export async function scrubBegin(ctx: EngineContext, input: ScrubBeginInput): Promise<ScrubBeginOutput> {
  const { volumeId, runId, scope } = input;
  const volume = await ctx.store.getVolume(volumeId);
  if (volume.headSeq === undefined) {
    throw new NothingToVerifyError(`volume ${volumeId} has no restore point yet: run a sync before scrubbing`, { volumeId });
  }
  const fromSeq = scope === 'new' ? await lastScrubbedThrough(ctx, volumeId) + 1 : 0;
  const seqs: number[] = [];
  const items: ScrubItem[] = [];
  for await (const entry of ctx.store.readChain(volumeId, { fromSeq, toSeq: volume.headSeq })) {
    if (entry.status !== 'committed') continue;
    seqs.push(entry.seq);
    for (const segment of entry.deltaMap.segmentIndexes()) items.push({ seq: entry.seq, segment });
  }
  ctx.logger.info('scrub begun', { volumeId, runId, scope, fromSeq, points: seqs.length, items: items.length });
  return { volumeId, runId, scope, throughSeq: volume.headSeq, seqs, items };
}

/** The `throughSeq` of the newest succeeded scrub, or -1. */
async function lastScrubbedThrough(ctx: EngineContext, volumeId: string): Promise<number> {
  for (const record of await ctx.store.listJobRecords(volumeId)) {
    if (record.job !== SCRUB_JOB || record.status !== 'succeeded') continue;
    const summary = record.summary;
    if (typeof summary === 'object' && summary !== null && !Array.isArray(summary) && typeof summary.throughSeq === 'number') return summary.throughSeq;
  }
  return -1;
}

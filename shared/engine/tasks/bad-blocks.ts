/**
 * The bad blocks of one image, derived from the volume's bad versions (ARCHITECTURE.md "Verify",
 * `core/bad-versions.ts`): what the next sync must carry when the image is the head's (the
 * pending repair), and what a restore must not hand over unannounced.
 */
import { imageBadBlocks, oldestBadWriter } from '../../core/bad-versions';
import type { DeltaMap } from '../../core/delta-map';
import type { ChainStore } from '../../core/ports/chain-store';

/**
 * The bad blocks of restore point `seq`'s image, or undefined when it holds none. One Query when
 * the volume has no bad version; otherwise the chain from the oldest bad writer up to `seq`.
 */
export async function imageBadBlocksOf(store: Pick<ChainStore, 'readBadVersions' | 'readChain'>, volumeId: string, seq: number): Promise<DeltaMap | undefined> {
  const bad = await store.readBadVersions(volumeId);
  const oldest = oldestBadWriter(bad);
  if (oldest === undefined || oldest > seq) return undefined;
  const steps = [];
  for await (const entry of store.readChain(volumeId, { fromSeq: oldest, toSeq: seq })) if (entry.status === 'committed') steps.push(entry);
  return imageBadBlocks(steps, bad).get(seq);
}

/**
 * `ScrubSegment` (ARCHITECTURE.md "Verify": secondary scrub and structural check), one Map item,
 * run in the secondary's Region: the stored versions restore point `n` wrote in one segment,
 * each read back and compared with the digest its manifest holds. Only digests and block indexes
 * are used here; no block data leaves the secondary's Region.
 *
 * ```
 *  ListChangedBlocks(S_prev, S_n) ──► must list exactly D_n ∩ segment   (structural check)
 *  GetSnapshotBlock(S_n, b), b ∈ D_n ──► SHA-256 = manifest digest of b? (scrub)
 *  anything else ──► bad version (n, b), persisted as the run's map `bad-<n>`
 * ```
 */
import { createHash } from 'node:crypto';
import { runBlockPool } from '../../core/block-pool';
import { DIGEST_BYTES } from '../../core/checksum';
import type { ChainEntry } from '../../core/chain-entry';
import { segmentRange, volumeBlocks } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import { RestorePointNotFoundError } from '../../core/errors';
import type { DigestLayerSegment } from '../../core/ports/chain-store';
import { ChecksumMismatchError } from '../../core/ports/errors';
import type { EngineContext } from '../context';
import type { ScrubSegmentOutput } from './outputs';
import type { ScrubSegmentInput } from './schemas';

/** The run map a segment's bad versions of restore point `seq` go to. */
export function badMapName(seq: number): string {
  return `bad-${seq}`;
}

/** One re-read of a block whose checksum failed: damage in transit goes, damage at rest stays. */
const CHECKSUM_REREADS = 1;

/**
 * Reads back the stored versions restore point `seq` wrote in `segment` and persists the bad
 * ones. Needs no lease: `S_seq` and its parent are immutable, and what it finds is recorded by
 * `ScrubFinish` under the lease. A rerun rewrites the same map.
 */
export async function scrubSegment(ctx: EngineContext, input: ScrubSegmentInput): Promise<ScrubSegmentOutput> {
  const { volumeId, runId, seq, segment } = input;
  let entry: ChainEntry;
  try {
    entry = await ctx.store.getEntry(volumeId, seq);
  } catch (error) {
    if (error instanceof RestorePointNotFoundError) return { seq, segment, read: 0, bad: 0, structural: 0, unchecked: 0, skipped: 'pruned' };
    throw error;
  }
  const blocks = volumeBlocks(entry.volumeSize);
  const written = entry.deltaMap.segment(segment);
  const previous = await previousSecondary(ctx, volumeId, seq);
  const tokens = new Map<number, string>();
  const range = segmentRange(segment);
  if (previous === undefined) {
    for await (const listed of ctx.secondary.reader.listBlocks(entry.secondarySnapshotId, range)) tokens.set(listed.blockIndex, listed.blockToken);
  } else {
    for await (const changed of ctx.secondary.reader.listChangedBlocks(previous, entry.secondarySnapshotId, range)) {
      tokens.set(changed.blockIndex, changed.secondBlockToken ?? '');
    }
  }
  const bad = DeltaMap.empty(blocks);
  let structural = 0;
  // Structural check: a block D_n lists that S_n did not write (a lost put), or one S_n wrote
  // that D_n lacks (a wrong parent, a stray put): either way the image holds a copy no manifest vouches for.
  written.forEach((blockIndex) => {
    if ((tokens.get(blockIndex) ?? '') === '') {
      bad.add(blockIndex);
      structural++;
    }
  });
  for (const blockIndex of tokens.keys()) {
    if (blockIndex < blocks && !written.has(blockIndex)) {
      bad.add(blockIndex);
      structural++;
    }
  }
  const layers = await manifestLayers(ctx, volumeId, entry, segment, blocks);
  let read = 0;
  let unchecked = 0;
  const toRead = written.subtract(bad);
  await runBlockPool(
    toRead,
    async (blockIndex) => {
      const expected = expectedDigest(layers, blockIndex);
      if (expected === undefined) {
        unchecked++;
        return;
      }
      const data = await readOrDamaged(ctx, entry.secondarySnapshotId, blockIndex, tokens.get(blockIndex) ?? '');
      read++;
      if (data === 'damaged' || !createHash('sha256').update(data).digest().equals(expected)) bad.add(blockIndex);
    },
    { concurrency: ctx.tuning.blockWorkers, snapshotId: entry.secondarySnapshotId, volumeId },
  );
  await ctx.store.putRunMap(volumeId, runId, badMapName(seq), segment, bad);
  if (bad.size > 0) ctx.logger.warn('scrub found bad stored versions', { volumeId, runId, seq, segment, bad: bad.size, structural });
  return { seq, segment, read, bad: bad.size, structural, unchecked };
}

/** `S` of the retained restore point before `seq`, or undefined for the oldest. */
async function previousSecondary(ctx: EngineContext, volumeId: string, seq: number): Promise<string | undefined> {
  if (seq === 0) return undefined;
  for await (const entry of ctx.store.readChain(volumeId, { toSeq: seq - 1, order: 'descending' })) {
    if (entry.status === 'committed') return entry.secondarySnapshotId;
  }
  return undefined;
}

/** A manifest layer's segment with its blocks as a sorted array: a digest's position is a binary search away. */
interface Layer {
  readonly blocks: Uint32Array;
  readonly digests: Uint8Array;
}

/** The entry's manifest layers for one segment, own first (entries without a manifest have none). */
async function manifestLayers(ctx: EngineContext, volumeId: string, entry: ChainEntry, segment: number, blocks: number): Promise<Layer[]> {
  const layers: Layer[] = [];
  for (const layerRunId of entry.manifestLayers ?? []) {
    const layer: DigestLayerSegment | undefined = await ctx.store.readDigestLayerSegment(volumeId, layerRunId, segment, blocks);
    if (layer !== undefined) layers.push({ blocks: layer.blocks.toUint32Array(), digests: layer.digests });
  }
  return layers;
}

/** The digest of `blockIndex` in the first layer that lists it (the copy the image holds). */
function expectedDigest(layers: readonly Layer[], blockIndex: number): Buffer | undefined {
  for (const layer of layers) {
    let low = 0;
    let high = layer.blocks.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = layer.blocks[middle];
      if (found === blockIndex) return Buffer.from(layer.digests.subarray(middle * DIGEST_BYTES, (middle + 1) * DIGEST_BYTES));
      if (found < blockIndex) low = middle + 1;
      else high = middle - 1;
    }
  }
  return undefined;
}

async function readOrDamaged(ctx: EngineContext, snapshotId: string, blockIndex: number, token: string): Promise<Uint8Array | 'damaged'> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.secondary.reader.getBlock(snapshotId, blockIndex, token);
    } catch (error) {
      if (!(error instanceof ChecksumMismatchError)) throw error;
      if (attempt >= CHECKSUM_REREADS) return 'damaged';
    }
  }
}

/**
 * Geometry of EBS snapshots as the direct APIs see them (see EBS-FACTS.md).
 * These are facts of the service, not tuning knobs.
 */
import type { BlockRange } from './ports/snapshots';

/** Bytes in one block: the unit of GetSnapshotBlock / PutSnapshotBlock. */
export const BLOCK_SIZE = 524_288;

/** Blocks in one GiB (1 GiB / 512 KiB): volume sizes are given in GiB. */
export const BLOCKS_PER_GIB = 2_048;

/** Largest volume StartSnapshot accepts, in GiB. */
export const MAX_VOLUME_SIZE_GIB = 65_536;

/** Blocks of the largest volume: 65,536 GiB × 2,048 = 134,217,728. */
export const MAX_VOLUME_BLOCKS = MAX_VOLUME_SIZE_GIB * BLOCKS_PER_GIB;

/**
 * Blocks in one segment (32 GiB): the unit of parallelism (one Map item) and of storage
 * sharding (one DynamoDB item per delta-map segment). 65,536 = 2^16, so a block's offset in
 * its segment fits 16 bits, which keeps the serialized form compact.
 */
export const BLOCKS_PER_SEGMENT = 65_536;

/** Number of blocks of a volume of `volumeSize` GiB. */
export function volumeBlocks(volumeSize: number): number {
  return volumeSize * BLOCKS_PER_GIB;
}

/** Segment that holds `blockIndex`. */
export function segmentOf(blockIndex: number): number {
  return Math.floor(blockIndex / BLOCKS_PER_SEGMENT);
}

/** Number of segments of a volume of `blocks` blocks (the last one may be partial). */
export function segmentCount(blocks: number): number {
  return Math.ceil(blocks / BLOCKS_PER_SEGMENT);
}

/** The block range of `segment` (the last segment of a volume simply lists nothing past its end). */
export function segmentRange(segment: number): BlockRange {
  return { start: segment * BLOCKS_PER_SEGMENT, end: (segment + 1) * BLOCKS_PER_SEGMENT };
}

/**
 * Scanning one segment of a verify (claims 1–2, 4): list both snapshots' blocks of the segment
 * for their tokens, keep the blocks the PIT map says to compare, read both versions of each with
 * bounded concurrency (the readers' rate limiters keep every request under the EBS quotas) and
 * record where the bytes differ.
 *
 * ```
 * segment s:   P0      ■ ■ □ ■ ■ ■ □ □      ■ allocated, □ unlisted (reads as zeros)
 *              S_head  ■ ■ ■ □ ■ ■ □ □
 *              D0          ·       ·        pending: the next sync copies them, not compared
 * compared:            ✓ ✓ ✓ ✓ ✓ ✓          allocated on either side, not pending
 * read:                both sides where listed, zeros where unlisted; □□ on both sides: no read
 * ```
 */
import { BLOCK_SIZE, segmentRange } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import type { PitMap } from '../../core/pit-map';
import type { SnapshotReader } from '../../core/ports/snapshots';
import { compareDeltaMap, scanScope } from '../../core/verify-plan';
import { runBlockPool } from '../../core/block-pool';
import { ChecksumMismatchError } from '../../core/ports/errors';
import { PrimaryBlockUnreadableError } from '../errors';

/**
 * Extra reads of a block whose bytes failed their SHA-256 check. One re-read tells damage in
 * transit (gone on the second read) from damage at rest (still there); more would only cost
 * requests.
 */
const CHECKSUM_REREADS = 1;

/** What one segment's scan needs. */
export interface SegmentScanRequest {
  readonly volumeId: string;
  readonly segment: number;
  readonly primaryReader: SnapshotReader;
  readonly secondaryReader: SnapshotReader;
  /** `P0`, taken at `T0`. */
  readonly primarySnapshotId: string;
  /** `S_head` of the head at `T0`. */
  readonly secondarySnapshotId: string;
  /** The PIT map: `D0` pending, everything else compared with `S_head`. */
  readonly pitMap: PitMap;
  /** Quick verify: only these blocks (claims 5–6). */
  readonly dirtyRegionLog?: DeltaMap;
  /**
   * Blocks compared at once (the engine's `blockWorkers`): each holds two 512 KiB buffers, as a
   * copy worker does. The rate limiters, not this number, set the request rate.
   */
  readonly concurrency: number;
}

/** What one segment's scan found. */
export interface SegmentScanResult {
  /** The blocks compared (the segment's scan scope). */
  readonly scope: DeltaMap;
  /** The segment's compare delta map `C`: the blocks whose bytes differed. */
  readonly compare: DeltaMap;
}

/**
 * Scans one segment: compares `P0` with `S_head` on every block in scope.
 *
 * A secondary block whose bytes keep failing their checksum is a mismatch (it is damaged at rest,
 * which is what verify looks for; the fix-up rewrites it). A primary block that does is not: the
 * scan cannot know the right version, so the block fails and the segment with it.
 *
 * @throws BlockCopyFailedError listing every block that could not be compared
 */
export async function scanSegment(request: SegmentScanRequest): Promise<SegmentScanResult> {
  const range = segmentRange(request.segment);
  const [primaryTokens, secondaryTokens] = await Promise.all([
    listTokens(request.primaryReader, request.primarySnapshotId, range),
    listTokens(request.secondaryReader, request.secondarySnapshotId, range),
  ]);
  const volumeBlocks = request.pitMap.volumeBlocks;
  const allocated = DeltaMap.empty(volumeBlocks);
  for (const blockIndex of primaryTokens.keys()) if (blockIndex < volumeBlocks) allocated.add(blockIndex);
  for (const blockIndex of secondaryTokens.keys()) if (blockIndex < volumeBlocks) allocated.add(blockIndex);
  const scope = scanScope({ pitMap: request.pitMap, segmentIndex: request.segment, allocated, dirtyRegionLog: request.dirtyRegionLog });

  const mismatches: number[] = [];
  await runBlockPool(
    scope,
    async (blockIndex) => {
      const [primary, secondary] = await Promise.all([
        readOrZeros(request.primaryReader, request.primarySnapshotId, blockIndex, primaryTokens.get(blockIndex)),
        readOrZeros(request.secondaryReader, request.secondarySnapshotId, blockIndex, secondaryTokens.get(blockIndex)),
      ]);
      if (primary === 'damaged') {
        throw new PrimaryBlockUnreadableError(
          `block ${blockIndex} of primary snapshot ${request.primarySnapshotId} fails its checksum on every read; the scan cannot judge it: retry the segment`,
          { volumeId: request.volumeId, snapshotId: request.primarySnapshotId, blockIndex },
        );
      }
      if (secondary === 'damaged' || !sameBytes(primary, secondary)) mismatches.push(blockIndex);
    },
    { concurrency: request.concurrency, snapshotId: request.secondarySnapshotId, volumeId: request.volumeId },
  );
  mismatches.sort((a, b) => a - b);
  return { scope, compare: compareDeltaMap(scope, mismatches) };
}

/** Block tokens of a snapshot's allocated blocks in `range`. */
async function listTokens(reader: SnapshotReader, snapshotId: string, range: { start: number; end: number }): Promise<Map<number, string>> {
  const tokens = new Map<number, string>();
  for await (const block of reader.listBlocks(snapshotId, range)) tokens.set(block.blockIndex, block.blockToken);
  return tokens;
}

/** Shared by every unlisted block: it is only ever compared, never written to. */
const ZERO_BLOCK = new Uint8Array(BLOCK_SIZE);

/** A block's bytes; zeros when unlisted; `damaged` when its checksum keeps failing. */
async function readOrZeros(reader: SnapshotReader, snapshotId: string, blockIndex: number, token: string | undefined): Promise<Uint8Array | 'damaged'> {
  if (token === undefined) return ZERO_BLOCK;
  for (let attempt = 0; ; attempt++) {
    try {
      return await reader.getBlock(snapshotId, blockIndex, token);
    } catch (error) {
      if (!(error instanceof ChecksumMismatchError)) throw error;
      if (attempt >= CHECKSUM_REREADS) return 'damaged';
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

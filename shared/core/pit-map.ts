/**
 * The point-in-time (PIT) map of a verify (claims 3–4, 15–16): for each block of the primary
 * snapshot `P0` taken at `T0`, which secondary snapshot holds the version to compare it with,
 * or *pending* when the primary changed the block since the head restore point.
 *
 * ```
 * chain:   … ── S_head ──────────────── (next sync copies D0)
 * primary: … ── P_head ── writes ── P0 (T0)
 *                          └── D0 = changes(P_head → P0): pending, not compared
 * every other block: P0 holds the same version as P_head, which S_head holds → compare with S_head
 * ```
 */
import type { ChainEntry } from './chain-entry';
import { type Chain, headEntry } from './chain';
import { segmentCount, volumeBlocks } from './constants';
import { DeltaMap } from './delta-map';
import { BlockRangeError, ChainInvariantError } from './errors';

/** Where the version of one block lives at the PIT. */
export type PitSource =
  | { readonly kind: 'secondary'; readonly seq: number; readonly secondarySnapshotId: string }
  | { readonly kind: 'pending' };

/** The PIT map at the start of a verify: `D0` pending, everything else compared with `S_head`. */
export class PitMap {
  private constructor(
    /** The head restore point at `T0`, whose secondary snapshot is compared. */
    readonly head: ChainEntry,
    /** `D0 = changes(P_head → P0)`, sized to `P0`'s volume. */
    private readonly pending: DeltaMap,
  ) {}

  /**
   * Builds the PIT map of a verify starting now.
   *
   * @param chain - the chain at `T0`; its head is the restore point compared
   * @param presentDeltaMap - `D0 = changes(P_head → P0)` (see `presentDeltaMap` in chain.ts)
   * @throws ChainInvariantError when nothing is committed, or `D0` is smaller than the head's volume
   * @example
   * const pit = PitMap.atVerifyStart(chain, d0);
   * const toCompare = pit.blocksToCompare(0, allocatedInP0.union(allocatedInShead));
   */
  static atVerifyStart(chain: Chain, presentDeltaMap: DeltaMap): PitMap {
    return PitMap.against(headEntry(chain), presentDeltaMap);
  }

  /**
   * A PIT map comparing with the secondary snapshot of any entry. Adopting a sync that completed
   * its snapshot but crashed before committing compares the pending entry's `S` with its own
   * `P` (so `presentDeltaMap` is empty), restricted to the dirty region log (claims 5–6).
   *
   * @throws ChainInvariantError when `presentDeltaMap` is smaller than the entry's volume
   */
  static against(head: ChainEntry, presentDeltaMap: DeltaMap): PitMap {
    if (presentDeltaMap.volumeBlocks < volumeBlocks(head.volumeSize)) {
      throw new ChainInvariantError(
        `the present delta map covers ${presentDeltaMap.volumeBlocks} blocks, fewer than restore point ${head.seq} (${head.volumeSize} GiB): volumes only grow`,
        { seq: head.seq, snapshotId: head.secondarySnapshotId },
      );
    }
    return new PitMap(head, presentDeltaMap.clone());
  }

  /** Blocks of `P0`'s volume: the extent the verify scans. */
  get volumeBlocks(): number {
    return this.pending.volumeBlocks;
  }

  /** A copy of `D0`: the blocks the next sync copies, which the verify leaves alone. */
  pendingBlocks(): DeltaMap {
    return this.pending.clone();
  }

  /** True when the block changed since the head, so the verify does not compare it. */
  isPending(blockIndex: number): boolean {
    this.checkBlock(blockIndex);
    return this.pending.has(blockIndex);
  }

  /**
   * Where the version of `blockIndex` lives. A block beyond `S_head`'s volume that is not
   * pending reads as zeros on both sides (nothing wrote it), so it still maps to `S_head`.
   *
   * @throws BlockRangeError outside `[0, volumeBlocks)`
   */
  sourceOf(blockIndex: number): PitSource {
    if (this.isPending(blockIndex)) return { kind: 'pending' };
    return { kind: 'secondary', seq: this.head.seq, secondarySnapshotId: this.head.secondarySnapshotId };
  }

  /**
   * The blocks of one segment to read and compare: those allocated in `P0` or `S_head`, minus
   * the pending ones. A block allocated in neither reads as zeros on both sides and needs no read.
   *
   * @param segmentIndex - the segment one Map item scans
   * @param allocated - blocks allocated in `P0` or `S_head` (ListSnapshotBlocks of both, united)
   * @returns a map sized to `P0`'s volume holding only blocks of that segment
   * @throws BlockRangeError for a segment outside the volume or a map larger than `P0`'s volume
   */
  blocksToCompare(segmentIndex: number, allocated: DeltaMap): DeltaMap {
    if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= segmentCount(this.volumeBlocks)) {
      throw new BlockRangeError(`segment ${segmentIndex} is outside a volume of ${this.volumeBlocks} blocks`, { segment: segmentIndex });
    }
    if (allocated.volumeBlocks > this.volumeBlocks) {
      throw new BlockRangeError(
        `the allocated-block map covers ${allocated.volumeBlocks} blocks, more than P0's ${this.volumeBlocks}`,
        { segment: segmentIndex },
      );
    }
    const sized = allocated.volumeBlocks < this.volumeBlocks ? allocated.resize(this.volumeBlocks) : allocated;
    return sized.segment(segmentIndex).subtract(this.pending);
  }

  private checkBlock(blockIndex: number): void {
    if (!Number.isSafeInteger(blockIndex) || blockIndex < 0 || blockIndex >= this.volumeBlocks) {
      throw new BlockRangeError(`block ${blockIndex} is outside a volume of ${this.volumeBlocks} blocks`, { blockIndex });
    }
  }
}

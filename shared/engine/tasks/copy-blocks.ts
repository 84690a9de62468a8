/**
 * Copying one segment's blocks from a source snapshot into a target snapshot, and completing the
 * target with the LINEAR aggregate over every segment's persisted digests. Shared by sync,
 * fix-up (secondary ← `P_now`) and restore (primary-side target ← `S_k`).
 *
 * Why digests are persisted: the segments of one snapshot are copied by different Lambdas (one
 * Map item each), and CompleteSnapshot needs the SHA-256 of every block written, in ascending
 * block order, across all of them. Each CopySegment stores its segment's digests in the chain
 * table (`DIG#<runId>#<segment>#<chunk>`); the completing step reads them back in segment order.
 */
import { segmentRange } from '../../core/constants';
import { createHash } from 'node:crypto';
import { runBlockPool } from '../../core/block-pool';
import { DIGEST_BYTES } from '../../core/checksum';
import type { DeltaMap } from '../../core/delta-map';
import type { ChainStore } from '../../core/ports/chain-store';
import type { SnapshotReader, SnapshotState, SnapshotWaiter, SnapshotWriter, WrittenBlocks } from '../../core/ports/snapshots';
import type { EngineLogger } from '../context';
import { DigestsIncompleteError } from '../errors';

/** What {@link copySegmentBlocks} needs: the two sides' ports for this copy and the store. */
export interface CopyPorts {
  readonly store: ChainStore;
  /** Reads the source snapshot. */
  readonly reader: SnapshotReader;
  /** Writes the target snapshot. */
  readonly writer: SnapshotWriter;
  readonly logger: EngineLogger;
  /** Blocks in flight at once. */
  readonly blockWorkers: number;
  /**
   * Beaten before each block and before the digests are persisted (a lease-holding copy: the
   * `LeaseHeartbeat` of `./lease.ts`); its error stops the copy with nothing persisted.
   */
  readonly heartbeat?: Heartbeat;
}

/** What a copy loop beats while it works; throws to stop it. */
export interface Heartbeat {
  beat(): Promise<void>;
}

export interface CopySegmentRequest {
  readonly volumeId: string;
  /** The run whose digests these are: the completing step reads this run's digests. */
  readonly runId: string;
  readonly segment: number;
  /** The blocks to write; only those of `segment` are copied. */
  readonly blocks: DeltaMap;
  /**
   * Where the blocks come from. A block the source does not list (cleared, never written, or
   * beyond the source's volume size) is written as zeros; undefined = every block is zeros.
   */
  readonly sourceSnapshotId: string | undefined;
  /** A pending snapshot (StartSnapshot) that takes the blocks. */
  readonly targetSnapshotId: string;
}

export interface CopySegmentResult {
  readonly segment: number;
  /** Blocks written to the target (data and zeros). */
  readonly blocksWritten: number;
  /** Of those, blocks written as explicit zeros. */
  readonly zeroBlocks: number;
}

/**
 * Copies the blocks of one segment: lists the source's tokens for the segment, then gets each
 * block (SHA-256 checked by the reader), puts it with its checksum (bounded pool, the side's rate
 * limiter), and persists the digest of every block written in ascending block order.
 * Idempotent: re-putting a block into a pending snapshot overwrites it, and the digests replace
 * the earlier attempt's.
 *
 * @throws BlockCopyFailedError listing every block that failed after its retries
 * @example
 * await copySegmentBlocks(ports, { volumeId, runId, segment: 0, blocks: drl, sourceSnapshotId: pNow, targetSnapshotId: sNext });
 */
export async function copySegmentBlocks(ports: CopyPorts, request: CopySegmentRequest): Promise<CopySegmentResult> {
  const { segment, targetSnapshotId, sourceSnapshotId } = request;
  const wanted = request.blocks.segment(segment);
  const blocks = wanted.toUint32Array();
  const tokens = new Map<number, string>();
  if (sourceSnapshotId !== undefined && blocks.length > 0) {
    for await (const listed of ports.reader.listBlocks(sourceSnapshotId, segmentRange(segment))) {
      await ports.heartbeat?.beat();
      if (wanted.has(listed.blockIndex)) tokens.set(listed.blockIndex, listed.blockToken);
    }
  }
  const position = new Map<number, number>();
  blocks.forEach((blockIndex, at) => position.set(blockIndex, at));
  const digests = new Uint8Array(blocks.length * DIGEST_BYTES);
  let zeroBlocks = 0;
  // The heartbeat runs in the pool's block source: its error ends the pool as itself (a
  // LeaseLostError, not a BlockCopyFailedError of every block still queued).
  await runBlockPool(
    ports.heartbeat === undefined ? blocks : beatingBefore(blocks, ports.heartbeat),
    async (blockIndex) => {
      const token = tokens.get(blockIndex);
      let digest: Uint8Array;
      if (token === undefined || sourceSnapshotId === undefined) {
        digest = await ports.writer.putZeroBlock(targetSnapshotId, blockIndex);
        zeroBlocks++;
      } else {
        const data = await ports.reader.getBlock(sourceSnapshotId, blockIndex, token);
        digest = await ports.writer.putBlock(targetSnapshotId, blockIndex, data);
      }
      digests.set(digest, (position.get(blockIndex) ?? 0) * DIGEST_BYTES);
    },
    { concurrency: ports.blockWorkers, snapshotId: targetSnapshotId, volumeId: request.volumeId },
  );
  await ports.heartbeat?.beat();
  await ports.store.putBlockDigests(request.volumeId, request.runId, segment, digests, wanted);
  ports.logger.info('segment copied', { segment, blocksWritten: blocks.length, zeroBlocks, sourceSnapshotId, targetSnapshotId });
  return { segment, blocksWritten: blocks.length, zeroBlocks };
}

/**
 * `blocks`, with a beat before each one: a block pool's source that stops the pool with the
 * beat's own error (a LeaseLostError), not as a failure of every block still queued.
 */
export async function* beatingBefore(blocks: Iterable<number>, heartbeat: Heartbeat): AsyncGenerator<number> {
  for (const blockIndex of blocks) {
    await heartbeat.beat();
    yield blockIndex;
  }
}

/**
 * The LINEAR aggregate over digests fed in ascending block order: SHA-256 of the concatenated
 * raw digests, and their count. Streams, so a snapshot of millions of blocks never holds them all.
 */
class OrderedDigests implements WrittenBlocks {
  private readonly hash = createHash('sha256');
  private count = 0;

  add(digests: Uint8Array): void {
    this.hash.update(digests);
    this.count += digests.length / DIGEST_BYTES;
  }

  get blocks(): number {
    return this.count;
  }

  record(_blockIndex: number, digest: Uint8Array): void {
    this.add(digest);
  }

  aggregate(): { changedBlocksCount: number; checksum: string } {
    return { changedBlocksCount: this.count, checksum: this.hash.copy().digest('base64') };
  }
}

export interface CompleteFromDigestsRequest {
  readonly volumeId: string;
  /** The run whose CopySegment items persisted the digests. */
  readonly runId: string;
  readonly snapshotId: string;
  /** Blocks the plan wrote; when given, the persisted digests must add up to it. */
  readonly expectedBlocks?: number;
}

export interface CompletePorts {
  readonly store: ChainStore;
  readonly writer: SnapshotWriter;
  readonly waiter: SnapshotWaiter;
}

/**
 * Completes a snapshot with the LINEAR aggregate over every block digest its run persisted, in
 * ascending segment (hence block) order, and `ChangedBlocksCount`. Idempotent: a snapshot no
 * longer pending (completed by an earlier attempt) is reported as it is.
 *
 * @returns the state EBS reports (`pending` until it has checked the aggregate)
 * @throws DigestsIncompleteError when the digests do not add up to `expectedBlocks`
 * @throws ChainStoreCorruptError when a segment's digest chunks are incomplete
 */
export async function completeSnapshotFromDigests(ports: CompletePorts, request: CompleteFromDigestsRequest): Promise<SnapshotState> {
  const status = await ports.waiter.status(request.snapshotId);
  if (status.state !== 'pending') return status.state;
  const written = new OrderedDigests();
  for await (const { digests } of ports.store.readBlockDigests(request.volumeId, request.runId)) written.add(digests);
  if (request.expectedBlocks !== undefined && written.blocks !== request.expectedBlocks) {
    throw new DigestsIncompleteError(
      `snapshot ${request.snapshotId}: run ${request.runId} persisted digests of ${written.blocks} blocks but its plan wrote ` +
        `${request.expectedBlocks}; run the missing CopySegment items again, then complete`,
      { volumeId: request.volumeId, snapshotId: request.snapshotId });
  }
  return ports.writer.completeSnapshot(request.snapshotId, written);
}

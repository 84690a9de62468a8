/**
 * SHA-256 of blocks and the LINEAR aggregate CompleteSnapshot checks (EBS-FACTS.md, Checksums).
 */
import { createHash } from 'node:crypto';
import { BLOCK_SIZE } from './constants';
import { BlockRangeError } from './errors';

/** Bytes of a SHA-256 digest. */
export const DIGEST_BYTES = 32;

/** What EBS calls the algorithm in `x-amz-Checksum-Algorithm`. */
export const CHECKSUM_ALGORITHM = 'SHA256';

/** What EBS calls the aggregation in `x-amz-Checksum-Aggregation-Method`. */
export const CHECKSUM_AGGREGATION_METHOD = 'LINEAR';

/** Bytes of one record of {@link BlockDigests.toBytes}: a u32 block index, then the digest. */
const RECORD_BYTES = 4 + DIGEST_BYTES;

/** Slots a fresh {@link BlockDigests} holds before it first grows: small, grows by doubling. */
const INITIAL_SLOTS = 1_024;

/** Raw 32-byte SHA-256 of `data`. */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Base64 SHA-256 of `data`, as `x-amz-Checksum` carries it. */
export function sha256Base64(data: Uint8Array): string {
  return sha256(data).toString('base64');
}

/** One block of zeros: what a block that must read as zeros is written as (encrypted lineages). */
export const ZERO_BLOCK: Readonly<Buffer> = Buffer.alloc(BLOCK_SIZE);

/** SHA-256 of {@link ZERO_BLOCK}, computed once because sparse copies write it often. */
export const ZERO_BLOCK_DIGEST: Readonly<Buffer> = sha256(ZERO_BLOCK);

/**
 * The digests of the blocks written to one snapshot, recorded in any order (writes run in
 * parallel) and aggregated in ascending block index at completion.
 *
 * Memory: 36 bytes per write in flat typed arrays (a 1 TiB full copy of 2M blocks is ~75 MiB),
 * not a `Map` of `Buffer`s, which would cost several times that in object headers.
 * A block written twice counts once, with its last recorded digest, as EBS keeps the last write.
 *
 * @example
 * const digests = new BlockDigests();
 * digests.record(7, sha256(block7));
 * digests.record(3, sha256(block3));
 * const { changedBlocksCount, checksum } = digests.aggregate(); // over 3 then 7
 */
export class BlockDigests {
  private indexes = new Uint32Array(INITIAL_SLOTS);
  private digests = new Uint8Array(INITIAL_SLOTS * DIGEST_BYTES);
  private used = 0;

  /** Records that `blockIndex` was written with content of SHA-256 `digest` (raw 32 bytes). */
  record(blockIndex: number, digest: Uint8Array): void {
    if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex > 0xffff_ffff) {
      throw new BlockRangeError(`block index ${blockIndex} is not a valid EBS block index`, { blockIndex });
    }
    if (digest.length !== DIGEST_BYTES) {
      throw new RangeError(`a SHA-256 digest has ${DIGEST_BYTES} bytes, got ${digest.length}`);
    }
    if (this.used === this.indexes.length) this.grow();
    this.indexes[this.used] = blockIndex;
    this.digests.set(digest, this.used * DIGEST_BYTES);
    this.used++;
  }

  /** Records made (a block written twice counts twice here, once in the aggregate). */
  get records(): number {
    return this.used;
  }

  /**
   * The values CompleteSnapshot takes: the number of distinct blocks written, and the base64
   * SHA-256 over their raw digests concatenated in ascending block index.
   */
  aggregate(): { changedBlocksCount: number; checksum: string } {
    const order = this.lastWriteOrder();
    const hash = createHash('sha256');
    for (const slot of order) hash.update(this.digests.subarray(slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES));
    return { changedBlocksCount: order.length, checksum: hash.digest('base64') };
  }

  /**
   * A compact form (36 bytes per distinct block, ascending) to hand the digests to another
   * process, e.g. from the Lambdas that wrote segments to the one that completes the snapshot.
   */
  toBytes(): Uint8Array {
    const order = this.lastWriteOrder();
    const out = new Uint8Array(order.length * RECORD_BYTES);
    const view = new DataView(out.buffer);
    order.forEach((slot, i) => {
      view.setUint32(i * RECORD_BYTES, this.indexes[slot]);
      out.set(this.digests.subarray(slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES), i * RECORD_BYTES + 4);
    });
    return out;
  }

  /** Adds every record of `bytes` (from {@link toBytes}); later records win over earlier ones. */
  addBytes(bytes: Uint8Array): this {
    if (bytes.length % RECORD_BYTES !== 0) {
      throw new RangeError(`block digests come in records of ${RECORD_BYTES} bytes; got ${bytes.length} bytes`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; at += RECORD_BYTES) {
      this.record(view.getUint32(at), bytes.subarray(at + 4, at + RECORD_BYTES));
    }
    return this;
  }

  /** Slots in ascending block index, keeping only the last record of each block. */
  private lastWriteOrder(): number[] {
    const slots = Array.from({ length: this.used }, (_, slot) => slot);
    // Ties broken by slot so that the last record of a block comes last among its equals.
    slots.sort((a, b) => this.indexes[a] - this.indexes[b] || a - b);
    const kept: number[] = [];
    for (let i = 0; i < slots.length; i++) {
      const next = slots[i + 1];
      if (next === undefined || this.indexes[next] !== this.indexes[slots[i]]) kept.push(slots[i]);
    }
    return kept;
  }

  private grow(): void {
    const indexes = new Uint32Array(this.indexes.length * 2);
    indexes.set(this.indexes);
    const digests = new Uint8Array(this.digests.length * 2);
    digests.set(this.digests);
    this.indexes = indexes;
    this.digests = digests;
  }
}

import { BLOCKS_PER_SEGMENT, MAX_VOLUME_BLOCKS, segmentCount } from './constants';
import { BlockRangeError, DeltaMapDecodeError, VolumeSizeMismatchError } from './errors';
import { decodeContainer, encodeContainer, planEncoding, writeContainer } from './segment-codec';
import {
  ArrayContainer,
  type Container,
  containersEqual,
  intersectContainers,
  subtractContainers,
  unionContainers,
} from './segment-container';

/**
 * Local copy of the segment size: under tsx/esbuild an imported binding is read through a
 * getter on every access, which costs more than the rest of `add` in a hot loop.
 */
const SEGMENT_BLOCKS = BLOCKS_PER_SEGMENT;

/**
 * A set of block indexes of one volume: which blocks changed between two restore points
 * (a delta map), which differ between primary and secondary (a compare map), which are in
 * flight (a dirty region log).
 *
 * Kept as one container per non-empty segment of 65,536 blocks (a Roaring-style chunk:
 * sorted offsets when sparse, a bitmap when dense, runs when clustered), so memory follows the
 * number of changed blocks and extents, not the volume size, and every segment serializes on its
 * own into one DynamoDB item.
 *
 * Binary operations return new maps and accept maps of different volume sizes, because a
 * volume may grow between restore points: `union` takes the larger size, `subtract` and
 * `intersect` keep the left operand's.
 *
 * @example
 * ```ts
 * const changed = DeltaMap.of(volumeBlocks(8), [0, 1, 70_000]);
 * const synced = DeltaMap.empty(volumeBlocks(8)).addRange(0, 2);
 * changed.subtract(synced).toArray(); // [70000]
 * ```
 */
export class DeltaMap implements Iterable<number> {
  /** Segment indexes of the non-empty segments, ascending; `containers[i]` holds segment `keys[i]`. */
  private keys: number[];
  private containers: Container[];

  private constructor(
    readonly volumeBlocks: number,
    keys: number[] = [],
    containers: Container[] = [],
  ) {
    if (!Number.isSafeInteger(volumeBlocks) || volumeBlocks < 0 || volumeBlocks > MAX_VOLUME_BLOCKS) {
      throw new BlockRangeError(
        `a delta map covers 0 to ${MAX_VOLUME_BLOCKS} blocks (65,536 GiB); got ${volumeBlocks}`,
      );
    }
    this.keys = keys;
    this.containers = containers;
  }

  /** An empty map of a volume of `volumeBlocks` blocks (`volumeBlocks(sizeGiB)` converts). */
  static empty(volumeBlocks: number): DeltaMap {
    return new DeltaMap(volumeBlocks);
  }

  /** A map holding `blocks` (any order, duplicates allowed). */
  static of(volumeBlocks: number, blocks: Iterable<number>): DeltaMap {
    const map = new DeltaMap(volumeBlocks);
    for (const blockIndex of blocks) map.add(blockIndex);
    return map;
  }

  private checkBlock(blockIndex: number): void {
    if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex >= this.volumeBlocks) {
      throw new BlockRangeError(
        `block ${blockIndex} is outside the volume's blocks 0..${this.volumeBlocks - 1}`,
        { blockIndex },
      );
    }
  }

  /** Position of `segment` in `keys`, or `-(insertion point) - 1`. */
  private find(segment: number): number {
    const keys = this.keys;
    let low = 0;
    let high = keys.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const key = keys[mid];
      if (key < segment) low = mid + 1;
      else if (key > segment) high = mid - 1;
      else return mid;
    }
    return -low - 1;
  }

  /** The container of `segment`, created empty if absent; returns its position. */
  private slot(segment: number): number {
    const at = this.find(segment);
    if (at >= 0) return at;
    const insert = -at - 1;
    this.keys.splice(insert, 0, segment);
    this.containers.splice(insert, 0, ArrayContainer.empty());
    return insert;
  }

  private dropIfEmpty(at: number): void {
    if (this.containers[at].cardinality === 0) {
      this.keys.splice(at, 1);
      this.containers.splice(at, 1);
    }
  }

  /** Adds one block. @throws BlockRangeError outside `[0, volumeBlocks)`. */
  add(blockIndex: number): this {
    this.checkBlock(blockIndex);
    const at = this.slot(Math.floor(blockIndex / SEGMENT_BLOCKS));
    this.containers[at] = this.containers[at].add(blockIndex % SEGMENT_BLOCKS);
    return this;
  }

  /** Adds blocks `[start, end)`. @throws BlockRangeError if the range leaves the volume. */
  addRange(start: number, end: number): this {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > this.volumeBlocks || start > end) {
      throw new BlockRangeError(
        `block range [${start}, ${end}) is not within the volume's blocks 0..${this.volumeBlocks - 1}`,
      );
    }
    let from = start;
    while (from < end) {
      const segment = Math.floor(from / SEGMENT_BLOCKS);
      const base = segment * SEGMENT_BLOCKS;
      const to = Math.min(end, base + SEGMENT_BLOCKS);
      const at = this.slot(segment);
      this.containers[at] = this.containers[at].addRange(from - base, to - base);
      from = to;
    }
    return this;
  }

  /** Removes one block if present. */
  delete(blockIndex: number): this {
    this.checkBlock(blockIndex);
    const at = this.find(Math.floor(blockIndex / SEGMENT_BLOCKS));
    if (at < 0) return this;
    this.containers[at] = this.containers[at].delete(blockIndex % SEGMENT_BLOCKS);
    this.dropIfEmpty(at);
    return this;
  }

  has(blockIndex: number): boolean {
    if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex >= this.volumeBlocks) return false;
    const at = this.find(Math.floor(blockIndex / SEGMENT_BLOCKS));
    return at >= 0 && this.containers[at].has(blockIndex % SEGMENT_BLOCKS);
  }

  /** Number of blocks in the map. */
  get size(): number {
    let size = 0;
    for (const container of this.containers) size += container.cardinality;
    return size;
  }

  isEmpty(): boolean {
    return this.keys.length === 0;
  }

  /**
   * Merges two sorted segment lists: `both` combines segments present on both sides,
   * `onlyLeft`/`onlyRight` say whether a one-sided segment is kept (cloned, so that the result
   * owns every container). Empty results are dropped.
   */
  private combine(
    other: DeltaMap,
    volumeBlocks: number,
    both: (a: Container, b: Container) => Container,
    onlyLeft: boolean,
    onlyRight: boolean,
  ): DeltaMap {
    const keys: number[] = [];
    const containers: Container[] = [];
    const leftKeys = this.keys;
    const rightKeys = other.keys;
    const leftCount = leftKeys.length;
    const rightCount = rightKeys.length;
    let i = 0;
    let j = 0;
    while (i < leftCount && j < rightCount) {
      const a = leftKeys[i];
      const b = rightKeys[j];
      if (a === b) {
        const container = both(this.containers[i++], other.containers[j++]);
        if (container.cardinality > 0) {
          keys.push(a);
          containers.push(container);
        }
      } else if (a < b) {
        if (onlyLeft) {
          keys.push(a);
          containers.push(this.containers[i].clone());
        }
        i++;
      } else {
        if (onlyRight) {
          keys.push(b);
          containers.push(other.containers[j].clone());
        }
        j++;
      }
    }
    for (; onlyLeft && i < leftCount; i++) {
      keys.push(leftKeys[i]);
      containers.push(this.containers[i].clone());
    }
    for (; onlyRight && j < rightCount; j++) {
      keys.push(rightKeys[j]);
      containers.push(other.containers[j].clone());
    }
    return new DeltaMap(volumeBlocks, keys, containers);
  }

  /** Blocks in either map; sized to the larger volume. */
  union(other: DeltaMap): DeltaMap {
    return this.combine(other, Math.max(this.volumeBlocks, other.volumeBlocks), unionContainers, true, true);
  }

  /** Blocks in this map and not in `other`; keeps this map's volume size. */
  subtract(other: DeltaMap): DeltaMap {
    return this.combine(other, this.volumeBlocks, subtractContainers, true, false);
  }

  /** Blocks in both maps; keeps this map's volume size. */
  intersect(other: DeltaMap): DeltaMap {
    const result = this.combine(other, this.volumeBlocks, intersectContainers, false, false);
    return result;
  }

  /**
   * In-place union.
   * @throws VolumeSizeMismatchError if `other` covers a larger volume: grow this map with `resize` first.
   */
  addAll(other: DeltaMap): this {
    if (other.volumeBlocks > this.volumeBlocks) {
      throw new VolumeSizeMismatchError(
        `cannot merge a map of ${other.volumeBlocks} blocks into one of ${this.volumeBlocks}: resize it first`,
      );
    }
    const merged = this.union(other);
    this.keys = merged.keys;
    this.containers = merged.containers;
    return this;
  }

  /** In-place subtraction. */
  removeAll(other: DeltaMap): this {
    const rest = this.subtract(other);
    this.keys = rest.keys;
    this.containers = rest.containers;
    return this;
  }

  /** Same blocks (the volume sizes may differ: a grown volume's map can equal an older one). */
  equals(other: DeltaMap): boolean {
    if (this.keys.length !== other.keys.length) return false;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== other.keys[i]) return false;
      if (!containersEqual(this.containers[i], other.containers[i])) return false;
    }
    return true;
  }

  clone(): DeltaMap {
    return new DeltaMap(this.volumeBlocks, [...this.keys], this.containers.map((c) => c.clone()));
  }

  /** A copy for a volume that grew to `volumeBlocks`. @throws BlockRangeError when shrinking. */
  resize(volumeBlocks: number): DeltaMap {
    if (volumeBlocks < this.volumeBlocks) {
      throw new BlockRangeError(
        `volumes never shrink: cannot resize a map of ${this.volumeBlocks} blocks to ${volumeBlocks}`,
      );
    }
    return new DeltaMap(volumeBlocks, [...this.keys], this.containers.map((c) => c.clone()));
  }

  /** Ascending block indexes. */
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.keys.length; i++) {
      const container = this.containers[i];
      const blocks = new Uint32Array(container.cardinality);
      container.fill(blocks, 0, this.keys[i] * SEGMENT_BLOCKS);
      yield* blocks;
    }
  }

  /** Calls `visit` for every block, ascending: the fast path for large maps. */
  forEach(visit: (blockIndex: number) => void): void {
    for (const blockIndex of this.toUint32Array()) visit(blockIndex);
  }

  /** Ascending block indexes in a typed array (block indexes are < 2^27, so 32 bits suffice). */
  toUint32Array(): Uint32Array {
    const out = new Uint32Array(this.size);
    let at = 0;
    for (let i = 0; i < this.keys.length; i++) {
      at = this.containers[i].fill(out, at, this.keys[i] * SEGMENT_BLOCKS);
    }
    return out;
  }

  toArray(): number[] {
    return Array.from(this.toUint32Array());
  }

  /** Indexes of the non-empty segments, ascending. */
  segmentIndexes(): number[] {
    return [...this.keys];
  }

  /** Number of blocks of this map in `segment`. */
  segmentSize(segment: number): number {
    const at = this.find(segment);
    return at >= 0 ? this.containers[at].cardinality : 0;
  }

  /** Only the blocks of `segment`, in a map of the same volume size. */
  segment(segment: number): DeltaMap {
    const at = this.find(segment);
    if (at < 0) return new DeltaMap(this.volumeBlocks);
    return new DeltaMap(this.volumeBlocks, [segment], [this.containers[at].clone()]);
  }

  /**
   * The compact bytes of one segment (format in `segment-codec.ts`): at most 8,194 bytes,
   * so a segment always fits one DynamoDB item with room to spare.
   */
  encodeSegment(segment: number): Uint8Array {
    const at = this.find(segment);
    return encodeContainer(at >= 0 ? this.containers[at] : ArrayContainer.empty());
  }

  /**
   * A map holding only the blocks of `segment`, decoded from `encodeSegment` bytes.
   * @throws DeltaMapDecodeError on malformed bytes, an unknown version, or blocks beyond the volume.
   */
  static decodeSegment(volumeBlocks: number, segment: number, bytes: Uint8Array): DeltaMap {
    const map = new DeltaMap(volumeBlocks);
    const container = decodeShard(volumeBlocks, segment, bytes);
    if (container.cardinality > 0) {
      map.keys.push(segment);
      map.containers.push(container);
    }
    return map;
  }

  /**
   * Every non-empty segment, encoded: one DynamoDB item each. The shards are views into one
   * buffer (one allocation instead of one per segment); copy a shard to keep it alone.
   */
  split(): Map<number, Uint8Array> {
    const plans = this.containers.map(planEncoding);
    let total = 0;
    for (const plan of plans) total += plan.bytes;
    const buffer = new Uint8Array(total);
    const shards = new Map<number, Uint8Array>();
    let at = 0;
    for (let i = 0; i < this.keys.length; i++) {
      const shard = buffer.subarray(at, at + plans[i].bytes);
      writeContainer(this.containers[i], plans[i], shard);
      shards.set(this.keys[i], shard);
      at += plans[i].bytes;
    }
    return shards;
  }

  /**
   * Reassembles a map from `split` shards, in any order.
   * @throws DeltaMapDecodeError on malformed bytes or a segment given twice.
   */
  static join(volumeBlocks: number, shards: Iterable<[number, Uint8Array]>): DeltaMap {
    const decoded: Array<[number, Container]> = [];
    for (const [segment, bytes] of shards) decoded.push([segment, decodeShard(volumeBlocks, segment, bytes)]);
    decoded.sort((a, b) => a[0] - b[0]);
    const map = new DeltaMap(volumeBlocks);
    for (let i = 0; i < decoded.length; i++) {
      const [segment, container] = decoded[i];
      if (i > 0 && decoded[i - 1][0] === segment) {
        throw new DeltaMapDecodeError(`segment ${segment} appears twice among the shards`, { segment });
      }
      if (container.cardinality > 0) {
        map.keys.push(segment);
        map.containers.push(container);
      }
    }
    return map;
  }

  toString(): string {
    return `DeltaMap(${this.size} of ${this.volumeBlocks} blocks)`;
  }
}

/** Decodes one shard of a volume of `volumeBlocks` blocks, checking that the segment exists. */
function decodeShard(volumeBlocks: number, segment: number, bytes: Uint8Array): Container {
  const segments = segmentCount(volumeBlocks);
  if (!Number.isInteger(segment) || segment < 0 || segment >= segments) {
    throw new DeltaMapDecodeError(
      `segment ${segment} does not exist in a volume of ${volumeBlocks} blocks (${segments} segments)`,
      { segment },
    );
  }
  const limit = Math.min(SEGMENT_BLOCKS, volumeBlocks - segment * SEGMENT_BLOCKS);
  return decodeContainer(bytes, limit, segment);
}

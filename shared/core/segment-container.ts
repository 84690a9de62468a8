/**
 * The blocks of one segment (65,536 blocks) as 16-bit offsets, in one of two layouts, the way
 * Roaring bitmaps keep a 2^16 chunk:
 *
 * - `ArrayContainer`: sorted offsets, for sparse segments (at most {@link ARRAY_MAX} blocks);
 * - `BitmapContainer`: one bit per block (8 KiB), for dense segments.
 *
 * A segment is exactly one Roaring chunk because both are 2^16 blocks: the segment that
 * parallelizes a scan is also the unit of the bitmap and of its serialization.
 *
 * Ownership: every container belongs to exactly one `DeltaMap`. The binary operations
 * (`unionContainers`, …) never modify their inputs and always return a fresh container, so the
 * mutators (`add`, `addRange`, `delete`) may work in place; they return the container that now
 * holds the set, because a change can switch the layout.
 */

/** Offsets per segment: 2^16. */
export const SEGMENT_SPAN = 65_536;

/** 32-bit words of a bitmap container: 65,536 bits / 32. */
export const BITMAP_WORDS = SEGMENT_SPAN / 32;

/**
 * Above this many blocks a sorted array (2 bytes a block) is larger than the bitmap
 * (8,192 bytes), so the container switches to the bitmap: 8,192 / 2 = 4,096 (Roaring's rule).
 */
export const ARRAY_MAX = 4_096;

/** Initial capacity of an array container: small, since most segments of a delta map are sparse. */
const ARRAY_INITIAL_CAPACITY = 16;

export type Container = ArrayContainer | BitmapContainer;

/** Where `fill` writes block indexes. */
export type IndexSink = Uint32Array | Uint16Array | number[];

/** Number of set bits in a 32-bit word (SWAR popcount). */
export function popcount32(word: number): number {
  let x = word - ((word >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Bits `[from, to)` of a word set, for 0 <= from < to <= 32. */
function wordMask(from: number, to: number): number {
  const high = to === 32 ? 0xffffffff : (1 << to) - 1;
  return (high & ~((1 << from) - 1)) >>> 0;
}

export class ArrayContainer {
  readonly kind = 'array';

  /** `values[0 .. cardinality)` are the sorted offsets; the rest is spare capacity. */
  constructor(
    public values: Uint16Array,
    public cardinality: number,
  ) {}

  static empty(): ArrayContainer {
    return new ArrayContainer(new Uint16Array(ARRAY_INITIAL_CAPACITY), 0);
  }

  /** Index of `offset` in the sorted values, or `-(insertion point) - 1` (like Java's binarySearch). */
  private search(offset: number): number {
    let low = 0;
    let high = this.cardinality - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.values[mid];
      if (value < offset) low = mid + 1;
      else if (value > offset) high = mid - 1;
      else return mid;
    }
    return -low - 1;
  }

  has(offset: number): boolean {
    return this.search(offset) >= 0;
  }

  /** Adds in place while it fits; returns the container that now holds the set. */
  add(offset: number): Container {
    const at = this.search(offset);
    if (at >= 0) return this;
    if (this.cardinality >= ARRAY_MAX) return this.toBitmap().add(offset);
    const insert = -at - 1;
    if (this.cardinality === this.values.length) {
      const grown = new Uint16Array(Math.min(ARRAY_MAX, this.values.length * 2));
      grown.set(this.values.subarray(0, this.cardinality));
      this.values = grown;
    }
    this.values.copyWithin(insert + 1, insert, this.cardinality);
    this.values[insert] = offset;
    this.cardinality++;
    return this;
  }

  /** Adds offsets `[from, to)`; returns the container that now holds the set. */
  addRange(from: number, to: number): Container {
    if (from >= to) return this;
    if (this.cardinality + (to - from) > ARRAY_MAX) {
      const bitmap = this.toBitmap().addRange(from, to) as BitmapContainer;
      return fromWords(bitmap.words, bitmap.cardinality);
    }
    const range = new Uint16Array(to - from);
    for (let i = 0; i < range.length; i++) range[i] = from + i;
    return unionContainers(this, new ArrayContainer(range, range.length));
  }

  delete(offset: number): Container {
    const at = this.search(offset);
    if (at < 0) return this;
    this.values.copyWithin(at, at + 1, this.cardinality);
    this.cardinality--;
    return this;
  }

  clone(): ArrayContainer {
    return new ArrayContainer(this.values.slice(0, Math.max(this.cardinality, 1)), this.cardinality);
  }

  toBitmap(): BitmapContainer {
    const words = new Uint32Array(BITMAP_WORDS);
    for (let i = 0; i < this.cardinality; i++) {
      const offset = this.values[i];
      words[offset >>> 5] |= 1 << (offset & 31);
    }
    return new BitmapContainer(words, this.cardinality);
  }

  /** Writes `base + offset` of every member into `out` from `at`; returns the next free index. */
  fill(out: IndexSink, at: number, base: number): number {
    for (let i = 0; i < this.cardinality; i++) out[at++] = base + this.values[i];
    return at;
  }
}

export class BitmapContainer {
  readonly kind = 'bitmap';

  constructor(
    public words: Uint32Array,
    public cardinality: number,
  ) {}

  has(offset: number): boolean {
    return (this.words[offset >>> 5] & (1 << (offset & 31))) !== 0;
  }

  add(offset: number): Container {
    const index = offset >>> 5;
    const bit = 1 << (offset & 31);
    if ((this.words[index] & bit) === 0) {
      this.words[index] |= bit;
      this.cardinality++;
    }
    return this;
  }

  addRange(from: number, to: number): Container {
    if (from >= to) return this;
    const firstWord = from >>> 5;
    const lastWord = (to - 1) >>> 5;
    for (let w = firstWord; w <= lastWord; w++) {
      const lo = w === firstWord ? from & 31 : 0;
      const hi = w === lastWord ? ((to - 1) & 31) + 1 : 32;
      const before = this.words[w];
      const after = (before | wordMask(lo, hi)) >>> 0;
      this.cardinality += popcount32(after) - popcount32(before);
      this.words[w] = after;
    }
    return this;
  }

  delete(offset: number): Container {
    if (!this.has(offset)) return this;
    this.words[offset >>> 5] &= ~(1 << (offset & 31));
    this.cardinality--;
    return this.cardinality > ARRAY_MAX ? this : fromWords(this.words, this.cardinality);
  }

  clone(): BitmapContainer {
    return new BitmapContainer(this.words.slice(), this.cardinality);
  }

  fill(out: IndexSink, at: number, base: number): number {
    const words = this.words;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      let word = words[w];
      while (word !== 0) {
        const lowest = word & -word;
        out[at++] = base + (w << 5) + (31 - Math.clz32(lowest));
        word ^= lowest;
      }
    }
    return at;
  }
}

/** A bitmap of known cardinality, shrunk to an array when small enough to be smaller as one. */
export function fromWords(words: Uint32Array, cardinality: number): Container {
  if (cardinality > ARRAY_MAX) return new BitmapContainer(words, cardinality);
  const values = new Uint16Array(Math.max(cardinality, 1));
  new BitmapContainer(words, cardinality).fill(values, 0, 0);
  return new ArrayContainer(values, cardinality);
}

function countWords(words: Uint32Array): number {
  let count = 0;
  for (let w = 0; w < BITMAP_WORDS; w++) count += popcount32(words[w]);
  return count;
}

/** A ∪ B as a new container (inputs untouched). */
export function unionContainers(a: Container, b: Container): Container {
  if (a.kind === 'bitmap' && b.kind === 'bitmap') {
    const words = new Uint32Array(BITMAP_WORDS);
    const aw = a.words;
    const bw = b.words;
    let count = 0;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      const word = aw[w] | bw[w];
      words[w] = word;
      count += popcount32(word);
    }
    return new BitmapContainer(words, count);
  }
  if (a.kind === 'bitmap' || b.kind === 'bitmap') {
    const bitmap = (a.kind === 'bitmap' ? a : b) as BitmapContainer;
    const array = (a.kind === 'array' ? a : b) as ArrayContainer;
    const result = bitmap.clone();
    for (let i = 0; i < array.cardinality; i++) result.add(array.values[i]);
    return result;
  }
  const total = a.cardinality + b.cardinality;
  if (total > ARRAY_MAX) {
    const result = a.toBitmap();
    for (let i = 0; i < b.cardinality; i++) result.add(b.values[i]);
    return fromWords(result.words, result.cardinality);
  }
  const out = new Uint16Array(Math.max(total, 1));
  let i = 0;
  let j = 0;
  let k = 0;
  const av = a.values;
  const bv = b.values;
  while (i < a.cardinality && j < b.cardinality) {
    const x = av[i];
    const y = bv[j];
    if (x < y) {
      out[k++] = x;
      i++;
    } else if (x > y) {
      out[k++] = y;
      j++;
    } else {
      out[k++] = x;
      i++;
      j++;
    }
  }
  while (i < a.cardinality) out[k++] = av[i++];
  while (j < b.cardinality) out[k++] = bv[j++];
  return new ArrayContainer(out, k);
}

/** A − B as a new container. */
export function subtractContainers(a: Container, b: Container): Container {
  if (a.kind === 'array') {
    const out = new Uint16Array(Math.max(a.cardinality, 1));
    let k = 0;
    if (b.kind === 'bitmap') {
      for (let i = 0; i < a.cardinality; i++) {
        const value = a.values[i];
        if (!b.has(value)) out[k++] = value;
      }
    } else {
      let j = 0;
      for (let i = 0; i < a.cardinality; i++) {
        const value = a.values[i];
        while (j < b.cardinality && b.values[j] < value) j++;
        if (j >= b.cardinality || b.values[j] !== value) out[k++] = value;
      }
    }
    return new ArrayContainer(out, k);
  }
  const words = a.words.slice();
  if (b.kind === 'bitmap') {
    const bw = b.words;
    let count = 0;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      const word = words[w] & ~bw[w];
      words[w] = word;
      count += popcount32(word);
    }
    return fromWords(words, count);
  }
  let count = a.cardinality;
  for (let j = 0; j < b.cardinality; j++) {
    const offset = b.values[j];
    const bit = 1 << (offset & 31);
    if ((words[offset >>> 5] & bit) !== 0) {
      words[offset >>> 5] &= ~bit;
      count--;
    }
  }
  return fromWords(words, count);
}

/** A ∩ B as a new container. */
export function intersectContainers(a: Container, b: Container): Container {
  if (a.kind === 'bitmap' && b.kind === 'bitmap') {
    const words = new Uint32Array(BITMAP_WORDS);
    const aw = a.words;
    const bw = b.words;
    let count = 0;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      const word = aw[w] & bw[w];
      words[w] = word;
      count += popcount32(word);
    }
    return fromWords(words, count);
  }
  if (a.kind === 'array') {
    const out = new Uint16Array(Math.max(a.cardinality, 1));
    let k = 0;
    if (b.kind === 'bitmap') {
      for (let i = 0; i < a.cardinality; i++) if (b.has(a.values[i])) out[k++] = a.values[i];
    } else {
      let j = 0;
      for (let i = 0; i < a.cardinality; i++) {
        const value = a.values[i];
        while (j < b.cardinality && b.values[j] < value) j++;
        if (j < b.cardinality && b.values[j] === value) out[k++] = value;
      }
    }
    return new ArrayContainer(out, k);
  }
  return intersectContainers(b, a);
}

/** Same members (layouts may differ only if a caller built a non-canonical container). */
export function containersEqual(a: Container, b: Container): boolean {
  if (a.cardinality !== b.cardinality) return false;
  if (a.kind === 'bitmap' && b.kind === 'bitmap') {
    for (let w = 0; w < BITMAP_WORDS; w++) if (a.words[w] !== b.words[w]) return false;
    return true;
  }
  const array = (a.kind === 'array' ? a : b) as ArrayContainer;
  const other = array === a ? b : a;
  for (let i = 0; i < array.cardinality; i++) if (!other.has(array.values[i])) return false;
  return true;
}

/** Recounts a bitmap: used by decoding to check a stored count against the bits. */
export function bitmapCardinality(words: Uint32Array): number {
  return countWords(words);
}

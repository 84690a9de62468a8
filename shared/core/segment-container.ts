/**
 * The blocks of one segment (65,536 blocks) as 16-bit offsets, in one of three layouts, the
 * way Roaring bitmaps keep a 2^16 chunk:
 *
 * - `ArrayContainer`: sorted offsets, for sparse scattered segments (at most {@link ARRAY_MAX});
 * - `BitmapContainer`: one bit per block (8 KiB), for dense scattered segments;
 * - `RunContainer`: sorted disjoint runs `[start, last]`, for clustered segments (a file written
 *   sequentially, a baseline's allocated extents).
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

/** Bytes of a bitmap container's words. */
export const BITMAP_BYTES = BITMAP_WORDS * 4;

/**
 * Above this many blocks a sorted array (2 bytes a block) is larger than the bitmap
 * (8,192 bytes), so the container switches to the bitmap: 8,192 / 2 = 4,096 (Roaring's rule).
 */
export const ARRAY_MAX = 4_096;

/**
 * Above this many runs (4 bytes a run) a run container is larger than the bitmap: 8,192 / 4 = 2,048,
 * so at most 2,047 runs are kept as runs.
 */
export const RUN_MAX = BITMAP_BYTES / 4 - 1;

/** Initial capacity of an array container: small, since most segments of a delta map are sparse. */
const ARRAY_INITIAL_CAPACITY = 16;

/**
 * Shortest range that `addRange` starts as a run in an empty segment: below 3 blocks two
 * 16-bit offsets are no larger than one 4-byte run.
 */
const RUN_MIN_LENGTH = 3;

export type Container = ArrayContainer | BitmapContainer | RunContainer;

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

/** Sets bits `[from, to)` of `words`; returns how many were newly set. */
function setRange(words: Uint32Array, from: number, to: number): number {
  if (from >= to) return 0;
  const firstWord = from >>> 5;
  const lastWord = (to - 1) >>> 5;
  let added = 0;
  for (let w = firstWord; w <= lastWord; w++) {
    const lo = w === firstWord ? from & 31 : 0;
    const hi = w === lastWord ? ((to - 1) & 31) + 1 : 32;
    const before = words[w];
    const after = (before | wordMask(lo, hi)) >>> 0;
    if (after !== before) {
      added += popcount32(after) - popcount32(before);
      words[w] = after;
    }
  }
  return added;
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
    const values = this.values;
    let low = 0;
    let high = this.cardinality - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = values[mid];
      if (value < offset) low = mid + 1;
      else if (value > offset) high = mid - 1;
      else return mid;
    }
    return -low - 1;
  }

  has(offset: number): boolean {
    return this.search(offset) >= 0;
  }

  add(offset: number): Container {
    const at = this.search(offset);
    if (at >= 0) return this;
    if (this.cardinality >= ARRAY_MAX) return this.toBitmap().add(offset);
    const insert = -at - 1;
    if (this.cardinality === this.values.length) {
      const grown = new Uint16Array(Math.min(ARRAY_MAX, Math.max(ARRAY_INITIAL_CAPACITY, this.values.length * 2)));
      grown.set(this.values.subarray(0, this.cardinality));
      this.values = grown;
    }
    this.values.copyWithin(insert + 1, insert, this.cardinality);
    this.values[insert] = offset;
    this.cardinality++;
    return this;
  }

  addRange(from: number, to: number): Container {
    if (from >= to) return this;
    if (this.cardinality === 0 && to - from >= RUN_MIN_LENGTH) return RunContainer.range(from, to);
    return unionContainers(this, RunContainer.range(from, to));
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
    const values = this.values;
    for (let i = 0; i < this.cardinality; i++) {
      const offset = values[i];
      words[offset >>> 5] |= 1 << (offset & 31);
    }
    return new BitmapContainer(words, this.cardinality);
  }

  /** The same offsets as runs (O(cardinality)). */
  toRuns(): RunContainer {
    const values = this.values;
    const n = this.cardinality;
    const runs = new Uint16Array(Math.max(2, 2 * n));
    let count = 0;
    for (let i = 0; i < n; i++) {
      const value = values[i];
      if (count > 0 && runs[2 * count - 1] + 1 === value) runs[2 * count - 1] = value;
      else {
        runs[2 * count] = value;
        runs[2 * count + 1] = value;
        count++;
      }
    }
    return new RunContainer(runs, count, n);
  }

  /** Number of maximal runs (O(cardinality)). */
  countRuns(): number {
    const values = this.values;
    let runs = 0;
    for (let i = 0; i < this.cardinality; i++) if (i === 0 || values[i] !== values[i - 1] + 1) runs++;
    return runs;
  }

  /** Writes `base + offset` of every member into `out` from `at`; returns the next free index. */
  fill(out: Uint32Array, at: number, base: number): number {
    const values = this.values;
    const n = this.cardinality;
    for (let i = 0; i < n; i++) out[at + i] = base + values[i];
    return at + n;
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
    this.cardinality += setRange(this.words, from, to);
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

  /**
   * Number of maximal runs, counting no further than `stopAbove` + 1 (callers only need to know
   * whether runs would be smaller than the bitmap, so they stop early on scattered bits).
   */
  countRuns(stopAbove: number = SEGMENT_SPAN): number {
    const words = this.words;
    let runs = 0;
    let carry = 0;
    for (let w = 0; w < BITMAP_WORDS && runs <= stopAbove; w++) {
      const word = words[w];
      // A run starts at each set bit whose lower neighbour (the previous word's top bit for bit 0) is clear.
      runs += popcount32(word & ~((word << 1) | carry));
      carry = word >>> 31;
    }
    return runs;
  }

  toRuns(): RunContainer {
    const runs: number[] = [];
    const words = this.words;
    let start = -1;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      const word = words[w];
      if (word === 0xffffffff && start >= 0) continue;
      if (word === 0 && start < 0) continue;
      for (let bit = 0; bit < 32; bit++) {
        const set = (word & (1 << bit)) !== 0;
        const offset = (w << 5) + bit;
        if (set && start < 0) start = offset;
        else if (!set && start >= 0) {
          runs.push(start, offset - 1);
          start = -1;
        }
      }
    }
    if (start >= 0) runs.push(start, SEGMENT_SPAN - 1);
    return new RunContainer(Uint16Array.from(runs), runs.length / 2, this.cardinality);
  }

  fill(out: Uint32Array, at: number, base: number): number {
    const words = this.words;
    for (let w = 0; w < BITMAP_WORDS; w++) {
      let word = words[w];
      const wordBase = base + (w << 5);
      while (word !== 0) {
        const lowest = word & -word;
        out[at++] = wordBase + (31 - Math.clz32(lowest));
        word ^= lowest;
      }
    }
    return at;
  }
}

export class RunContainer {
  readonly kind = 'run';

  /** `runs[2i]` is the first offset of run `i`, `runs[2i + 1]` its last (inclusive); `count` runs. */
  constructor(
    public runs: Uint16Array,
    public count: number,
    public cardinality: number,
  ) {}

  /** One run `[from, to)`. */
  static range(from: number, to: number): RunContainer {
    return new RunContainer(Uint16Array.of(from, to - 1), 1, to - from);
  }

  /** Index of the last run starting at or before `offset`, or -1. */
  private runAtOrBefore(offset: number): number {
    const runs = this.runs;
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (runs[2 * mid] <= offset) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  }

  has(offset: number): boolean {
    const i = this.runAtOrBefore(offset);
    return i >= 0 && offset <= this.runs[2 * i + 1];
  }

  add(offset: number): Container {
    if (this.has(offset)) return this;
    return this.addRange(offset, offset + 1);
  }

  addRange(from: number, to: number): Container {
    if (from >= to) return this;
    return normalizeRuns(unionRuns(this, RunContainer.range(from, to)));
  }

  delete(offset: number): Container {
    if (!this.has(offset)) return this;
    return normalizeRuns(subtractRuns(this, RunContainer.range(offset, offset + 1)));
  }

  clone(): RunContainer {
    return new RunContainer(this.runs.slice(0, Math.max(2, 2 * this.count)), this.count, this.cardinality);
  }

  toBitmap(): BitmapContainer {
    const words = new Uint32Array(BITMAP_WORDS);
    const runs = this.runs;
    for (let i = 0; i < this.count; i++) setRange(words, runs[2 * i], runs[2 * i + 1] + 1);
    return new BitmapContainer(words, this.cardinality);
  }

  toArray(): ArrayContainer {
    const values = new Uint16Array(Math.max(this.cardinality, 1));
    const runs = this.runs;
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      for (let offset = runs[2 * i]; offset <= runs[2 * i + 1]; offset++) values[at++] = offset;
    }
    return new ArrayContainer(values, this.cardinality);
  }

  fill(out: Uint32Array, at: number, base: number): number {
    const runs = this.runs;
    for (let i = 0; i < this.count; i++) {
      const last = base + runs[2 * i + 1];
      for (let block = base + runs[2 * i]; block <= last; block++) out[at++] = block;
    }
    return at;
  }
}

/** A bitmap of known cardinality, shrunk to an array when small enough to be smaller as one. */
export function fromWords(words: Uint32Array, cardinality: number): Container {
  if (cardinality > ARRAY_MAX) return new BitmapContainer(words, cardinality);
  const values = new Uint16Array(Math.max(cardinality, 1));
  let at = 0;
  for (let w = 0; w < BITMAP_WORDS; w++) {
    let word = words[w];
    while (word !== 0) {
      const lowest = word & -word;
      values[at++] = (w << 5) + (31 - Math.clz32(lowest));
      word ^= lowest;
    }
  }
  return new ArrayContainer(values, cardinality);
}

/** A run container in its smallest layout: runs, a sorted array, or a bitmap. */
export function normalizeRuns(container: RunContainer): Container {
  const runBytes = 4 * container.count;
  const arrayBytes = container.cardinality <= ARRAY_MAX ? 2 * container.cardinality : Infinity;
  if (runBytes <= arrayBytes && container.count <= RUN_MAX) return container;
  return arrayBytes <= BITMAP_BYTES ? container.toArray() : container.toBitmap();
}

/** Recounts a bitmap: used by decoding to check a stored count against the bits. */
export function bitmapCardinality(words: Uint32Array): number {
  let count = 0;
  for (let w = 0; w < BITMAP_WORDS; w++) count += popcount32(words[w]);
  return count;
}

// --- runs ∘ runs: linear merges of sorted interval lists -----------------------------------------

function unionRuns(a: RunContainer, b: RunContainer): RunContainer {
  const out = new Uint16Array(2 * (a.count + b.count) || 2);
  const ar = a.runs;
  const br = b.runs;
  let i = 0;
  let j = 0;
  let count = 0;
  let cardinality = 0;
  let start = -1;
  let last = -2;
  while (i < a.count || j < b.count) {
    let s: number;
    let e: number;
    if (j >= b.count || (i < a.count && ar[2 * i] <= br[2 * j])) {
      s = ar[2 * i];
      e = ar[2 * i + 1];
      i++;
    } else {
      s = br[2 * j];
      e = br[2 * j + 1];
      j++;
    }
    if (s <= last + 1) {
      if (e > last) last = e;
    } else {
      if (start >= 0) {
        out[2 * count] = start;
        out[2 * count + 1] = last;
        count++;
        cardinality += last - start + 1;
      }
      start = s;
      last = e;
    }
  }
  if (start >= 0) {
    out[2 * count] = start;
    out[2 * count + 1] = last;
    count++;
    cardinality += last - start + 1;
  }
  return new RunContainer(out, count, cardinality);
}

function intersectRuns(a: RunContainer, b: RunContainer): RunContainer {
  const out = new Uint16Array(2 * (a.count + b.count) || 2);
  const ar = a.runs;
  const br = b.runs;
  let i = 0;
  let j = 0;
  let count = 0;
  let cardinality = 0;
  while (i < a.count && j < b.count) {
    const s = Math.max(ar[2 * i], br[2 * j]);
    const ae = ar[2 * i + 1];
    const be = br[2 * j + 1];
    const e = Math.min(ae, be);
    if (s <= e) {
      out[2 * count] = s;
      out[2 * count + 1] = e;
      count++;
      cardinality += e - s + 1;
    }
    if (ae < be) i++;
    else j++;
  }
  return new RunContainer(out, count, cardinality);
}

function subtractRuns(a: RunContainer, b: RunContainer): RunContainer {
  // Each run of `b` can split one run of `a` in two, so the result has at most a.count + b.count runs.
  const out = new Uint16Array(2 * (a.count + b.count) || 2);
  const ar = a.runs;
  const br = b.runs;
  let j = 0;
  let count = 0;
  let cardinality = 0;
  for (let i = 0; i < a.count; i++) {
    let s = ar[2 * i];
    const e = ar[2 * i + 1];
    while (j < b.count && br[2 * j + 1] < s) j++;
    let k = j;
    while (s <= e) {
      if (k >= b.count || br[2 * k] > e) {
        out[2 * count] = s;
        out[2 * count + 1] = e;
        count++;
        cardinality += e - s + 1;
        break;
      }
      const bs = br[2 * k];
      const be = br[2 * k + 1];
      if (bs > s) {
        out[2 * count] = s;
        out[2 * count + 1] = bs - 1;
        count++;
        cardinality += bs - s;
      }
      s = be + 1;
      k++;
    }
  }
  return new RunContainer(out, count, cardinality);
}

// --- sorted arrays through a scratch bitmap ---------------------------------------------------
//
// Merging two sorted arrays branches on every element, and on scattered blocks half of those
// branches are mispredicted. For subtract and intersect, marking one side in a bitmap and
// testing bits instead costs no unpredictable branch. The scratch bitmap is shared (JavaScript
// runs one call at a time) and left all-zero after every use.

const scratch = new Uint32Array(BITMAP_WORDS);

function mark(values: Uint16Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = values[i];
    scratch[v >>> 5] |= 1 << (v & 31);
  }
}

function unmark(values: Uint16Array, n: number): void {
  for (let i = 0; i < n; i++) scratch[values[i] >>> 5] = 0;
}

/** Members of `a` whose bit in the scratch bitmap is `keep` (1: intersect, 0: subtract). */
function filterByScratch(a: ArrayContainer, keep: 0 | 1): ArrayContainer {
  const av = a.values;
  const n = a.cardinality;
  const out = new Uint16Array(Math.max(n, 1));
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = av[i];
    out[k] = v;
    k += ((scratch[v >>> 5] >>> (v & 31)) & 1) ^ (1 - keep);
  }
  return new ArrayContainer(out, k);
}

/**
 * A ∪ B of two arrays whose union fits an array: a merge whose steps are computed with
 * arithmetic instead of branches (`le` is 1 when x <= y; offsets are < 2^16, so x - y - 1 is
 * negative exactly then), twice as fast as the branching merge on scattered blocks.
 */
function unionArrays(a: ArrayContainer, b: ArrayContainer): ArrayContainer {
  const av = a.values;
  const bv = b.values;
  const an = a.cardinality;
  const bn = b.cardinality;
  const out = new Uint16Array(Math.max(an + bn, 1));
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < an && j < bn) {
    const x = av[i];
    const y = bv[j];
    const le = (x - y - 1) >>> 31;
    const ge = (y - x - 1) >>> 31;
    out[k++] = y + ((x - y) & -le);
    i += le;
    j += ge;
  }
  while (i < an) out[k++] = av[i++];
  while (j < bn) out[k++] = bv[j++];
  return new ArrayContainer(out, k);
}

// --- the three binary operations over any pair of layouts ------------------------------------

/** A run container as the other layout's peer: runs pair with arrays, bitmaps with bitmaps. */
function asRuns(container: ArrayContainer | RunContainer): RunContainer {
  return container.kind === 'run' ? container : container.toRuns();
}

/** A ∪ B as a new container (inputs untouched). */
export function unionContainers(a: Container, b: Container): Container {
  if (a.kind === 'bitmap' || b.kind === 'bitmap') {
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
    const bitmap = (a.kind === 'bitmap' ? a : b) as BitmapContainer;
    const other = (a.kind === 'bitmap' ? b : a) as ArrayContainer | RunContainer;
    const result = bitmap.clone();
    if (other.kind === 'array') {
      for (let i = 0; i < other.cardinality; i++) result.add(other.values[i]);
    } else {
      for (let i = 0; i < other.count; i++) result.addRange(other.runs[2 * i], other.runs[2 * i + 1] + 1);
    }
    return result;
  }
  if (a.kind === 'run' || b.kind === 'run') return normalizeRuns(unionRuns(asRuns(a), asRuns(b)));
  const total = a.cardinality + b.cardinality;
  if (total > ARRAY_MAX) {
    const result = a.toBitmap();
    for (let i = 0; i < b.cardinality; i++) result.add(b.values[i]);
    return fromWords(result.words, result.cardinality);
  }
  return unionArrays(a, b);
}

/** A − B as a new container. */
export function subtractContainers(a: Container, b: Container): Container {
  if (a.kind === 'array') {
    const out = new Uint16Array(Math.max(a.cardinality, 1));
    const av = a.values;
    let k = 0;
    if (b.kind === 'array') {
      mark(b.values, b.cardinality);
      const result = filterByScratch(a, 0);
      unmark(b.values, b.cardinality);
      return result;
    }
    for (let i = 0; i < a.cardinality; i++) if (!b.has(av[i])) out[k++] = av[i];
    return new ArrayContainer(out, k);
  }
  if (a.kind === 'run') {
    if (b.kind === 'bitmap') return subtractContainers(a.toBitmap(), b);
    return normalizeRuns(subtractRuns(a, asRuns(b)));
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
  if (b.kind === 'run') return subtractContainers(a, b.toBitmap());
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
  if (a.kind === 'array' || b.kind === 'array') {
    const array = (a.kind === 'array' ? a : b) as ArrayContainer;
    const other = array === a ? b : a;
    const out = new Uint16Array(Math.max(array.cardinality, 1));
    const av = array.values;
    let k = 0;
    if (other.kind === 'array') {
      mark(other.values, other.cardinality);
      const result = filterByScratch(array, 1);
      unmark(other.values, other.cardinality);
      return result;
    } else {
      for (let i = 0; i < array.cardinality; i++) if (other.has(av[i])) out[k++] = av[i];
    }
    return new ArrayContainer(out, k);
  }
  if (a.kind === 'run' && b.kind === 'run') return normalizeRuns(intersectRuns(a, b));
  // One run, one bitmap.
  const bitmap = (a.kind === 'bitmap' ? a : b) as BitmapContainer;
  const run = (a.kind === 'run' ? a : b) as RunContainer;
  return intersectContainers(bitmap, run.toBitmap());
}

/** Same members, whatever the layouts. */
export function containersEqual(a: Container, b: Container): boolean {
  if (a.cardinality !== b.cardinality) return false;
  if (a.kind === 'bitmap' && b.kind === 'bitmap') {
    for (let w = 0; w < BITMAP_WORDS; w++) if (a.words[w] !== b.words[w]) return false;
    return true;
  }
  if (a.kind === 'run' && b.kind === 'run') {
    if (a.count !== b.count) return false;
    for (let i = 0; i < 2 * a.count; i++) if (a.runs[i] !== b.runs[i]) return false;
    return true;
  }
  // Mixed layouts: equal cardinality, so A ⊆ B suffices; check each run or member of the smaller side.
  const probe = a.kind === 'bitmap' ? b : a;
  const other = probe === a ? b : a;
  if (probe.kind === 'array') {
    for (let i = 0; i < probe.cardinality; i++) if (!other.has(probe.values[i])) return false;
    return true;
  }
  if (probe.kind === 'run') {
    for (let i = 0; i < probe.count; i++) {
      for (let offset = probe.runs[2 * i]; offset <= probe.runs[2 * i + 1]; offset++) {
        if (!other.has(offset)) return false;
      }
    }
    return true;
  }
  return false;
}

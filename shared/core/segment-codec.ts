import { DeltaMapDecodeError } from './errors';
import {
  ARRAY_MAX,
  ArrayContainer,
  BITMAP_WORDS,
  BitmapContainer,
  type Container,
  SEGMENT_SPAN,
  bitmapCardinality,
  fromWords,
  popcount32,
} from './segment-container';

/**
 * Serialized form of one delta-map segment, format version 1 (all integers little-endian):
 *
 * ```
 * byte 0   version = 1
 * byte 1   layout: 0 = array, 1 = bitmap, 2 = runs
 * array    u16 count (0..4096), then count × u16 offset, strictly ascending
 * bitmap   2,048 × u32 words: bit (offset % 32) of word (offset / 32) is set for each member
 * runs     u16 count (1..32768), then count × (u16 start, u16 length − 1), ascending, disjoint
 * ```
 *
 * The encoder picks whichever layout is smallest, so a segment never exceeds 8,194 bytes
 * (the bitmap), far below DynamoDB's 400 KB item limit, and a clustered segment (a file
 * written sequentially) costs 4 bytes a run.
 */
export const SEGMENT_FORMAT_VERSION = 1;

export const SegmentLayout = { Array: 0, Bitmap: 1, Runs: 2 } as const;

/** Version byte + layout byte. */
const HEADER_BYTES = 2;
/** u16 count that opens the array and runs layouts. */
const COUNT_BYTES = 2;
const BITMAP_BYTES = BITMAP_WORDS * 4;
const RUN_BYTES = 4;

/** Largest encoded segment: header + a full bitmap. */
export const MAX_ENCODED_SEGMENT_BYTES = HEADER_BYTES + BITMAP_BYTES;

/** Number of maximal runs of consecutive offsets in a container. */
export function countRuns(container: Container): number {
  if (container.kind === 'array') {
    let runs = 0;
    for (let i = 0; i < container.cardinality; i++) {
      if (i === 0 || container.values[i] !== container.values[i - 1] + 1) runs++;
    }
    return runs;
  }
  let runs = 0;
  let carry = 0;
  for (let w = 0; w < BITMAP_WORDS; w++) {
    const word = container.words[w];
    // A run starts at each set bit whose lower neighbour (the previous word's top bit for bit 0) is clear.
    runs += popcount32(word & ~((word << 1) | carry));
    carry = word >>> 31;
  }
  return runs;
}

/** Encodes a segment's container in the smallest layout of format version 1. */
export function encodeContainer(container: Container): Uint8Array {
  const cardinality = container.cardinality;
  const runs = countRuns(container);
  const arrayBytes = cardinality <= ARRAY_MAX ? HEADER_BYTES + COUNT_BYTES + 2 * cardinality : Infinity;
  const runBytes = runs > 0 ? HEADER_BYTES + COUNT_BYTES + RUN_BYTES * runs : Infinity;
  const bitmapBytes = MAX_ENCODED_SEGMENT_BYTES;

  if (arrayBytes <= runBytes && arrayBytes <= bitmapBytes) {
    const out = new Uint8Array(arrayBytes);
    const view = new DataView(out.buffer);
    out[0] = SEGMENT_FORMAT_VERSION;
    out[1] = SegmentLayout.Array;
    view.setUint16(2, cardinality, true);
    const values = container.kind === 'array' ? container.values : toOffsets(container);
    for (let i = 0; i < cardinality; i++) view.setUint16(4 + 2 * i, values[i], true);
    return out;
  }
  if (runBytes < bitmapBytes) {
    const out = new Uint8Array(runBytes);
    const view = new DataView(out.buffer);
    out[0] = SEGMENT_FORMAT_VERSION;
    out[1] = SegmentLayout.Runs;
    view.setUint16(2, runs, true);
    let at = 4;
    forEachRun(container, (start, length) => {
      view.setUint16(at, start, true);
      view.setUint16(at + 2, length - 1, true);
      at += RUN_BYTES;
    });
    return out;
  }
  const out = new Uint8Array(bitmapBytes);
  const view = new DataView(out.buffer);
  out[0] = SEGMENT_FORMAT_VERSION;
  out[1] = SegmentLayout.Bitmap;
  const words = container.kind === 'bitmap' ? container.words : container.toBitmap().words;
  for (let w = 0; w < BITMAP_WORDS; w++) view.setUint32(HEADER_BYTES + 4 * w, words[w], true);
  return out;
}

/**
 * Decodes one segment, checking every structural rule of format version 1 and that no offset
 * reaches `limit` (the number of blocks of this segment that exist in the volume: 65,536 but
 * for the last, partial segment).
 *
 * @throws DeltaMapDecodeError on anything malformed: it names the rule that failed.
 */
export function decodeContainer(bytes: Uint8Array, limit: number, segment: number): Container {
  const fail = (why: string): never => {
    throw new DeltaMapDecodeError(`delta-map segment ${segment} cannot be decoded: ${why}`, { segment });
  };
  if (bytes.length < HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the 2-byte header`);
  if (bytes[0] !== SEGMENT_FORMAT_VERSION) {
    fail(`format version ${bytes[0]} is not supported (this build reads version ${SEGMENT_FORMAT_VERSION})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout = bytes[1];
  if (layout === SegmentLayout.Array) {
    if (bytes.length < HEADER_BYTES + COUNT_BYTES) fail('array layout without its count');
    const count = view.getUint16(2, true);
    if (count > ARRAY_MAX) fail(`array of ${count} offsets exceeds ${ARRAY_MAX}`);
    if (bytes.length !== HEADER_BYTES + COUNT_BYTES + 2 * count) {
      fail(`array of ${count} offsets needs ${HEADER_BYTES + COUNT_BYTES + 2 * count} bytes, got ${bytes.length}`);
    }
    const values = new Uint16Array(Math.max(count, 1));
    for (let i = 0; i < count; i++) {
      const offset = view.getUint16(4 + 2 * i, true);
      if (i > 0 && offset <= values[i - 1]) fail(`offsets not strictly ascending at position ${i}`);
      if (offset >= limit) fail(`offset ${offset} is beyond the segment's ${limit} blocks`);
      values[i] = offset;
    }
    return new ArrayContainer(values, count);
  }
  if (layout === SegmentLayout.Bitmap) {
    if (bytes.length !== MAX_ENCODED_SEGMENT_BYTES) {
      fail(`bitmap layout needs ${MAX_ENCODED_SEGMENT_BYTES} bytes, got ${bytes.length}`);
    }
    const words = new Uint32Array(BITMAP_WORDS);
    for (let w = 0; w < BITMAP_WORDS; w++) words[w] = view.getUint32(HEADER_BYTES + 4 * w, true);
    if (limit < SEGMENT_SPAN) {
      const bitmap = new BitmapContainer(words, 0);
      for (let offset = limit; offset < SEGMENT_SPAN; offset++) {
        if (bitmap.has(offset)) fail(`offset ${offset} is beyond the segment's ${limit} blocks`);
      }
    }
    return fromWords(words, bitmapCardinality(words));
  }
  if (layout === SegmentLayout.Runs) {
    if (bytes.length < HEADER_BYTES + COUNT_BYTES) fail('runs layout without its count');
    const count = view.getUint16(2, true);
    if (count === 0) fail('runs layout with no run');
    if (bytes.length !== HEADER_BYTES + COUNT_BYTES + RUN_BYTES * count) {
      fail(`${count} runs need ${HEADER_BYTES + COUNT_BYTES + RUN_BYTES * count} bytes, got ${bytes.length}`);
    }
    const words = new Uint32Array(BITMAP_WORDS);
    const bitmap = new BitmapContainer(words, 0);
    let previousEnd = -1;
    for (let r = 0; r < count; r++) {
      const start = view.getUint16(4 + RUN_BYTES * r, true);
      const end = start + view.getUint16(6 + RUN_BYTES * r, true) + 1;
      if (start <= previousEnd) fail(`run ${r} overlaps or precedes the run before it`);
      if (end > limit) fail(`run ${r} ends at offset ${end - 1}, beyond the segment's ${limit} blocks`);
      bitmap.addRange(start, end);
      previousEnd = end - 1;
    }
    return fromWords(words, bitmap.cardinality);
  }
  return fail(`unknown layout ${layout}`);
}

function toOffsets(container: BitmapContainer): Uint16Array {
  const values = new Uint16Array(Math.max(container.cardinality, 1));
  container.fill(values, 0, 0);
  return values;
}

function forEachRun(container: Container, visit: (start: number, length: number) => void): void {
  const values = container.kind === 'array' ? container.values : toOffsets(container);
  let start = -1;
  let previous = -2;
  for (let i = 0; i < container.cardinality; i++) {
    const value = values[i];
    if (value !== previous + 1) {
      if (start >= 0) visit(start, previous - start + 1);
      start = value;
    }
    previous = value;
  }
  if (start >= 0) visit(start, previous - start + 1);
}

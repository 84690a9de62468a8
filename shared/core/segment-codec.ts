import { DeltaMapDecodeError } from './errors';
import {
  ARRAY_MAX,
  ArrayContainer,
  BITMAP_BYTES,
  BITMAP_WORDS,
  BitmapContainer,
  type Container,
  RUN_MAX,
  RunContainer,
  SEGMENT_SPAN,
  bitmapCardinality,
  fromWords,
  normalizeRuns,
} from './segment-container';

/**
 * Serialized form of one delta-map segment, format version 1 (all integers little-endian):
 *
 * ```
 * byte 0   version = 1
 * byte 1   layout: 0 = array, 1 = bitmap, 2 = runs
 * array    u16 count (0..4096), then count × u16 offset, strictly ascending
 * bitmap   2,048 × u32 words: bit (offset % 32) of word (offset / 32) is set for each member
 * runs     u16 count (1..2047), then count × (u16 first, u16 last), ascending, disjoint
 * ```
 *
 * The encoder picks whichever layout is smallest, so a segment never exceeds 8,194 bytes
 * (the bitmap), far below DynamoDB's 400 KB item limit, and a clustered segment (a file
 * written sequentially) costs 4 bytes a run. Every payload is the in-memory layout of its
 * container in little-endian order, so on little-endian hosts encoding and decoding are byte
 * copies plus validation.
 */
export const SEGMENT_FORMAT_VERSION = 1;

export const SegmentLayout = { Array: 0, Bitmap: 1, Runs: 2 } as const;

/** Version byte + layout byte. */
const HEADER_BYTES = 2;
/** u16 count that opens the array and runs layouts. */
const COUNT_BYTES = 2;
const RUN_BYTES = 4;

/** Largest encoded segment: header + a full bitmap. */
export const MAX_ENCODED_SEGMENT_BYTES = HEADER_BYTES + BITMAP_BYTES;

/**
 * Typed arrays use the platform's byte order; on little-endian hosts (every platform Lambda and
 * Node run on today) bitmap words can be copied as bytes instead of one DataView call a word.
 */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Writes header, u16 count, then the first `length` 16-bit values of `values`, little-endian, at `out[0]`. */
function writeWithCount(out: Uint8Array, layout: number, count: number, values: Uint16Array, length: number): void {
  out[0] = SEGMENT_FORMAT_VERSION;
  out[1] = layout;
  out[2] = count & 0xff;
  out[3] = count >>> 8;
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, 2 * length), HEADER_BYTES + COUNT_BYTES);
  } else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < length; i++) view.setUint16(HEADER_BYTES + COUNT_BYTES + 2 * i, values[i], true);
  }
}

/** `length` little-endian 16-bit values from `bytes` at `at`, in a fresh (aligned) array. */
function readUint16s(bytes: Uint8Array, at: number, length: number): Uint16Array {
  const values = new Uint16Array(Math.max(length, 1));
  if (LITTLE_ENDIAN) {
    new Uint8Array(values.buffer, 0, 2 * length).set(bytes.subarray(at, at + 2 * length));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < length; i++) values[i] = view.getUint16(at + 2 * i, true);
  }
  return values;
}

/** Number of maximal runs of a container; for a bitmap, counting stops once runs cannot win. */
export function countRuns(container: Container): number {
  if (container.kind === 'run') return container.count;
  if (container.kind === 'array') return container.countRuns();
  return container.countRuns(RUN_MAX);
}

/** The layout the encoder picks for a container (the smallest) and its encoded size in bytes. */
export interface EncodingPlan {
  readonly layout: number;
  readonly bytes: number;
  /** Runs of the container (when the layout is runs). */
  readonly runs: number;
}

/** Chooses the smallest layout of format version 1 for `container`. */
export function planEncoding(container: Container): EncodingPlan {
  const cardinality = container.cardinality;
  const runs = countRuns(container);
  const arrayBytes = cardinality <= ARRAY_MAX ? HEADER_BYTES + COUNT_BYTES + 2 * cardinality : Infinity;
  const runBytes = runs > 0 && runs <= RUN_MAX ? HEADER_BYTES + COUNT_BYTES + RUN_BYTES * runs : Infinity;
  if (arrayBytes <= runBytes && arrayBytes <= MAX_ENCODED_SEGMENT_BYTES) {
    return { layout: SegmentLayout.Array, bytes: arrayBytes, runs };
  }
  if (runBytes < MAX_ENCODED_SEGMENT_BYTES) return { layout: SegmentLayout.Runs, bytes: runBytes, runs };
  return { layout: SegmentLayout.Bitmap, bytes: MAX_ENCODED_SEGMENT_BYTES, runs };
}

/** Writes `container` as `plan` says into `out`, which must be exactly `plan.bytes` long. */
export function writeContainer(container: Container, plan: EncodingPlan, out: Uint8Array): void {
  if (plan.layout === SegmentLayout.Array) {
    const values = container.kind === 'array' ? container.values : toArrayContainer(container).values;
    writeWithCount(out, SegmentLayout.Array, container.cardinality, values, container.cardinality);
    return;
  }
  if (plan.layout === SegmentLayout.Runs) {
    const asRuns = container.kind === 'run' ? container : container.toRuns();
    writeWithCount(out, SegmentLayout.Runs, plan.runs, asRuns.runs, 2 * plan.runs);
    return;
  }
  out[0] = SEGMENT_FORMAT_VERSION;
  out[1] = SegmentLayout.Bitmap;
  const words = container.kind === 'bitmap' ? container.words : container.toBitmap().words;
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(words.buffer, words.byteOffset, BITMAP_BYTES), HEADER_BYTES);
  } else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let w = 0; w < BITMAP_WORDS; w++) view.setUint32(HEADER_BYTES + 4 * w, words[w], true);
  }
}

/** Encodes a segment's container in the smallest layout of format version 1. */
export function encodeContainer(container: Container): Uint8Array {
  const plan = planEncoding(container);
  const out = new Uint8Array(plan.bytes);
  writeContainer(container, plan, out);
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
    const values = readUint16s(bytes, HEADER_BYTES + COUNT_BYTES, count);
    for (let i = 1; i < count; i++) {
      if (values[i] <= values[i - 1]) fail(`offsets not strictly ascending at position ${i}`);
    }
    if (count > 0 && values[count - 1] >= limit) fail(`offset ${values[count - 1]} is beyond the segment's ${limit} blocks`);
    return new ArrayContainer(values, count);
  }
  if (layout === SegmentLayout.Bitmap) {
    if (bytes.length !== MAX_ENCODED_SEGMENT_BYTES) {
      fail(`bitmap layout needs ${MAX_ENCODED_SEGMENT_BYTES} bytes, got ${bytes.length}`);
    }
    const words = new Uint32Array(BITMAP_WORDS);
    if (LITTLE_ENDIAN) {
      new Uint8Array(words.buffer).set(bytes.subarray(HEADER_BYTES, MAX_ENCODED_SEGMENT_BYTES));
    } else {
      for (let w = 0; w < BITMAP_WORDS; w++) words[w] = view.getUint32(HEADER_BYTES + 4 * w, true);
    }
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
    if (count > RUN_MAX) fail(`${count} runs exceed ${RUN_MAX}`);
    const runs = readUint16s(bytes, HEADER_BYTES + COUNT_BYTES, 2 * count);
    let cardinality = 0;
    let previousLast = -1;
    for (let r = 0; r < count; r++) {
      const first = runs[2 * r];
      const last = runs[2 * r + 1];
      if (first <= previousLast) fail(`run ${r} overlaps or precedes the run before it`);
      if (last < first) fail(`run ${r} ends at ${last} before it starts at ${first}`);
      if (last >= limit) fail(`run ${r} ends at offset ${last}, beyond the segment's ${limit} blocks`);
      cardinality += last - first + 1;
      previousLast = last;
    }
    return normalizeRuns(new RunContainer(runs, count, cardinality));
  }
  return fail(`unknown layout ${layout}`);
}

function toArrayContainer(container: Container): ArrayContainer {
  if (container.kind === 'array') return container;
  if (container.kind === 'run') return container.toArray();
  return fromWords(container.words, container.cardinality) as ArrayContainer;
}

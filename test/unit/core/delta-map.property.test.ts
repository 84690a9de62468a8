import fc from 'fast-check';
import { BLOCKS_PER_SEGMENT, MAX_VOLUME_BLOCKS } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';

/**
 * Every DeltaMap operation against a naive `Set<number>` model. The arbitraries aim at the
 * edges of the layouts and their mixtures: empty maps, sparse segments (array layout), dense
 * scattered segments above the 4,096-block switch (bitmap layout), ranges (run layout), full
 * segments, the last partial segment and the largest volume (65,536 GiB).
 */

/** Volume sizes in blocks: tiny, exactly one segment, one block into a second, partial last, largest. */
const volumeSizes = fc.constantFrom(1, 100, BLOCKS_PER_SEGMENT, BLOCKS_PER_SEGMENT + 1, 3 * BLOCKS_PER_SEGMENT + 123, MAX_VOLUME_BLOCKS);

type Op = { add: number } | { range: [number, number] } | { stride: [number, number, number] };

/** Operations that build a map: single blocks, short and long ranges, anchored near segment edges. */
function ops(volumeBlocks: number): fc.Arbitrary<Op[]> {
  const block = fc.oneof(
    fc.integer({ min: 0, max: volumeBlocks - 1 }),
    // Near a segment boundary or the end of the volume, where off-by-ones live.
    fc.integer({ min: 0, max: Math.floor((volumeBlocks - 1) / BLOCKS_PER_SEGMENT) }).chain((segment) =>
      fc.integer({ min: -2, max: 2 }).map((delta) =>
        Math.min(volumeBlocks - 1, Math.max(0, segment * BLOCKS_PER_SEGMENT + delta)),
      ),
    ),
    fc.constant(volumeBlocks - 1),
  );
  const range = fc
    .tuple(block, fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 4_000, max: 6_000 })))
    .map(([start, length]): Op => ({ range: [start, Math.min(volumeBlocks, start + length)] }));
  // A whole segment, so that full bitmaps and the single-run encoding are exercised.
  const fullSegment = fc
    .integer({ min: 0, max: Math.floor((volumeBlocks - 1) / BLOCKS_PER_SEGMENT) })
    .map((segment): Op => ({
      range: [segment * BLOCKS_PER_SEGMENT, Math.min(volumeBlocks, (segment + 1) * BLOCKS_PER_SEGMENT)],
    }));
  // Every 2nd to 5th block over up to 20,000 blocks: dense and scattered, i.e. the bitmap layout.
  const stride = fc
    .tuple(block, fc.integer({ min: 9_000, max: 20_000 }), fc.integer({ min: 2, max: 5 }))
    .map(([start, length, step]): Op => ({ stride: [start, Math.min(volumeBlocks, start + length), step] }));
  return fc.array(
    fc.oneof(
      { weight: 12, arbitrary: block.map((b): Op => ({ add: b })) },
      { weight: 4, arbitrary: range },
      { weight: 1, arbitrary: fullSegment },
      { weight: 1, arbitrary: stride },
    ),
    { maxLength: 20 },
  );
}

interface Pair {
  map: DeltaMap;
  model: Set<number>;
}

function build(volumeBlocks: number, operations: Op[]): Pair {
  const map = DeltaMap.empty(volumeBlocks);
  const model = new Set<number>();
  for (const op of operations) {
    if ('add' in op) {
      map.add(op.add);
      model.add(op.add);
    } else if ('range' in op) {
      map.addRange(op.range[0], op.range[1]);
      for (let b = op.range[0]; b < op.range[1]; b++) model.add(b);
    } else {
      const [start, end, step] = op.stride;
      for (let b = start; b < end; b += step) {
        map.add(b);
        model.add(b);
      }
    }
  }
  return { map, model };
}

const sorted = (set: Iterable<number>): number[] => [...set].sort((a, b) => a - b);

/**
 * The first difference between two block lists, or undefined when equal. Jest's deep equality
 * is slow on arrays of 100,000 numbers; this keeps the properties fast and the failure readable.
 */
function difference(actual: ArrayLike<number>, expected: ArrayLike<number>): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) return `at ${i}: ${actual[i]}, expected ${expected[i]}`;
  }
  return undefined;
}

/** Two maps of one volume, built independently. */
const twoMaps = volumeSizes.chain((volumeBlocks) =>
  fc.tuple(ops(volumeBlocks), ops(volumeBlocks)).map(([a, b]) => ({ volumeBlocks, a: build(volumeBlocks, a), b: build(volumeBlocks, b) })),
);
const oneMap = volumeSizes.chain((volumeBlocks) => ops(volumeBlocks).map((o) => ({ volumeBlocks, ...build(volumeBlocks, o) })));

const RUNS = { numRuns: 100 };

describe('DeltaMap (properties against a Set<number> model)', () => {
  it('holds exactly the blocks added, in ascending order, with the right size', () => {
    fc.assert(
      fc.property(oneMap, ({ map, model }) => {
        expect(difference(map.toArray(), sorted(model))).toBeUndefined();
        expect(difference([...map], sorted(model))).toBeUndefined();
        expect(difference(Array.from(map.toUint32Array()), sorted(model))).toBeUndefined();
        expect(map.size).toBe(model.size);
        expect(map.isEmpty()).toBe(model.size === 0);
      }),
      RUNS,
    );
  });

  it('answers has() like the model, inside and outside the volume', () => {
    fc.assert(
      fc.property(oneMap, fc.array(fc.integer({ min: -5, max: MAX_VOLUME_BLOCKS + 5 }), { maxLength: 50 }), ({ map, model }, probes) => {
        // Probe arbitrary indexes, every member's neighbours, and a sample of members.
        const members = sorted(model);
        const sample = members.filter((_, i) => i % Math.max(1, Math.floor(members.length / 500)) === 0);
        const all = [...probes, ...sample, ...sample.map((b) => b + 1), ...sample.map((b) => b - 1)];
        expect(all.map((b) => map.has(b))).toEqual(all.map((b) => model.has(b)));
      }),
      RUNS,
    );
  });

  it('union, subtract and intersect match the set operations and leave their inputs untouched', () => {
    fc.assert(
      fc.property(twoMaps, ({ a, b }) => {
        const before = [a.map.clone(), b.map.clone()];
        expect(difference(a.map.union(b.map).toArray(), sorted(new Set([...a.model, ...b.model])))).toBeUndefined();
        expect(difference(a.map.subtract(b.map).toArray(), sorted([...a.model].filter((x) => !b.model.has(x))))).toBeUndefined();
        expect(difference(a.map.intersect(b.map).toArray(), sorted([...a.model].filter((x) => b.model.has(x))))).toBeUndefined();
        expect(difference(a.map.toArray(), before[0].toArray())).toBeUndefined();
        expect(difference(b.map.toArray(), before[1].toArray())).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('addAll and removeAll are the in-place union and subtraction', () => {
    fc.assert(
      fc.property(twoMaps, ({ a, b }) => {
        const union = a.map.clone().addAll(b.map);
        expect(difference(union.toArray(), sorted(new Set([...a.model, ...b.model])))).toBeUndefined();
        const rest = a.map.clone().removeAll(b.map);
        expect(difference(rest.toArray(), sorted([...a.model].filter((x) => !b.model.has(x))))).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('deletes blocks like the model, including down to an empty map', () => {
    fc.assert(
      fc.property(oneMap, fc.array(fc.nat(), { maxLength: 40 }), ({ map, model }, picks) => {
        const members = sorted(model);
        for (const pick of picks) {
          if (members.length === 0) break;
          const blockIndex = members[pick % members.length];
          map.delete(blockIndex);
          model.delete(blockIndex);
        }
        expect(difference(map.toArray(), sorted(model))).toBeUndefined();
        expect(map.size).toBe(model.size);
      }),
      RUNS,
    );
  });

  it('equals exactly when the blocks are the same', () => {
    fc.assert(
      fc.property(twoMaps, ({ a, b }) => {
        const same = a.model.size === b.model.size && [...a.model].every((x) => b.model.has(x));
        expect(a.map.equals(b.map)).toBe(same);
        expect(a.map.equals(DeltaMap.of(a.map.volumeBlocks, a.model))).toBe(true);
      }),
      RUNS,
    );
  });

  it('splits into segments that hold exactly the blocks of each segment and join back to the same map', () => {
    fc.assert(
      fc.property(oneMap, ({ volumeBlocks, map, model }) => {
        const shards = map.split();
        const expectedSegments = sorted(new Set([...model].map((b) => Math.floor(b / BLOCKS_PER_SEGMENT))));
        expect([...shards.keys()]).toEqual(expectedSegments);
        expect(map.segmentIndexes()).toEqual(expectedSegments);
        for (const [segment, bytes] of shards) {
          const part = DeltaMap.decodeSegment(volumeBlocks, segment, bytes);
          const expected = sorted([...model].filter((b) => Math.floor(b / BLOCKS_PER_SEGMENT) === segment));
          expect(difference(part.toArray(), expected)).toBeUndefined();
          expect(difference(map.segment(segment).toArray(), expected)).toBeUndefined();
          expect(map.segmentSize(segment)).toBe(expected.length);
          // Always fits a DynamoDB item (400 KB) with room to spare.
          expect(bytes.length).toBeLessThanOrEqual(8_194);
        }
        const shuffled = [...shards].reverse();
        const joined = DeltaMap.join(volumeBlocks, shuffled);
        expect(joined.equals(map)).toBe(true);
        expect(joined.volumeBlocks).toBe(volumeBlocks);
      }),
      RUNS,
    );
  });

  it('serializes no larger than the plainest layout that could hold the segment', () => {
    fc.assert(
      fc.property(oneMap, ({ map }) => {
        for (const [segment, bytes] of map.split()) {
          const count = map.segmentSize(segment);
          // Never worse than a sorted array of 16-bit offsets (when that is possible) or the bitmap.
          const arrayBytes = count <= 4_096 ? 4 + 2 * count : Infinity;
          expect(bytes.length).toBeLessThanOrEqual(Math.min(arrayBytes, 8_194));
        }
      }),
      RUNS,
    );
  });

  it('grows with resize and keeps its blocks; union of different sizes takes the larger', () => {
    fc.assert(
      fc.property(oneMap, ({ volumeBlocks, map, model }) => {
        const grownBlocks = Math.min(MAX_VOLUME_BLOCKS, volumeBlocks + BLOCKS_PER_SEGMENT);
        const grown = map.resize(grownBlocks);
        expect(grown.volumeBlocks).toBe(grownBlocks);
        expect(difference(grown.toArray(), sorted(model))).toBeUndefined();
        const extra = DeltaMap.of(grown.volumeBlocks, [grown.volumeBlocks - 1]);
        const union = map.union(extra);
        expect(union.volumeBlocks).toBe(grown.volumeBlocks);
        expect(difference(union.toArray(), sorted(new Set([...model, grown.volumeBlocks - 1])))).toBeUndefined();
        expect(map.subtract(extra).volumeBlocks).toBe(volumeBlocks);
      }),
      { numRuns: 60 },
    );
  });
});

import { BLOCKS_PER_SEGMENT, MAX_VOLUME_BLOCKS, volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { BlockRangeError, DeltaMapDecodeError, VolumeSizeMismatchError } from '../../../shared/core/errors';
import { SEGMENT_FORMAT_VERSION, SegmentLayout } from '../../../shared/core/segment-codec';

const EIGHT_GIB = volumeBlocks(8); // 16,384 blocks: one partial segment

describe('DeltaMap', () => {
  describe('add', () => {
    it('rejects a block outside the volume with a typed error naming the block', () => {
      // Prepare
      const map = DeltaMap.empty(EIGHT_GIB);

      // Act
      const act = (): unknown => map.add(EIGHT_GIB);

      // Assess
      expect(act).toThrow(BlockRangeError);
      expect(act).toThrow(/block 16384 is outside the volume's blocks 0..16383/);
      expect(() => map.add(-1)).toThrow(BlockRangeError);
      expect(() => map.add(1.5)).toThrow(BlockRangeError);
    });

    it('switches a segment to a bitmap past 4,096 blocks and back to sorted offsets when it thins out', () => {
      // Prepare
      const map = DeltaMap.empty(BLOCKS_PER_SEGMENT);
      for (let b = 0; b < 5_000; b++) map.add(b * 13);

      // Act
      const dense = map.encodeSegment(0);
      for (let b = 0; b < 4_000; b++) map.delete(b * 13);
      const sparse = map.encodeSegment(0);

      // Assess
      expect(dense[1]).toBe(SegmentLayout.Bitmap);
      expect(sparse[1]).toBe(SegmentLayout.Array);
      expect(map.size).toBe(1_000);
      expect(map.has(4_000 * 13)).toBe(true);
      expect(map.has(3_999 * 13)).toBe(false);
    });
  });

  describe('addRange', () => {
    it('adds a range spanning several segments, including the last block of the largest volume', () => {
      // Prepare
      const map = DeltaMap.empty(MAX_VOLUME_BLOCKS);

      // Act
      map.addRange(BLOCKS_PER_SEGMENT - 2, 2 * BLOCKS_PER_SEGMENT + 3).addRange(MAX_VOLUME_BLOCKS - 1, MAX_VOLUME_BLOCKS);

      // Assess
      expect(map.size).toBe(BLOCKS_PER_SEGMENT + 5 + 1);
      expect(map.segmentIndexes()).toEqual([0, 1, 2, MAX_VOLUME_BLOCKS / BLOCKS_PER_SEGMENT - 1]);
      expect(map.has(MAX_VOLUME_BLOCKS - 1)).toBe(true);
      expect(map.has(BLOCKS_PER_SEGMENT - 3)).toBe(false);
    });

    it('rejects a range that leaves the volume or runs backwards', () => {
      const map = DeltaMap.empty(EIGHT_GIB);
      expect(() => map.addRange(0, EIGHT_GIB + 1)).toThrow(BlockRangeError);
      expect(() => map.addRange(10, 5)).toThrow(BlockRangeError);
      expect(map.isEmpty()).toBe(true);
    });
  });

  describe('binary operations across layouts', () => {
    // One segment in each layout; every pair is combined and checked against plain sets.
    const layouts: Record<string, () => DeltaMap> = {
      array: () => DeltaMap.of(BLOCKS_PER_SEGMENT, [1, 5, 9, 100, 4_999, 20_005, 40_000]),
      bitmap: () => {
        const map = DeltaMap.empty(BLOCKS_PER_SEGMENT);
        for (let b = 0; b < 30_000; b += 3) map.add(b);
        return map;
      },
      run: () => DeltaMap.empty(BLOCKS_PER_SEGMENT).addRange(10, 5_000).addRange(20_000, 20_010).addRange(40_000, BLOCKS_PER_SEGMENT),
    };
    const expectedLayout = { array: SegmentLayout.Array, bitmap: SegmentLayout.Bitmap, run: SegmentLayout.Runs };
    const names = Object.keys(layouts) as Array<keyof typeof expectedLayout>;
    const pairs = names.flatMap((a) => names.map((b) => [a, b] as const));

    it.each(names)('builds the %s layout it is meant to test', (name) => {
      expect(layouts[name]().encodeSegment(0)[1]).toBe(expectedLayout[name]);
    });

    it.each(pairs)('%s with %s: union, subtract, intersect and equals agree with sets', (left, right) => {
      // Prepare
      const a = layouts[left]();
      const b = layouts[right]();
      const setA = new Set(a.toArray());
      const setB = new Set(b.toArray());
      const sortedOf = (values: Iterable<number>): number[] => [...values].sort((x, y) => x - y);

      // Act
      const union = a.union(b);
      const difference = a.subtract(b);
      const intersection = a.intersect(b);

      // Assess
      expect(union.toArray()).toEqual(sortedOf(new Set([...setA, ...setB])));
      expect(difference.toArray()).toEqual(sortedOf([...setA].filter((x) => !setB.has(x))));
      expect(intersection.toArray()).toEqual(sortedOf([...setA].filter((x) => setB.has(x))));
      expect(a.equals(b)).toBe(left === right);
      expect(union.equals(DeltaMap.of(BLOCKS_PER_SEGMENT, union.toArray()))).toBe(true);
      expect(DeltaMap.join(BLOCKS_PER_SEGMENT, difference.split()).equals(difference)).toBe(true);
    });
  });

  describe('addAll', () => {
    it('refuses to merge a map of a larger volume in place: resize first', () => {
      const small = DeltaMap.of(EIGHT_GIB, [1]);
      const large = DeltaMap.of(2 * EIGHT_GIB, [EIGHT_GIB + 1]);
      expect(() => small.addAll(large)).toThrow(VolumeSizeMismatchError);
      expect(small.resize(2 * EIGHT_GIB).addAll(large).toArray()).toEqual([1, EIGHT_GIB + 1]);
    });
  });

  describe('resize', () => {
    it('refuses to shrink, since volumes never shrink', () => {
      expect(() => DeltaMap.of(EIGHT_GIB, [1]).resize(EIGHT_GIB - 1)).toThrow(BlockRangeError);
    });
  });

  describe('empty', () => {
    it('refuses volumes larger than 65,536 GiB', () => {
      expect(() => DeltaMap.empty(MAX_VOLUME_BLOCKS + 1)).toThrow(BlockRangeError);
    });
  });

  describe('encodeSegment', () => {
    it('encodes a full segment as one run of 8 bytes', () => {
      const map = DeltaMap.empty(2 * BLOCKS_PER_SEGMENT).addRange(BLOCKS_PER_SEGMENT, 2 * BLOCKS_PER_SEGMENT);
      const bytes = map.encodeSegment(1);
      expect(Array.from(bytes)).toEqual([SEGMENT_FORMAT_VERSION, SegmentLayout.Runs, 1, 0, 0, 0, 0xff, 0xff]);
    });

    it('encodes scattered dense blocks as the 8,194-byte bitmap, the upper bound of any segment', () => {
      const map = DeltaMap.empty(BLOCKS_PER_SEGMENT);
      for (let b = 0; b < BLOCKS_PER_SEGMENT; b += 2) map.add(b);
      expect(map.encodeSegment(0).length).toBe(8_194);
    });

    it('encodes an empty segment as an empty array that decodes to an empty map', () => {
      const bytes = DeltaMap.empty(EIGHT_GIB).encodeSegment(0);
      expect(bytes.length).toBe(4);
      expect(DeltaMap.decodeSegment(EIGHT_GIB, 0, bytes).isEmpty()).toBe(true);
    });
  });

  describe('decodeSegment', () => {
    const valid = DeltaMap.of(EIGHT_GIB, [3, 9]).encodeSegment(0); // array layout: [1, 0, 2, 0, 3, 0, 9, 0]

    it.each([
      ['truncated header', new Uint8Array([1]), /shorter than the 2-byte header/],
      ['unknown version', Uint8Array.from([9, ...valid.subarray(1)]), /format version 9 is not supported/],
      ['unknown layout', Uint8Array.from([1, 7, ...valid.subarray(2)]), /unknown layout 7/],
      ['truncated array', valid.subarray(0, valid.length - 1), /needs 8 bytes, got 7/],
      ['offsets out of order', new Uint8Array([1, 0, 2, 0, 9, 0, 3, 0]), /not strictly ascending/],
      ['duplicate offsets', new Uint8Array([1, 0, 2, 0, 3, 0, 3, 0]), /not strictly ascending/],
      ['offset beyond the last partial segment', new Uint8Array([1, 0, 1, 0, 0x00, 0x40]), /offset 16384 is beyond the segment's 16384 blocks/],
      ['a run that ends before it starts', new Uint8Array([1, 2, 1, 0, 5, 0, 3, 0]), /ends at 3 before it starts at 5/],
      ['runs that overlap', new Uint8Array([1, 2, 2, 0, 0, 0, 9, 0, 5, 0, 0, 0]), /overlaps or precedes/],
      ['a run past the volume', new Uint8Array([1, 2, 1, 0, 0, 0, 0xff, 0xff]), /beyond the segment's 16384 blocks/],
      ['runs layout with no run', new Uint8Array([1, 2, 0, 0]), /no run/],
      ['bitmap of the wrong length', new Uint8Array([1, 1, 0, 0]), /bitmap layout needs 8194 bytes/],
    ])('rejects %s with DeltaMapDecodeError', (_why, bytes, message) => {
      const act = (): unknown => DeltaMap.decodeSegment(EIGHT_GIB, 0, bytes);
      expect(act).toThrow(DeltaMapDecodeError);
      expect(act).toThrow(message);
    });

    it('rejects a bitmap with a bit set beyond the last partial segment', () => {
      const bytes = new Uint8Array(8_194);
      bytes[0] = SEGMENT_FORMAT_VERSION;
      bytes[1] = SegmentLayout.Bitmap;
      bytes[2 + 16_384 / 8] = 1; // offset 16,384 of a 16,384-block volume
      expect(() => DeltaMap.decodeSegment(EIGHT_GIB, 0, bytes)).toThrow(/offset 16384 is beyond/);
    });

    it('rejects a segment that the volume does not have', () => {
      expect(() => DeltaMap.decodeSegment(EIGHT_GIB, 1, valid)).toThrow(/segment 1 does not exist/);
    });
  });

  describe('join', () => {
    it('rejects the same segment given twice', () => {
      const shard = DeltaMap.of(EIGHT_GIB, [1]).encodeSegment(0);
      expect(() => DeltaMap.join(EIGHT_GIB, [[0, shard], [0, shard]])).toThrow(/segment 0 appears twice/);
    });
  });
});

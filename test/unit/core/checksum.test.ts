import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { BlockDigests, sha256, sha256Base64, ZERO_BLOCK, ZERO_BLOCK_DIGEST } from '../../../shared/core/checksum';
import { BLOCK_SIZE } from '../../../shared/core/constants';

/** The LINEAR aggregate computed the naive way: a Map, sorted keys, concatenated digests. */
function naiveLinear(blocks: Map<number, Buffer>): string {
  const concatenated = Buffer.concat([...blocks.keys()].sort((a, b) => a - b).map((index) => blocks.get(index) ?? Buffer.alloc(0)));
  return createHash('sha256').update(concatenated).digest('base64');
}

function digestOf(seed: number): Buffer {
  return createHash('sha256').update(`block-${seed}`).digest();
}

describe('checksum', () => {
  describe('ZERO_BLOCK_DIGEST', () => {
    it('is the SHA-256 of one block of zeros as EBS-FACTS.md states it', () => {
      // Prepare / Act
      const base64 = Buffer.from(ZERO_BLOCK_DIGEST).toString('base64');

      // Assess
      expect(ZERO_BLOCK.length).toBe(BLOCK_SIZE);
      expect(base64).toBe('B4VNL+8pega6gWheZgwzLeNtXRjVRpJ9MNqtbX/aFUE=');
      expect(sha256Base64(ZERO_BLOCK)).toBe(base64);
    });
  });

  describe('BlockDigests', () => {
    describe('aggregate', () => {
      it('hashes the raw digests in ascending block index whatever the write order', () => {
        // Prepare
        const digests = new BlockDigests();
        const written = new Map<number, Buffer>([
          [9, digestOf(9)],
          [2, digestOf(2)],
          [5, digestOf(5)],
        ]);
        for (const [index, digest] of written) digests.record(index, digest);

        // Act
        const result = digests.aggregate();

        // Assess
        expect(result.changedBlocksCount).toBe(3);
        expect(result.checksum).toBe(naiveLinear(written));
      });

      it('counts a block written twice once, with its last digest', () => {
        // Prepare
        const digests = new BlockDigests();
        digests.record(4, digestOf(1));
        digests.record(1, digestOf(2));
        digests.record(4, digestOf(3));

        // Act
        const result = digests.aggregate();

        // Assess
        expect(digests.records).toBe(3);
        expect(result.changedBlocksCount).toBe(2);
        expect(result.checksum).toBe(naiveLinear(new Map([[1, digestOf(2)], [4, digestOf(3)]])));
      });

      it('is the hash of nothing when no block was written', () => {
        // Prepare / Act
        const result = new BlockDigests().aggregate();

        // Assess
        expect(result).toEqual({ changedBlocksCount: 0, checksum: createHash('sha256').digest('base64') });
      });

      it('matches a naive Map model for any sequence of writes (growing past the first allocation)', () => {
        fc.assert(
          fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer()), { maxLength: 3_000 }), (writes) => {
            // Prepare
            const digests = new BlockDigests();
            const model = new Map<number, Buffer>();
            for (const [index, seed] of writes) {
              digests.record(index, digestOf(seed));
              model.set(index, digestOf(seed));
            }

            // Act
            const result = digests.aggregate();

            // Assess
            expect(result.changedBlocksCount).toBe(model.size);
            expect(result.checksum).toBe(naiveLinear(model));
          }),
          { numRuns: 30 },
        );
      });
    });

    describe('record', () => {
      it('refuses a digest that is not 32 bytes and an index that is not a block index', () => {
        // Prepare
        const digests = new BlockDigests();

        // Act / Assess
        expect(() => digests.record(0, Buffer.alloc(31))).toThrow(RangeError);
        expect(() => digests.record(-1, sha256(Buffer.from('x')))).toThrow(/not a valid EBS block index/);
        expect(() => digests.record(1.5, sha256(Buffer.from('x')))).toThrow(/not a valid EBS block index/);
      });
    });

    describe('toBytes / addBytes', () => {
      it('carries the digests to another process and aggregates the same there', () => {
        // Prepare
        const first = new BlockDigests();
        const second = new BlockDigests();
        for (let index = 0; index < 50; index++) first.record(index * 3, digestOf(index));
        for (let index = 0; index < 50; index++) second.record(index * 3 + 1, digestOf(index + 100));

        // Act
        const merged = new BlockDigests().addBytes(first.toBytes()).addBytes(second.toBytes());

        // Assess
        const model = new Map<number, Buffer>();
        for (let index = 0; index < 50; index++) model.set(index * 3, digestOf(index)).set(index * 3 + 1, digestOf(index + 100));
        expect(merged.aggregate()).toEqual({ changedBlocksCount: 100, checksum: naiveLinear(model) });
        expect(() => new BlockDigests().addBytes(new Uint8Array(35))).toThrow(/records of 36 bytes/);
      });
    });
  });
});

import { sha256Base64 } from '../../../shared/core/checksum';
import { ChecksumMismatchError } from '../../../shared/core/ports/errors';
import { verifyBlock } from '../../../shared/aws/snapshot-reader';
import { BLOCK_SIZE, BLOCKS_PER_SEGMENT, segmentRange } from '../../../shared/core/constants';

describe('snapshot-reader', () => {
  describe('verifyBlock', () => {
    const context = { snapshotId: 'snap-1', blockIndex: 8 };
    const block = Buffer.alloc(BLOCK_SIZE, 7);

    it('accepts one block whose bytes hash to the checksum sent', () => {
      // Act / Assess
      expect(() => verifyBlock(block, sha256Base64(block), BLOCK_SIZE, 'SHA256', context)).not.toThrow();
    });

    it('refuses a short block, a DataLength that disagrees, a missing checksum and a wrong one', () => {
      // Prepare
      const short = block.subarray(0, BLOCK_SIZE - 1);
      const other = Buffer.alloc(BLOCK_SIZE, 8);

      // Act / Assess
      expect(() => verifyBlock(short, sha256Base64(short), BLOCK_SIZE - 1, 'SHA256', context)).toThrow(/not one block/);
      expect(() => verifyBlock(block, sha256Base64(block), BLOCK_SIZE - 1, 'SHA256', context)).toThrow(ChecksumMismatchError);
      expect(() => verifyBlock(block, undefined, BLOCK_SIZE, 'SHA256', context)).toThrow(/cannot be verified/);
      expect(() => verifyBlock(block, sha256Base64(block), BLOCK_SIZE, 'CRC32', context)).toThrow(/cannot be verified/);
      expect(() => verifyBlock(block, sha256Base64(other), BLOCK_SIZE, 'SHA256', context)).toThrow(/does not match its checksum/);
    });
  });

  describe('segmentRange', () => {
    it('covers exactly the blocks of one segment', () => {
      // Act / Assess
      expect(segmentRange(0)).toEqual({ start: 0, end: BLOCKS_PER_SEGMENT });
      expect(segmentRange(3)).toEqual({ start: 3 * BLOCKS_PER_SEGMENT, end: 4 * BLOCKS_PER_SEGMENT });
    });
  });
});

import { BLOCKS_PER_SEGMENT, volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { BlockRangeError, ChainInvariantError } from '../../../shared/core/errors';
import { PitMap } from '../../../shared/core/pit-map';
import { blocks, buildChain } from './chain-fixtures';

describe('PitMap', () => {
  describe('atVerifyStart', () => {
    it('compares against the head, never the pending tail', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1] }, { delta: [2], status: 'pending' }]);

      // Act
      const pitMap = PitMap.atVerifyStart(chain, blocks([2]));

      // Assess
      expect(pitMap.head.seq).toBe(1);
      expect(pitMap.sourceOf(0)).toEqual({ kind: 'secondary', seq: 1, secondarySnapshotId: 'snap-s1' });
      expect(pitMap.isPending(2)).toBe(true);
    });

    it('refuses a present delta map smaller than the head volume, and an empty chain', () => {
      // Prepare
      const chain = buildChain([{ delta: [0], volumeSize: 2 }]);

      // Act
      const smaller = (): unknown => PitMap.atVerifyStart(chain, blocks([]));
      const empty = (): unknown => PitMap.atVerifyStart([], blocks([]));

      // Assess
      expect(smaller).toThrow(ChainInvariantError);
      expect(empty).toThrow(ChainInvariantError);
    });

    it('keeps its own copy of D0', () => {
      // Prepare
      const presentDelta = blocks([5]);
      const pitMap = PitMap.atVerifyStart(buildChain([{ delta: [0] }]), presentDelta);

      // Act
      presentDelta.add(6);
      const pending = pitMap.pendingBlocks();
      pending.add(7);

      // Assess
      expect(pitMap.pendingBlocks().toArray()).toEqual([5]);
    });
  });

  describe('sourceOf', () => {
    it('rejects a block outside P0 volume', () => {
      // Prepare
      const pitMap = PitMap.atVerifyStart(buildChain([{ delta: [0] }]), blocks([]));

      // Act
      const outside = (): unknown => pitMap.sourceOf(volumeBlocks(1));

      // Assess
      expect(outside).toThrow(BlockRangeError);
    });
  });

  describe('blocksToCompare', () => {
    it('returns only the blocks of the asked segment, sized to P0 even for an allocation map of S_head size', () => {
      // Prepare
      const bigGib = 64;
      const chain = buildChain([{ delta: [1], volumeSize: 32 }]);
      const presentDelta = DeltaMap.of(volumeBlocks(bigGib), [BLOCKS_PER_SEGMENT + 2]);
      const allocatedInShead = DeltaMap.of(volumeBlocks(32), [1, 2]);
      const allocated = allocatedInShead.union(DeltaMap.of(volumeBlocks(bigGib), [BLOCKS_PER_SEGMENT + 2, BLOCKS_PER_SEGMENT + 3]));
      const pitMap = PitMap.atVerifyStart(chain, presentDelta);

      // Act
      const segment0 = pitMap.blocksToCompare(0, allocatedInShead);
      const segment1 = pitMap.blocksToCompare(1, allocated);

      // Assess
      expect(segment0.toArray()).toEqual([1, 2]);
      expect(segment0.volumeBlocks).toBe(volumeBlocks(bigGib));
      expect(segment1.toArray()).toEqual([BLOCKS_PER_SEGMENT + 3]);
    });

    it('rejects a segment outside the volume and an allocation map larger than P0', () => {
      // Prepare
      const pitMap = PitMap.atVerifyStart(buildChain([{ delta: [0] }]), blocks([]));

      // Act
      const badSegment = (): unknown => pitMap.blocksToCompare(1, blocks([]));
      const tooLarge = (): unknown => pitMap.blocksToCompare(0, blocks([], 2));

      // Assess
      expect(badSegment).toThrow(BlockRangeError);
      expect(tooLarge).toThrow(BlockRangeError);
    });
  });
});

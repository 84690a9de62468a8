import { BlockRangeError } from '../../../shared/core/errors';
import { PitMap } from '../../../shared/core/pit-map';
import { compareDeltaMap, dirtyRegionLog, fixupMap, scanDeltaMap, scanScope } from '../../../shared/core/verify-plan';
import { blocks, buildChain } from './chain-fixtures';

const chain = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [1] }, { delta: [2] }, { delta: [3] }]);

describe('verify-plan', () => {
  describe('scanScope', () => {
    it('intersects the PIT map scope with the dirty region log only when one is given', () => {
      // Prepare
      const pitMap = PitMap.atVerifyStart(chain, blocks([3]));
      const allocated = blocks([0, 1, 2, 3]);

      // Act
      const full = scanScope({ pitMap, segmentIndex: 0, allocated });
      const quick = scanScope({ pitMap, segmentIndex: 0, allocated, dirtyRegionLog: blocks([2, 3, 9]) });

      // Assess
      expect(full.toArray()).toEqual([0, 1, 2]);
      expect(quick.toArray()).toEqual([2]);
    });
  });

  describe('dirtyRegionLog', () => {
    it('is empty and sized to the head when nothing is in flight', () => {
      // Act
      const log = dirtyRegionLog(buildChain([{ delta: [0], volumeSize: 2 }]));

      // Assess
      expect(log.isEmpty()).toBe(true);
      expect(log.volumeBlocks).toBe(4096);
    });
  });

  describe('compareDeltaMap', () => {
    it('rejects a mismatch the scan was not asked to compare', () => {
      // Act
      const outside = (): unknown => compareDeltaMap(blocks([1, 2]), [2, 5]);

      // Assess
      expect(outside).toThrow(BlockRangeError);
      expect(outside).toThrow('mismatch at block 5');
    });
  });

  describe('scanDeltaMap', () => {
    it('unites the delta maps of the entries after the head at T0, not the head itself', () => {
      // Act
      const scanDelta = scanDeltaMap(chain, 1, blocks([]).volumeBlocks);

      // Assess
      expect(scanDelta.toArray()).toEqual([2, 3]);
    });

    it('orders by chain position, not by commit time: a sync stamped before the head at T0 still counts', () => {
      /*
       * seq        0      1 (head at T0)   2
       * committed  1      41               35   ← clock skew: 2 stamped before 1
       */
      // Prepare
      const skewed = buildChain([{ delta: [0] }, { delta: [1], commitMinute: 41 }, { delta: [2], commitMinute: 35 }]);

      // Act
      const scanDelta = scanDeltaMap(skewed, 1, blocks([]).volumeBlocks);

      // Assess
      expect(scanDelta.toArray()).toEqual([2]);
    });

    it('ignores a pending entry and is empty when nothing committed after T0', () => {
      // Prepare
      const withPending = buildChain([{ delta: [0] }, { delta: [5], status: 'pending' }]);

      // Act
      const scanDelta = scanDeltaMap(withPending, 0, blocks([]).volumeBlocks);
      const atHead = scanDeltaMap(chain, 3, blocks([]).volumeBlocks);

      // Assess
      expect(scanDelta.toArray()).toEqual([]);
      expect(atHead.toArray()).toEqual([]);
    });

    it('grows to the largest entry committed during the scan', () => {
      // Prepare
      const grown = buildChain([{ delta: [0] }, { delta: [2048], volumeSize: 2 }]);

      // Act
      const scanDelta = scanDeltaMap(grown, 0, blocks([]).volumeBlocks);

      // Assess
      expect(scanDelta.toArray()).toEqual([2048]);
      expect(scanDelta.volumeBlocks).toBe(blocks([], 2).volumeBlocks);
    });
  });

  describe('fixupMap', () => {
    it('grows to the host change map volume when the volume grew before the fix-up', () => {
      // Act
      const fixup = fixupMap(blocks([3000], 2), blocks([4]));

      // Assess
      expect(fixup.toArray()).toEqual([4, 3000]);
      expect(fixup.volumeBlocks).toBe(4096);
    });
  });
});

import { BlockRangeError, ChainInvariantError } from '../../../shared/core/errors';
import { PitMap } from '../../../shared/core/pit-map';
import {
  applySuspectMarks,
  compareDeltaMap,
  dirtyRegionLog,
  fixupMap,
  scanDeltaMap,
  scanIntervalSuspects,
  scanScope,
  suspectWalk,
} from '../../../shared/core/verify-plan';
import { at, blocks, buildChain } from './chain-fixtures';

/** Entry i commits at minute 10·i + 1 (see chain-fixtures). */
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
    it('excludes an entry committed exactly at T0 and includes one committed exactly at T1', () => {
      // Act
      const scanDelta = scanDeltaMap(chain, at(11), at(21), blocks([]).volumeBlocks);

      // Assess
      expect(scanDelta.toArray()).toEqual([2]);
    });

    it('ignores a pending entry', () => {
      // Prepare
      const withPending = buildChain([{ delta: [0] }, { delta: [5], status: 'pending' }]);

      // Act
      const scanDelta = scanDeltaMap(withPending, at(1), at(99), blocks([]).volumeBlocks);

      // Assess
      expect(scanDelta.toArray()).toEqual([]);
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

  describe('suspectWalk', () => {
    it('starts at an entry committed exactly at T0', () => {
      // Act
      const result = suspectWalk(chain, blocks([1]), at(21));

      // Assess
      expect(result.startSeq).toBe(2);
      expect(result.marks).toEqual([{ seq: 2, suspectBlocks: 1 }, { seq: 1, suspectBlocks: 1 }]);
    });

    it('marks nothing for an empty compare map', () => {
      // Act
      const result = suspectWalk(chain, blocks([]), at(35));

      // Assess
      expect(result.marks).toEqual([]);
      expect(result.residual.isEmpty()).toBe(true);
    });

    it('fails when nothing was committed at or before T0', () => {
      // Act
      const walk = (): unknown => suspectWalk(chain, blocks([1]), at(0));

      // Assess
      expect(walk).toThrow(ChainInvariantError);
    });
  });

  describe('scanIntervalSuspects', () => {
    it('only considers entries committed in (T0, T1]', () => {
      // Act
      const marks = scanIntervalSuspects(chain, blocks([0, 2]), at(15), at(25));

      // Assess
      expect(marks).toEqual([{ seq: 2, suspectBlocks: 1 }]);
    });
  });

  describe('applySuspectMarks', () => {
    it('sums two marks of one entry and leaves the input chain untouched', () => {
      // Act
      const marked = applySuspectMarks(chain, [{ seq: 1, suspectBlocks: 2 }, { seq: 1, suspectBlocks: 3 }]);

      // Assess
      expect(marked[1]).toMatchObject({ trust: 'suspect', suspectBlocks: 5 });
      expect(chain[1]).toMatchObject({ trust: 'trusted', suspectBlocks: 0 });
    });

    it('refuses a mark on a pending or unknown entry', () => {
      // Prepare
      const withPending = buildChain([{ delta: [0] }, { delta: [5], status: 'pending' }]);

      // Act
      const pending = (): unknown => applySuspectMarks(withPending, [{ seq: 1, suspectBlocks: 1 }]);
      const unknown = (): unknown => applySuspectMarks(chain, [{ seq: 9, suspectBlocks: 1 }]);

      // Assess
      expect(pending).toThrow(ChainInvariantError);
      expect(unknown).toThrow('cannot mark entry 9 suspect');
    });
  });
});

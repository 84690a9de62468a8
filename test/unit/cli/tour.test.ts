import { DeltaMap } from '../../../shared/core/delta-map';
import { naiveSuspectWalk } from '../../../cli/tour';
import { pointRows, trustLabel } from '../../../cli/chain-view';

/** Blocks of the toy volume. */
const BLOCKS = 64;

describe('tour', () => {
  describe('naiveSuspectWalk', () => {
    it('marks points newest first until every bad block is accounted for', () => {
      // Prepare: D_2 = {1}, D_1 = {5}, D_0 = {1, 5, 9}; bad blocks 1 and 5
      //   seq 2: {1, 5} bad → 2 ; minus D_2 → {5}
      //   seq 1: {5}    bad → 1 ; minus D_1 → {} stop
      const chain = [
        { seq: 2, deltaMap: DeltaMap.of(BLOCKS, [1]) },
        { seq: 1, deltaMap: DeltaMap.of(BLOCKS, [5]) },
        { seq: 0, deltaMap: DeltaMap.of(BLOCKS, [1, 5, 9]) },
      ];

      // Act
      const marks = naiveSuspectWalk(chain, [1, 5]);

      // Assess
      expect(marks).toEqual([{ seq: 2, suspectBlocks: 2 }, { seq: 1, suspectBlocks: 1 }]);
    });
  });

  describe('pointRows', () => {
    it('sorts by seq and labels trust with the bad-block count', () => {
      // Prepare
      const entry = (seq: number, trust: 'trusted' | 'suspect', suspectBlocks: number) => ({
        seq, kind: 'sync' as const, deltaMap: DeltaMap.of(BLOCKS, [seq, seq + 1]), primarySnapshotId: `snap-p${seq}`, secondarySnapshotId: `snap-s${seq}`,
        volumeSize: 1, status: 'committed' as const, trust, suspectBlocks, pointInTime: '2026-01-01T00:00:00Z',
      });

      // Act
      const rows = pointRows([entry(2, 'suspect', 3), entry(1, 'trusted', 0)]);

      // Assess
      expect(rows.map((row) => [row.seq, row.blocks, trustLabel(row)])).toEqual([[1, 2, 'trusted'], [2, 2, 'suspect (3 bad)']]);
    });
  });
});

import { RetentionError } from '../../../shared/core/errors';
import { applyRetention, pruneRestorePoint, restorePointsToPrune } from '../../../shared/core/retention';
import { at, buildChain } from './chain-fixtures';

const MS_PER_MINUTE = 60_000;

/*
 * seq   0 {0,1,2}   1 {1,3}   2 {2}   3 {4}   4 pending {5}
 * time  0           10        20      30      40
 */
const chain = buildChain([{ delta: [0, 1, 2] }, { delta: [1, 3] }, { delta: [2] }, { delta: [4] }, { delta: [5], status: 'pending' }]);

describe('retention', () => {
  describe('pruneRestorePoint', () => {
    it('merges the pruned delta map into the next entry and reports its secondary snapshot', () => {
      // Act
      const result = pruneRestorePoint(chain, 1);

      // Assess
      expect(result.chain.map((entry) => entry.seq)).toEqual([0, 2, 3, 4]);
      expect(result.chain[1].deltaMap.toArray()).toEqual([1, 2, 3]);
      expect(result.chain[1].kind).toBe('sync');
      expect(result.pruned).toEqual([1]);
      expect(result.unreferencedSnapshotIds).toEqual(['snap-s1']);
    });

    it('makes the next entry the baseline when the baseline is pruned', () => {
      // Act
      const result = pruneRestorePoint(chain, 0);

      // Assess
      expect(result.chain[0]).toMatchObject({ seq: 1, kind: 'baseline', secondarySnapshotId: 'snap-s1' });
      expect(result.chain[0].deltaMap.toArray()).toEqual([0, 1, 2, 3]);
    });

    it('keeps the trust of the entry it merges into', () => {
      // Prepare
      const suspect = buildChain([{ delta: [0] }, { delta: [1], suspectBlocks: 2 }, { delta: [2] }]);

      // Act
      const result = pruneRestorePoint(suspect, 0);

      // Assess
      expect(result.chain[0]).toMatchObject({ seq: 1, trust: 'suspect', suspectBlocks: 2 });
    });

    it('refuses the head, a pending entry and an unknown seq', () => {
      // Act
      const head = (): unknown => pruneRestorePoint(chain, 3);
      const pending = (): unknown => pruneRestorePoint(chain, 4);
      const unknown = (): unknown => pruneRestorePoint(chain, 9);

      // Assess
      expect(head).toThrow(RetentionError);
      expect(head).toThrow('it is the head');
      expect(pending).toThrow('still pending');
      expect(unknown).toThrow('does not exist');
    });
  });

  describe('restorePointsToPrune', () => {
    it('keeps the last N committed points', () => {
      // Act
      const doomed = restorePointsToPrune(chain, { keepLast: 2 }, at(100));

      // Assess
      expect(doomed).toEqual([0, 1]);
    });

    it('keeps points newer than the duration, and always the head', () => {
      // Act
      const newer = restorePointsToPrune(chain, { keepWithinMs: 15 * MS_PER_MINUTE }, at(30));
      const none = restorePointsToPrune(chain, { keepWithinMs: 0 }, at(100));

      // Assess
      expect(newer).toEqual([0, 1]);
      expect(none).toEqual([0, 1, 2]);
    });

    it('keeps a point when either rule keeps it', () => {
      // Act
      const doomed = restorePointsToPrune(chain, { keepLast: 1, keepWithinMs: 25 * MS_PER_MINUTE }, at(30));

      // Assess
      expect(doomed).toEqual([0]);
    });

    it.each([
      [{}, 'needs keepLast, keepWithinMs, or both'],
      [{ keepLast: 0 }, 'keepLast must be a whole number of at least 1'],
      [{ keepLast: 1.5 }, 'keepLast must be a whole number of at least 1'],
      [{ keepWithinMs: -1 }, 'keepWithinMs must be a duration of at least 0 ms'],
    ])('rejects the policy %j', (policy, message) => {
      // Act
      const decide = (): unknown => restorePointsToPrune(chain, policy, at(0));

      // Assess
      expect(decide).toThrow(RetentionError);
      expect(decide).toThrow(message);
    });
  });

  describe('applyRetention', () => {
    it('prunes oldest first and leaves a chain whose first entry is the baseline', () => {
      // Act
      const result = applyRetention(chain, { keepLast: 1 }, at(100));

      // Assess
      expect(result.pruned).toEqual([0, 1, 2]);
      expect(result.chain.map((entry) => [entry.seq, entry.kind])).toEqual([[3, 'baseline'], [4, 'sync']]);
      expect(result.chain[0].deltaMap.toArray()).toEqual([0, 1, 2, 3, 4]);
      expect(result.unreferencedSnapshotIds).toEqual(['snap-s0', 'snap-s1', 'snap-s2']);
    });
  });
});

import { ChainInvariantError, InvalidTimeError, RestorePointNotFoundError, SuspectRestorePointError } from '../../../shared/core/errors';
import { restorePlan, selectRestorePoint } from '../../../shared/core/restore-plan';
import { at, blocks, buildChain } from './chain-fixtures';

/** Points in time at minutes 0, 10, 20; entry 3 is pending. */
const chain = buildChain([{ delta: [0, 1] }, { delta: [1] }, { delta: [2], suspectBlocks: 4 }, { delta: [3], status: 'pending' }]);

describe('restore-plan', () => {
  describe('selectRestorePoint', () => {
    it('explains how to proceed when the seq is unknown or still pending', () => {
      // Act
      const unknown = (): unknown => selectRestorePoint(chain, { seq: 9 });
      const pending = (): unknown => selectRestorePoint(chain, { seq: 3 });

      // Assess
      expect(unknown).toThrow(RestorePointNotFoundError);
      expect(unknown).toThrow("restore point 9 does not exist; run 'ebs-cdp points' to list them");
      expect(pending).toThrow(RestorePointNotFoundError);
      expect(pending).toThrow('restore point 3 is still pending');
    });

    it('carries the seq and the snapshot on a suspect refusal', () => {
      // Act
      let caught: unknown;
      try {
        selectRestorePoint(chain, { seq: 2 });
      } catch (error) {
        caught = error;
      }

      // Assess
      expect(caught).toBeInstanceOf(SuspectRestorePointError);
      expect(caught).toMatchObject({ name: 'SuspectRestorePointError', seq: 2, snapshotId: 'snap-s2' });
    });

    it('picks the point at exactly the time, comparing instants across zones', () => {
      // Act
      const selection = selectRestorePoint(chain, { at: '2026-01-01T01:10:00+01:00' });

      // Assess
      expect(selection.restorePoint.seq).toBe(1);
      expect(selection.skippedSuspect).toEqual([]);
    });

    it('lets allowSuspect pick the newest point at or before the time whatever its trust', () => {
      // Act
      const selection = selectRestorePoint(chain, { at: at(59) }, { allowSuspect: true });

      // Assess
      expect(selection.restorePoint.seq).toBe(2);
    });

    it('never picks a pending entry by time', () => {
      // Act
      const selection = selectRestorePoint(chain, { at: at(59) });

      // Assess
      expect(selection.restorePoint.seq).toBe(1);
      expect(selection.skippedSuspect).toEqual([2]);
    });

    it('names the suspect points when only suspect ones lie at or before the time', () => {
      // Prepare
      const allSuspect = buildChain([{ delta: [0], suspectBlocks: 1 }, { delta: [1], suspectBlocks: 2 }]);

      // Act
      const select = (): unknown => selectRestorePoint(allSuspect, { at: at(15) });

      // Assess
      expect(select).toThrow(RestorePointNotFoundError);
      expect(select).toThrow('restore points 0, 1 are suspect: pick one by seq with --allow-suspect');
    });

    it('fails for a time before the first point and for a time without a zone', () => {
      // Act
      const before = (): unknown => selectRestorePoint(chain, { at: at(-1) });
      const noZone = (): unknown => selectRestorePoint(chain, { at: '2026-01-01T00:10:00' });

      // Assess
      expect(before).toThrow(RestorePointNotFoundError);
      expect(noZone).toThrow(InvalidTimeError);
    });
  });

  describe('restorePlan', () => {
    const current = { snapshotId: 'snap-pnow', volumeSize: 1, presentDeltaMap: blocks([3, 7]) };

    it('writes only the present delta map when restoring the head', () => {
      // Act
      const plan = restorePlan(chain, 2, current);

      // Assess
      if (plan.mode !== 'delta') throw new Error('expected a delta plan');
      expect(plan.blocks.toArray()).toEqual([3, 7]);
    });

    it('does not count the pending entry separately (the present delta map already holds it)', () => {
      // Act
      const plan = restorePlan(chain, 0, { ...current, presentDeltaMap: blocks([]) });

      // Assess
      if (plan.mode !== 'delta') throw new Error('expected a delta plan');
      expect(plan.blocks.toArray()).toEqual([1, 2]);
    });

    it('refuses a pending point, a shrunk primary, and a present delta map of the wrong size', () => {
      // Act
      const pending = (): unknown => restorePlan(chain, 3, current);
      const shrunk = (): unknown => restorePlan(buildChain([{ delta: [0], volumeSize: 2 }]), 0, current);
      const wrongSize = (): unknown => restorePlan(chain, 0, { ...current, presentDeltaMap: blocks([], 2) });

      // Assess
      expect(pending).toThrow(RestorePointNotFoundError);
      expect(shrunk).toThrow(ChainInvariantError);
      expect(wrongSize).toThrow(ChainInvariantError);
    });
  });
});

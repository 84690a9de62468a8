import { CompleteSnapshotCommand, StartSnapshotCommand, ValidationException } from '@aws-sdk/client-ebs';
import { patternBlock, putBlock, rejectionOf, startHarness, stopHarness, type EbsHarness } from './ebs-helpers';

const MINUTE_MS = 60_000;

describe('EBS emulator: timeout', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  describe('StartSnapshot Timeout', () => {
    it('moves a snapshot not completed within its Timeout to error', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Timeout: 10 }));
      const snapshotId = started.SnapshotId!;
      await putBlock(h.ebs, snapshotId, 0, patternBlock(0));

      // Act
      h.emulator.clock.advance(9 * MINUTE_MS);
      const beforeTimeout = h.emulator.store.getSnapshot(snapshotId)?.state;
      h.emulator.clock.advance(2 * MINUTE_MS);
      const afterTimeout = h.emulator.store.getSnapshot(snapshotId)?.state;
      const putError = await rejectionOf(putBlock(h.ebs, snapshotId, 1, patternBlock(1)));
      const completed = await h.ebs.send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: 1 }));

      // Assess
      expect(beforeTimeout).toBe('pending');
      expect(afterTimeout).toBe('error');
      expect(putError).toBeInstanceOf(ValidationException);
      expect(completed.Status).toBe('error');
    });

    it('counts the Timeout from the last block written, not from the start', async () => {
      // Prepare
      //   t=0 start · t=8 put · t=16 still pending (8 min idle) · t=19 error (11 min idle)
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Timeout: 10 }));
      const snapshotId = started.SnapshotId!;

      // Act
      h.emulator.clock.advance(8 * MINUTE_MS);
      await putBlock(h.ebs, snapshotId, 0, patternBlock(0));
      h.emulator.clock.advance(8 * MINUTE_MS);
      const idleEight = h.emulator.store.getSnapshot(snapshotId)?.state;
      h.emulator.clock.advance(3 * MINUTE_MS);
      const idleEleven = h.emulator.store.getSnapshot(snapshotId)?.state;

      // Assess
      expect(idleEight).toBe('pending');
      expect(idleEleven).toBe('error');
    });

    it('defaults to 60 minutes', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Act
      h.emulator.clock.advance(59 * MINUTE_MS);
      const before = h.emulator.store.getSnapshot(started.SnapshotId!)?.state;
      h.emulator.clock.advance(2 * MINUTE_MS);
      const after = h.emulator.store.getSnapshot(started.SnapshotId!)?.state;

      // Assess
      expect(before).toBe('pending');
      expect(after).toBe('error');
    });
  });

  describe('CompleteSnapshot with a completion delay', () => {
    it('answers pending, then the snapshot turns completed once the delay has passed', async () => {
      // Prepare
      h.emulator.faults.update({ completionDelayMs: 30_000 });
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      await putBlock(h.ebs, started.SnapshotId!, 0, patternBlock(0));

      // Act
      const answer = await h.ebs.send(new CompleteSnapshotCommand({ SnapshotId: started.SnapshotId!, ChangedBlocksCount: 1 }));
      const during = h.emulator.store.getSnapshot(started.SnapshotId!)?.state;
      h.emulator.clock.advance(30_000);
      const after = h.emulator.store.getSnapshot(started.SnapshotId!)?.state;
      h.emulator.faults.update({ completionDelayMs: 0 });

      // Assess
      expect(answer.Status).toBe('pending');
      expect(during).toBe('pending');
      expect(after).toBe('completed');
    });
  });
});

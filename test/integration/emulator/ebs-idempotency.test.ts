import { ConflictException, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import { rejectionOf, startHarness, stopHarness, type EbsHarness } from './ebs-helpers';

describe('EBS emulator: idempotency', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  describe('StartSnapshot ClientToken', () => {
    it('returns the original snapshot for the same token and parameters', async () => {
      // Prepare
      const input = { VolumeSize: 4, Description: 'sync 7', ClientToken: 'idem-same', Tags: [{ Key: 'seq', Value: '7' }] };
      const first = await h.ebs.send(new StartSnapshotCommand(input));

      // Act
      const second = await h.ebs.send(new StartSnapshotCommand(input));

      // Assess
      expect(second.SnapshotId).toBe(first.SnapshotId);
      expect(h.emulator.store.listSnapshots().filter((s) => s.snapshotId === first.SnapshotId)).toHaveLength(1);
    });

    it('raises ConflictException for the same token with different parameters', async () => {
      // Prepare
      await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 4, ClientToken: 'idem-conflict' }));

      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 4, ClientToken: 'idem-conflict', Timeout: 30 })));

      // Assess
      expect(error).toBeInstanceOf(ConflictException);
    });

    it('starts distinct snapshots when the SDK fills in a fresh token each time', async () => {
      // Act
      const a = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const b = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Assess
      expect(a.SnapshotId).not.toBe(b.SnapshotId);
    });
  });
});

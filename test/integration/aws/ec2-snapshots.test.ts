/** Ec2PrimarySnapshots against the local cloud: take a primary snapshot with our tags, wait, delete ours only. */
import { SnapshotNotFoundError, InvalidVolumeError, SnapshotNotOwnedError } from '../../../shared/core/ports/errors';
import { Ec2PrimarySnapshots, PRIMARY_CONSECUTIVE_COMPLETED } from '../../../shared/aws/ec2-snapshots';
import { RateLimiter } from '../../../shared/aws/rate-limiter';
import { EbsSnapshotReader } from '../../../shared/aws/snapshot-reader';
import { Ec2SnapshotWaiter } from '../../../shared/aws/snapshot-waiter';
import { OWNER_TAG } from '../../../shared/core/tags';
import { patternBlock, rejectionOf, sha256Hex, startAdaptersHarness, stopAdaptersHarness, ZONE, type AdaptersHarness } from './adapters-harness';

const POLL_INTERVAL_MS = 10;

describe('Ec2PrimarySnapshots', () => {
  let harness: AdaptersHarness;
  let primary: Ec2PrimarySnapshots;
  let waiter: Ec2SnapshotWaiter;
  let volumeId: string;

  beforeAll(async () => {
    harness = await startAdaptersHarness();
    volumeId = (await harness.model.createVolume({ availabilityZone: ZONE, size: 1 })).volumeId;
    await harness.model.writeBlock(volumeId, 3, patternBlock(3));
    await harness.model.writeBlock(volumeId, 9, patternBlock(9));
  });

  afterAll(async () => {
    await stopAdaptersHarness(harness);
  });

  beforeEach(() => {
    harness.emulator.stats.reset();
    primary = new Ec2PrimarySnapshots(harness.clients.ec2, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 20 });
    waiter = new Ec2SnapshotWaiter(harness.clients.ec2);
  });

  describe('takeSnapshot and waitUntilCompleted', () => {
    it('takes a snapshot of the primary volume with our tags and waits for several completed answers', async () => {
      // Act
      const snapshotId = await primary.takeSnapshot(volumeId, { tags: [{ key: 'ebs-cdp:purpose', value: 'sync' }], description: 'P_1' });
      const status = await primary.waitUntilCompleted(snapshotId);

      // Assess
      expect(status.state).toBe('completed');
      expect(status.tags).toEqual(expect.arrayContaining([OWNER_TAG, { key: 'ebs-cdp:purpose', value: 'sync' }]));
      expect(harness.emulator.stats.calls['EC2:DescribeSnapshots']).toBe(PRIMARY_CONSECUTIVE_COMPLETED);
      const reader = new EbsSnapshotReader(harness.clients.ebs, { limiter: new RateLimiter() });
      const listed: number[] = [];
      for await (const block of reader.listBlocks(snapshotId)) {
        listed.push(block.blockIndex);
        expect(sha256Hex(await reader.getBlock(snapshotId, block.blockIndex, block.blockToken))).toBe(sha256Hex(patternBlock(block.blockIndex)));
      }
      expect(listed).toEqual([3, 9]);
    });

    it('fails with InvalidVolumeError for a volume that does not exist', async () => {
      // Act
      const error = await rejectionOf(primary.takeSnapshot('vol-0123456789abcdef0'));

      // Assess
      expect(error).toBeInstanceOf(InvalidVolumeError);
      expect(error.message).toMatch(/does not exist; check the id/);
    });
  });

  describe('deleteSnapshot', () => {
    it('deletes a snapshot we took, and deleting it again is fine', async () => {
      // Prepare
      const snapshotId = await primary.takeSnapshot(volumeId);
      await primary.waitUntilCompleted(snapshotId);

      // Act
      await primary.deleteSnapshot(snapshotId);
      await primary.deleteSnapshot(snapshotId);

      // Assess
      expect(await rejectionOf(waiter.status(snapshotId))).toBeInstanceOf(SnapshotNotFoundError);
      expect(harness.emulator.stats.calls['EC2:DeleteSnapshot']).toBe(1);
    });

    it('refuses to delete a snapshot without our ownership tag', async () => {
      // Prepare: someone else's snapshot of the same volume.
      const foreign = await harness.model.createSnapshot(volumeId, { tags: [{ Key: 'team', Value: 'db' }] });

      // Act
      const error = await rejectionOf(primary.deleteSnapshot(foreign.snapshotId));

      // Assess
      expect(error).toBeInstanceOf(SnapshotNotOwnedError);
      expect(error.message).toMatch(/never deleted by ebs-cdp/);
      expect((await waiter.status(foreign.snapshotId)).state).toBe('completed');
    });
  });
});

/**
 * The Sync job's steps against the local cloud (emulator + dynalite over HTTP, real SDK clients),
 * driven in the state machine's order. Every secondary snapshot is read back and compared with
 * its primary snapshot block for block.
 *
 * ```
 * blocks      0  1  2  3  …  9  …  2047 | 2048 … 4095 (after growth)
 * baseline    a  b  .  c     d          |
 * sync 1      a' b  .  c     ·(cleared)  e
 * sync 2      a' b  f  c     .           e            g
 * ```
 */
import { VolumeBusyError } from '../../../shared/core/ports/errors';
import { volumeBlocks } from '../../../shared/core/constants';
import { syncBegin, type SyncSummary } from '../../../shared/engine/sync';
import { startEngineHarness, type EngineHarness, type Image } from './engine-harness';
import { driveSync, nextRunId } from '../../../local/drivers';

describe('Sync job', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });

  afterAll(async () => {
    await h.stop();
  });

  /**
   * Both images of a restore point, read right after its commit: `P_n` is deleted by the next
   * sync (only the newest primary snapshot is kept).
   */
  async function imagesOf(summary: SyncSummary | undefined): Promise<{ primary: Image; secondary: Image }> {
    if (summary === undefined) throw new Error('the sync did not commit');
    return { primary: await h.readImage(summary.primarySnapshotId), secondary: await h.readImage(summary.secondarySnapshotId) };
  }

  /** The secondary image of the head restore point `seq` equals its primary snapshot's image. */
  async function expectPointEqualsPrimary(volumeId: string, seq: number): Promise<void> {
    const entry = await h.context.store.getEntry(volumeId, seq);
    const secondary = await h.readImage(entry.secondarySnapshotId);
    const primary = await h.readImage(entry.primarySnapshotId);
    expect(secondary).toEqual(primary);
  }

  describe('baseline and incremental syncs', () => {
    it('copies every allocated block first, then exactly the changed blocks, each image equal to its primary snapshot', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);
      await h.writeBlocks(volumeId, new Map([[0, 1], [1, 2], [3, 3], [9, 4]]));

      // Act
      const baseline = await driveSync(h.context, volumeId, nextRunId());
      const baselineImages = await imagesOf(baseline.summary);
      await h.writeBlocks(volumeId, new Map([[0, 11], [9, null], [1500, 5]]));
      const first = await driveSync(h.context, volumeId, nextRunId());
      const firstImages = await imagesOf(first.summary);
      await h.writeBlocks(volumeId, new Map([[2, 6], [1500, 7]]));
      const second = await driveSync(h.context, volumeId, nextRunId());
      const secondImages = await imagesOf(second.summary);

      // Assess
      expect(baseline.summary).toMatchObject({ seq: 0, kind: 'baseline', blocks: 4 });
      expect(first.summary).toMatchObject({ seq: 1, kind: 'sync', blocks: 3 });
      expect(second.summary).toMatchObject({ seq: 2, kind: 'sync', blocks: 2 });
      const chain = [];
      for await (const entry of h.context.store.readChain(volumeId)) chain.push(entry);
      expect(chain.map((entry) => [entry.seq, entry.kind, entry.deltaMap.toArray()])).toEqual([
        [0, 'baseline', [0, 1, 3, 9]],
        [1, 'sync', [0, 9, 1500]],
        [2, 'sync', [2, 1500]],
      ]);
      expect(chain.every((entry) => entry.status === 'committed' && entry.trust === 'trusted')).toBe(true);
      for (const images of [baselineImages, firstImages, secondImages]) expect(images.secondary).toEqual(images.primary);
      expect([...baselineImages.secondary.keys()]).toEqual([0, 1, 3, 9]);
      expect([...firstImages.secondary.keys()]).toEqual([0, 1, 3, 1500]);
      const head = secondImages.secondary;
      expect(head).toEqual(await h.volumeImage(volumeId, 1, [0, 1, 2, 3, 9, 1500]));
      expect([...head.keys()]).toEqual([0, 1, 2, 3, 1500]);
    });

    it('keeps only the newest primary snapshot and releases the lease after each commit', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);
      await h.writeBlocks(volumeId, new Map([[5, 1]]));
      const baseline = await driveSync(h.context, volumeId, nextRunId());
      await h.writeBlocks(volumeId, new Map([[6, 2]]));

      // Act
      const next = await driveSync(h.context, volumeId, nextRunId());

      // Assess
      expect(next.summary?.deletedPrimarySnapshotIds).toEqual([baseline.summary?.primarySnapshotId]);
      const volume = await h.context.store.getVolume(volumeId);
      expect(volume.lease).toBeUndefined();
      expect(volume.inFlight).toBeUndefined();
      expect(volume.basePrimarySnapshotId).toBe(next.summary?.primarySnapshotId);
      expect(h.emulator.store.getSnapshot(baseline.summary?.primarySnapshotId ?? '')?.state ?? 'deleted').not.toBe('completed');
      const records = await h.context.store.listJobRecords(volumeId);
      expect(records.map((record) => record.status)).toEqual(['succeeded', 'succeeded']);
    });
  });

  describe('encrypted secondary lineage', () => {
    it('writes a block cleared in the primary as explicit zeros, so it reads as zeros in the secondary', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1, { secondaryKmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/ebs-cdp-test' });
      await h.writeBlocks(volumeId, new Map([[4, 1], [7, 2]]));
      const baseline = await driveSync(h.context, volumeId, nextRunId());
      await h.writeBlocks(volumeId, new Map([[7, null]]));

      // Act
      const cleared = await driveSync(h.context, volumeId, nextRunId());

      // Assess
      const secondaryId = cleared.summary?.secondarySnapshotId ?? '';
      expect(h.emulator.store.getSnapshot(secondaryId)?.encrypted).toBe(true);
      expect(h.emulator.store.getSnapshot(baseline.summary?.secondarySnapshotId ?? '')?.kmsKeyId).toBe('arn:aws:kms:us-east-1:111122223333:key/ebs-cdp-test');
      expect(cleared.summary).toMatchObject({ seq: 1, kind: 'sync', blocks: 1 });
      expect(await h.listedBlocks(secondaryId)).toEqual([4, 7]);
      const image = await h.readImage(secondaryId);
      expect([...image.keys()]).toEqual([4]);
      expect(image).toEqual(await h.readImage(cleared.summary?.primarySnapshotId ?? ''));
    });
  });

  describe('volume growth', () => {
    it('gives the new secondary snapshot the grown size and copies the blocks of the new region', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);
      await h.writeBlocks(volumeId, new Map([[10, 1]]));
      await driveSync(h.context, volumeId, nextRunId());
      h.growVolume(volumeId, 2);
      await h.writeBlocks(volumeId, new Map([[3000, 2], [10, 3]]));

      // Act
      const grown = await driveSync(h.context, volumeId, nextRunId());

      // Assess
      expect(grown.plan).toMatchObject({ volumeSize: 2, blocks: 2 });
      const entry = await h.context.store.getEntry(volumeId, 1);
      expect(entry.volumeSize).toBe(2);
      expect(entry.deltaMap.volumeBlocks).toBe(volumeBlocks(2));
      expect(entry.deltaMap.toArray()).toEqual([10, 3000]);
      expect(h.emulator.store.getSnapshot(entry.secondarySnapshotId)?.volumeSize).toBe(2);
      expect((await h.context.store.getVolume(volumeId)).volumeSize).toBe(2);
      await expectPointEqualsPrimary(volumeId, 1);
    });
  });

  describe('two runs at once', () => {
    it('fails the second with VolumeBusyError while the first holds the lease, and lets it finish', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);
      await h.writeBlocks(volumeId, new Map([[1, 1]]));
      const firstRun = nextRunId();
      const started = await driveSync(h.context, volumeId, firstRun, { stopAfter: 'SyncPlan' });

      // Act
      const second = syncBegin(h.context, { volumeId, runId: nextRunId() });

      // Assess
      await expect(second).rejects.toBeInstanceOf(VolumeBusyError);
      const finished = await driveSync(h.context, volumeId, firstRun);
      expect(finished.summary).toMatchObject({ seq: 0, kind: 'baseline', secondarySnapshotId: started.plan?.secondarySnapshotId });
    });
  });
});

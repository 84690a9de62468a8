/**
 * Crashes of a sync and the next run's recovery (claims 5–6: the DRL), against the local cloud.
 *
 * ```
 *  run A:  Begin ─ WaitP ─ Plan ─ Copy ─ Complete ─ WaitS ─ Commit
 *                ✗       ✗      ✗      ✗          ✗       ✗        ← A dies here (no Catch, lease left to expire)
 *  run B:  recovers: no DRL → plain sync │ S pending → resume │ S completed → compare DRL blocks → adopt / discard
 *  run C:  a plain sync: the head image equals the primary volume (no change lost)
 * ```
 */
import type { SnapshotWriter } from '../../../shared/core/ports/snapshots';
import type { EngineContext } from '../../../shared/engine/context';
import { DEFAULT_LEASE_TTL_MS } from '../../../shared/engine/context';
import { PURPOSE_TAG, SYNC_PRIMARY_PURPOSE, VOLUME_ID_TAG } from '../../../shared/core/tags';
import { startEngineHarness, type EngineHarness, type Image } from './engine-harness';
import { driveSync, nextRunId, SYNC_STEPS, type SyncStep } from '../../../local/drivers';

/** Blocks every scenario's volume holds or writes, for reading the volume back. */
const TOUCHED = [0, 1, 2, 3, 4, 5, 700, 1800];

/** A writer that throws after `allowed` block puts: a Lambda dying mid-copy. */
class CrashingWriter implements SnapshotWriter {
  puts = 0;

  constructor(private readonly inner: SnapshotWriter, private readonly allowed: number) {}

  startSnapshot: SnapshotWriter['startSnapshot'] = (request) => this.inner.startSnapshot(request);
  completeSnapshot: SnapshotWriter['completeSnapshot'] = (snapshotId, written) => this.inner.completeSnapshot(snapshotId, written);

  putBlock: SnapshotWriter['putBlock'] = async (snapshotId, blockIndex, data) => {
    this.tick();
    return this.inner.putBlock(snapshotId, blockIndex, data);
  };

  putZeroBlock: SnapshotWriter['putZeroBlock'] = async (snapshotId, blockIndex) => {
    this.tick();
    return this.inner.putZeroBlock(snapshotId, blockIndex);
  };

  private tick(): void {
    this.puts++;
    if (this.puts > this.allowed) throw new Error('simulated crash in the middle of the copy');
  }
}

/** What each crash point leaves, and what the next run does with it. */
const EXPECTED_RECOVERY: Record<SyncStep, 'none' | 'resumed' | 'adopted'> = {
  SyncBegin: 'none',
  WaitPrimary: 'none',
  SyncPlan: 'resumed',
  CopySegment: 'resumed',
  CompleteSnapshot: 'adopted',
  WaitSecondary: 'adopted',
  SyncCommit: 'none',
};

describe('Sync recovery', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });

  afterAll(async () => {
    await h.stop();
  });

  /** A protected volume with a committed baseline. */
  async function protectedVolume(): Promise<string> {
    const volumeId = await h.createPrimaryVolume(1);
    await h.protect(volumeId, 1);
    await h.writeBlocks(volumeId, new Map([[0, 1], [1, 2], [2, 3]]));
    await driveSync(h.context, volumeId, nextRunId());
    return volumeId;
  }

  async function headImage(volumeId: string): Promise<Image> {
    const volume = await h.context.store.getVolume(volumeId);
    const head = await h.context.store.getEntry(volumeId, volume.headSeq ?? -1);
    return h.readImage(head.secondarySnapshotId);
  }

  describe('a crash at every step boundary', () => {
    it.each(SYNC_STEPS)('recovers after the run died after %s: no change lost, final image identical', async (step) => {
      // Prepare
      const volumeId = await protectedVolume();
      await h.writeBlocks(volumeId, new Map([[1, 10], [700, 11], [2, null]]));
      const crashed = await driveSync(h.context, volumeId, nextRunId('crashed'), { stopAfter: step });
      const crashedPrimary = crashed.begun === undefined ? undefined : await h.readImage(crashed.begun.primarySnapshotId);
      await h.writeBlocks(volumeId, new Map([[3, 12], [1800, 13]]));
      h.timer.advance(DEFAULT_LEASE_TTL_MS + 1); // the dead run's lease expires

      // Act: `next` ends after its first commit (before the SyncRecovered loop), so a resumed
      // run's recovered entry is seen on its own
      const next = await driveSync(h.context, volumeId, nextRunId('next'), { stopAfter: 'SyncCommit' });
      const last = await driveSync(h.context, volumeId, nextRunId('last'));

      // Assess
      const expected = EXPECTED_RECOVERY[step];
      expect(next.begun?.recovery?.outcome ?? 'none').toBe(expected);
      if (expected === 'resumed') {
        expect(next.begun?.action).toBe('recover');
        expect(next.summary).toMatchObject({ seq: 1, kind: 'sync', blocks: 3, secondarySnapshotId: crashed.plan?.secondarySnapshotId });
        expect(await h.readImage(next.summary?.secondarySnapshotId ?? '')).toEqual(crashedPrimary);
      }
      if (expected === 'adopted') {
        expect(next.summary?.seq).toBe(2);
        const adopted = await h.context.store.getEntry(volumeId, 1);
        expect(adopted.secondarySnapshotId).toBe(crashed.plan?.secondarySnapshotId);
        expect(adopted.deltaMap.toArray()).toEqual([1, 2, 700]);
        expect(await h.readImage(adopted.secondarySnapshotId)).toEqual(crashedPrimary);
      }
      const chain = [];
      for await (const entry of h.context.store.readChain(volumeId)) chain.push(entry);
      expect(chain.map((entry) => entry.seq)).toEqual(chain.map((_, at) => at));
      expect(chain.every((entry) => entry.status === 'committed')).toBe(true);
      const volume = await h.context.store.getVolume(volumeId);
      expect(volume.inFlight).toBeUndefined();
      expect(volume.lease).toBeUndefined();
      expect(await headImage(volumeId)).toEqual(await h.volumeImage(volumeId, 1, TOUCHED));
      expect([...(await headImage(volumeId)).keys()]).toEqual([0, 1, 3, 700, 1800]);
      // A resumed `next` committed only the crashed run's entry, so `last` copies the later writes;
      // otherwise nothing changed after `next` and `last` makes no restore point. Either way only
      // the base primary snapshot is left.
      expect(last.plan?.skipped).toBe(expected === 'resumed' ? undefined : 'unchanged');
      const primaries = await h.context.primary.lookup.findOwned([{ key: VOLUME_ID_TAG, value: volumeId }, { key: PURPOSE_TAG, value: SYNC_PRIMARY_PURPOSE }]);
      expect(primaries.map((snapshot) => snapshot.snapshotId)).toEqual([volume.basePrimarySnapshotId]);
    });
  });

  describe('a crash in the middle of a copy', () => {
    it('leaves the DRL; the next run resumes the pending secondary and commits the same image', async () => {
      // Prepare
      const volumeId = await protectedVolume();
      await h.writeBlocks(volumeId, new Map([[0, 20], [4, 21], [5, 22], [700, 23]]));
      const crashing: EngineContext = { ...h.context, secondary: { ...h.context.secondary, writer: new CrashingWriter(h.context.secondary.writer, 2) } };
      const runA = nextRunId('crashed');
      await expect(driveSync(crashing, volumeId, runA)).rejects.toThrow(/failed/);
      const inFlight = await h.context.store.readDirtyRegionLog(volumeId);
      const pendingImage = inFlight === undefined ? undefined : await h.readImage(inFlight.primarySnapshotId);

      // Act: up to the recovered commit (before the SyncRecovered loop)
      const next = await driveSync(h.context, volumeId, nextRunId('next'), { stopAfter: 'SyncCommit' });

      // Assess
      expect(inFlight?.deltaMap.toArray()).toEqual([0, 4, 5, 700]);
      expect((await h.context.store.listJobRecords(volumeId)).find((record) => record.runId === runA)).toMatchObject({
        status: 'failed', errorName: 'BlockCopyFailedError',
      });
      expect(next.begun).toMatchObject({ action: 'recover', recovery: { outcome: 'resumed', seq: 1, runId: runA } });
      expect(next.summary).toMatchObject({ seq: 1, blocks: 4, secondarySnapshotId: inFlight?.secondarySnapshotId });
      expect(await h.readImage(next.summary?.secondarySnapshotId ?? '')).toEqual(pendingImage);
      expect(await headImage(volumeId)).toEqual(await h.volumeImage(volumeId, 1, TOUCHED));
    });
  });

  describe('a completed but uncommitted secondary', () => {
    it('is discarded when a block of its DRL differs from the primary, and the next run redoes the sync', async () => {
      // Prepare
      const volumeId = await protectedVolume();
      await h.writeBlocks(volumeId, new Map([[1, 30], [4, 31]]));
      const crashed = await driveSync(h.context, volumeId, nextRunId('crashed'), { stopAfter: 'WaitSecondary' });
      const tampered = crashed.plan?.secondarySnapshotId ?? '';
      await h.emulator.store.corruptBlock(tampered, 4);
      h.timer.advance(DEFAULT_LEASE_TTL_MS + 1);

      // Act
      const next = await driveSync(h.context, volumeId, nextRunId('next'));

      // Assess
      expect(next.begun?.recovery).toMatchObject({ outcome: 'discarded', seq: 1 });
      expect(next.begun?.recovery?.reason).toMatch(/1 block\(s\) of its DRL differ/);
      expect(h.emulator.store.getSnapshot(tampered)).toBeUndefined();
      expect(next.summary).toMatchObject({ seq: 1, kind: 'sync', blocks: 2 });
      expect(next.summary?.secondarySnapshotId).not.toBe(tampered);
      expect(await headImage(volumeId)).toEqual(await h.volumeImage(volumeId, 1, TOUCHED));
    });
  });
});

/**
 * `unprotectVolume`: forgets a protected volume, META last, refusing while a job could still
 * commit into the chain.
 *
 *   a wide volume (64 segments) with the baseline (64 shards) and one sync (30 shards):
 *
 *   META{unprotecting} ──► delete ENTRY, MAP, JOB, … (4 batches of ≤ 25) ──► delete META
 *   ╰─ commit point: jobs refused from here on ─╯                             ╰─ gone ─╯
 */
import { SyncInFlightError } from '../../../shared/core/ports/errors';
import { VolumeBusyError, VolumeNotProtectedError } from '../../../shared/core/ports/errors';
import type { Fence } from '../../../shared/core/ports/chain-store';
import {
  blockPerSegment,
  committedEntry,
  dirtyRegionLogOf,
  type Harness,
  SimulatedCrash,
  startHarness,
  uniqueVolumeId,
  WIDE_VOLUME_SIZE,
} from './chain-store-harness';

const TTL_MS = 600_000;

const BASELINE_SEGMENTS = 64;
const SYNC_SEGMENTS = 30;
const BATCH_WRITE_MAX_ITEMS = 25;

/** Items besides META: 2 entries, their shards, one job record. */
const OTHER_ITEMS = 2 + BASELINE_SEGMENTS + SYNC_SEGMENTS + 1;

/** The mark (META put), the deletes in batches of 25, then META's delete. */
const UNPROTECT_WRITES = 1 + Math.ceil(OTHER_ITEMS / BATCH_WRITE_MAX_ITEMS) + 1;

const baseline = committedEntry({ seq: 0, blocks: blockPerSegment(BASELINE_SEGMENTS), volumeSize: WIDE_VOLUME_SIZE });
const sync = committedEntry({ seq: 1, blocks: blockPerSegment(SYNC_SEGMENTS, 7), volumeSize: WIDE_VOLUME_SIZE });

describe('DynamoDbChainStore', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  /** A wide volume with two restore points and a job record; the lease is released unless `keepLease`. */
  async function volumeWithTwoPoints(label: string, keepLease = false): Promise<{ volumeId: string; fence: Fence }> {
    const volumeId = uniqueVolumeId(label);
    await harness.store.protectVolume(volumeId, { volumeSize: WIDE_VOLUME_SIZE, config: { schedule: 'rate(5 minutes)' } });
    const fence = await harness.store.acquireLease(volumeId, { holder: 'exec', runId: 'sync-1', ttlMs: TTL_MS });
    await harness.store.commitEntry(volumeId, baseline, fence);
    await harness.store.commitEntry(volumeId, sync, fence);
    await harness.store.putJobRecord(volumeId, { runId: 'sync-1', job: 'sync', status: 'succeeded', at: '2026-01-01T00:01:30.000Z' });
    if (!keepLease) await harness.store.releaseLease(volumeId, fence);
    return { volumeId, fence };
  }

  describe('unprotectVolume', () => {
    it('removes every item of the volume, META included, and hands back its snapshots oldest first', async () => {
      // Prepare
      const { volumeId } = await volumeWithTwoPoints('removes');
      const { volumeId: neighbour } = await volumeWithTwoPoints('neighbour');
      const neighbourItems = (await harness.rawItems(neighbour)).length;

      // Act
      const result = await harness.store.unprotectVolume(volumeId, { deleteRestorePoints: true });

      // Assess
      expect(result).toEqual({ removed: true, restorePoints: 2, secondarySnapshotIds: ['snap-s0', 'snap-s1'], basePrimarySnapshotId: 'snap-p1' });
      expect(await harness.rawItems(volumeId)).toEqual([]);
      await expect(harness.store.getVolume(volumeId)).rejects.toBeInstanceOf(VolumeNotProtectedError);
      expect(await harness.rawItems(neighbour)).toHaveLength(neighbourItems);
      expect(neighbourItems).toBe(OTHER_ITEMS + 1);
    });

    it(`makes exactly ${UNPROTECT_WRITES} writes for ${OTHER_ITEMS} items besides META`, async () => {
      // Prepare
      const { volumeId } = await volumeWithTwoPoints('writes');
      const { store, writes } = harness.instrumentedStore();

      // Act
      await store.unprotectVolume(volumeId);

      // Assess
      expect(writes()).toBe(UNPROTECT_WRITES);
    });

    it('answers removed: false for a volume that is not protected, and again after a finished removal', async () => {
      // Prepare
      const { volumeId } = await volumeWithTwoPoints('twice');
      await harness.store.unprotectVolume(volumeId);

      // Act
      const again = await harness.store.unprotectVolume(volumeId, { deleteRestorePoints: true });
      const never = await harness.store.unprotectVolume(uniqueVolumeId('never'));

      // Assess
      expect(again).toEqual({ removed: false, restorePoints: 0, secondarySnapshotIds: [] });
      expect(never).toEqual({ removed: false, restorePoints: 0, secondarySnapshotIds: [] });
    });

    it('lets the volume be protected afresh afterwards, with an empty chain', async () => {
      // Prepare
      const { volumeId } = await volumeWithTwoPoints('reprotect');
      await harness.store.unprotectVolume(volumeId);

      // Act
      const volume = await harness.store.protectVolume(volumeId, { volumeSize: 8, config: {} });

      // Assess
      expect(volume).toMatchObject({ volumeSize: 8, version: 0 });
      expect(volume.headSeq).toBeUndefined();
      expect((await harness.rawItems(volumeId)).map((item) => item.sk)).toEqual(['META']);
    });

    it('refuses with VolumeBusyError while a run holds a live lease, and leaves the volume as it was', async () => {
      // Prepare
      const { volumeId } = await volumeWithTwoPoints('busy', true);
      const before = await harness.rawItems(volumeId);

      // Act
      const refusal = await harness.store.unprotectVolume(volumeId).then(() => undefined, (error: unknown) => error);

      // Assess
      expect(refusal).toBeInstanceOf(VolumeBusyError);
      expect((refusal as VolumeBusyError).runId).toBe('sync-1');
      expect((refusal as Error).message).toContain('wait for that run to finish');
      expect(await harness.rawItems(volumeId)).toEqual(before);
    });

    it('goes ahead once the lease expired, and its former holder can no longer commit', async () => {
      // Prepare
      const { volumeId, fence } = await volumeWithTwoPoints('expired', true);
      const { expiresAt } = await harness.store.renewLease(volumeId, { ...fence, ttlMs: TTL_MS });

      // Act
      const result = await harness.store.unprotectVolume(volumeId, { now: expiresAt + 1 });

      // Assess
      expect(result.removed).toBe(true);
      await expect(harness.store.commitEntry(volumeId, committedEntry({ seq: 2, blocks: [1], volumeSize: WIDE_VOLUME_SIZE }), fence))
        .rejects.toBeInstanceOf(VolumeNotProtectedError);
    });

    it('refuses with SyncInFlightError while a DRL is live, even with the lease released, and says to sync first', async () => {
      // Prepare: a sync wrote its DRL and then died; JobFailed released the lease.
      const { volumeId, fence } = await volumeWithTwoPoints('in-flight', true);
      const next = committedEntry({ seq: 2, blocks: [5], volumeSize: WIDE_VOLUME_SIZE });
      await harness.store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(next, 'sync-2'), fence);
      await harness.store.releaseLease(volumeId, fence);

      // Act
      const refusal = await harness.store.unprotectVolume(volumeId).then(() => undefined, (error: unknown) => error);

      // Assess
      expect(refusal).toBeInstanceOf(SyncInFlightError);
      expect((refusal as Error).message).toContain(`ebs-cdp sync ${volumeId}`);
      expect((await harness.store.getVolume(volumeId)).inFlight?.seq).toBe(2);
      expect((await harness.store.getVolume(volumeId)).unprotecting).toBeUndefined();
    });

    it('does not record the snapshot ids when they are kept, so a re-run after the entries went lists none', async () => {
      // Prepare: the crash hits the second batch; the first (sorted keys: ENTRY#0, ENTRY#1, JOB#…, MAP#…) is gone.
      const { volumeId } = await volumeWithTwoPoints('kept');
      const crashing = harness.instrumentedStore({ crashAtWrite: 3 });
      await expect(crashing.store.unprotectVolume(volumeId)).rejects.toBeInstanceOf(SimulatedCrash);

      // Act
      const result = await harness.store.unprotectVolume(volumeId);

      // Assess
      expect(result).toEqual({ removed: true, restorePoints: 2, secondarySnapshotIds: [], basePrimarySnapshotId: 'snap-p1' });
      expect(await harness.rawItems(volumeId)).toEqual([]);
    });

    it.each(Array.from({ length: UNPROTECT_WRITES }, (_, index) => index + 1))(
      'leaves a still-protected volume that refuses jobs after a crash at write %i, and a re-run finishes the removal',
      async (crashAtWrite) => {
        // Prepare
        const { volumeId } = await volumeWithTwoPoints(`crash-${crashAtWrite}`);
        const crashing = harness.instrumentedStore({ crashAtWrite });

        // Act
        const crash = await crashing.store.unprotectVolume(volumeId, { deleteRestorePoints: true }).then(() => undefined, (error: unknown) => error);
        const afterCrash = await harness.store.getVolume(volumeId);
        const lease = await harness.store.acquireLease(volumeId, { holder: 'exec', runId: 'sync-9', ttlMs: TTL_MS })
          .then(async (fence) => harness.store.releaseLease(volumeId, fence), (error: unknown) => error);
        const result = await harness.store.unprotectVolume(volumeId, { deleteRestorePoints: true });

        // Assess
        expect(crash).toBeInstanceOf(SimulatedCrash);
        expect(afterCrash.headSeq).toBe(1);
        expect(afterCrash.unprotecting).toBe(crashAtWrite === 1 ? undefined : true);
        if (crashAtWrite === 1) expect(lease).toBeUndefined();
        else expect((lease as Error).message).toContain('is being unprotected');
        expect(result).toEqual({ removed: true, restorePoints: 2, secondarySnapshotIds: ['snap-s0', 'snap-s1'], basePrimarySnapshotId: 'snap-p1' });
        expect(await harness.rawItems(volumeId)).toEqual([]);
      },
    );
  });
});

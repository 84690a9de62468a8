/**
 * Claim 12: loading the restore point back onto the primary's instance in place; restoring when
 * the primary lineage is gone (the volume is then created from S_k itself); and what keeps a
 * restore safe next to syncs and prunes (the lease until the plan, S_k checked, loud failures)
 * and a primary that grew since k.
 *
 * ```
 *   block       0..7    8    9            instance ── /dev/xvda ── primary
 *   seq 0         a     ·    ·             RestoreSwap ▶ instance ── /dev/xvda ── restored(k)
 *   seq 1         a     b    ·            primary left `available`, never deleted
 *   P_now         a     b    c   changes(P_head → P_now) = {9}
 *
 *   delta: R(0) = D1 ∪ {9} = {8, 9}
 *   lineage gone (P_head deleted, or the primary volume deleted): full restore, volume ◄── S_k
 *
 *   grown: seq 0 at 1 GiB; the primary grows to 2 GiB and writes {2048, 3000} (seq 1), then {9}
 *   R(0) = {2048, 3000} (beyond S_0: written as zeros) ∪ {9}, target 2 GiB
 * ```
 */
import { RestorePointNotFoundError } from '../../../shared/core/errors';
import { restoreBegin, restoreCopySegment, restorePlanStep, restoreSwap } from '../../../shared/engine/restore';
import { RestoreChainMovedError, RestoreRequestError } from '../../../shared/engine/errors';
import { syncBegin } from '../../../shared/engine/sync';
import { SnapshotNotFoundError, VolumeBusyError } from '../../../shared/core/ports/errors';
import { ROOT_DEVICE_NAME } from '../../../local/emulator/ec2';
import { rejectionOf } from '../aws/adapters-harness';
import {
  differingBlocks,
  nextRestoreRunId,
  runRestore,
  startRestoreHarness,
  startWorkload,
  syncOnce,
  ZONE,
  type RestoreHarness,
  type SyncedPoint,
  type Workload,
} from './restore-harness';

const VOLUME_SIZE_GIB = 1;
const BASELINE_BLOCKS = Array.from({ length: 8 }, (_, i) => i);
const SYNC_1_WRITES = [8];
const PRESENT_WRITES = [9];
/** The primary grows from 1 GiB (2,048 blocks) to 2 GiB between points 0 and 1. */
const GROWN_SIZE_GIB = 2;
const BEYOND_ORIGINAL_SIZE = [2_048, 3_000];

/** A protected volume on a running instance with restore points 0 and 1, and writes since. */
async function protectedWorkload(harness: RestoreHarness, seed: number): Promise<{ workload: Workload; points: SyncedPoint[] }> {
  const workload = await startWorkload(harness, VOLUME_SIZE_GIB);
  await workload.write(BASELINE_BLOCKS, seed);
  const point0 = await syncOnce(harness, workload);
  await workload.write(SYNC_1_WRITES, seed + 1);
  const point1 = await syncOnce(harness, workload);
  await workload.write(PRESENT_WRITES, seed + 2);
  return { workload, points: [point0, point1] };
}

describe('Restore job: in place, lineage gone, lease and growth (claim 12)', () => {
  let harness: RestoreHarness;

  beforeAll(async () => {
    harness = await startRestoreHarness();
  });

  afterAll(async () => {
    await harness?.stop();
  });

  describe('restoreSwap', () => {
    it('leaves the instance running with the restored volume at the same device, the primary detached', async () => {
      // Prepare
      const { workload, points } = await protectedWorkload(harness, 21);

      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0, inPlace: true });

      // Assess
      expect(run.swap).toEqual({ swapped: true, instanceId: workload.instanceId, device: ROOT_DEVICE_NAME, detachedVolumeId: workload.volumeId });
      expect(run.report).toMatchObject({ swapped: true, blocksWritten: SYNC_1_WRITES.length + PRESENT_WRITES.length });
      const attached = harness.cloud.model.attachedVolumes(workload.instanceId);
      expect(attached.map((volume) => [volume.volumeId, volume.attachment?.device])).toEqual([[run.volume.newVolumeId, ROOT_DEVICE_NAME]]);
      expect(harness.cloud.model.describeInstances([workload.instanceId])[0].state).toBe('running');
      expect(harness.cloud.model.getVolume(workload.volumeId).state).toBe('available');
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[0].image, [...workload.touched])).toEqual([]);
    });

    it('changes nothing when run again after the swap', async () => {
      // Prepare
      const { workload } = await protectedWorkload(harness, 31);
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 1, inPlace: true });
      harness.cloud.emulator.stats.reset();

      // Act
      const again = await restoreSwap(harness.restore, { ...run.decision, ...run.volume });

      // Assess
      expect(again).toEqual(run.swap);
      expect(harness.cloud.emulator.stats.calls['EC2:StopInstances']).toBeUndefined();
      expect(harness.cloud.model.attachedVolumes(workload.instanceId).map((volume) => volume.volumeId)).toEqual([run.volume.newVolumeId]);
    });

    it('refuses to swap onto an instance the primary is not attached to, before taking anything', async () => {
      // Prepare
      const { workload } = await protectedWorkload(harness, 41);
      const otherInstance = await harness.cloud.model.createInstance({ availabilityZone: ZONE });
      harness.cloud.emulator.stats.reset();

      // Act
      const error = await rejectionOf(
        restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0, inPlace: true, instanceId: otherInstance }),
      );

      // Assess
      expect(error).toBeInstanceOf(RestoreRequestError);
      expect(error.message).toContain(`is attached to ${workload.instanceId}; omit instanceId or name that instance`);
      expect(harness.cloud.emulator.stats.calls['EC2:CreateSnapshot']).toBeUndefined();
    });
  });

  describe('primary lineage gone', () => {
    it('restores from S_k directly when the base primary snapshot P_head was deleted', async () => {
      // Prepare
      const { workload, points } = await protectedWorkload(harness, 51);
      const base = (await harness.context.store.getVolume(workload.volumeId)).basePrimarySnapshotId ?? '';
      await harness.cloud.model.deleteSnapshot(base);
      harness.cloud.emulator.stats.reset();

      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 1 });

      // Assess
      expect(run.decision.mode).toBe('full');
      expect(run.decision.fullRestoreReason).toBe(`the base primary snapshot ${base} was deleted`);
      expect(run.plan).toMatchObject({ mode: 'full', targetSnapshotId: run.decision.restorePoint.secondarySnapshotId, segments: [], blocks: 0 });
      expect(harness.cloud.emulator.stats.calls.PutSnapshotBlock).toBeUndefined();
      expect(harness.cloud.emulator.stats.calls['EC2:CreateSnapshot']).toBeUndefined();
      expect(run.report).toMatchObject({ mode: 'full', blocksWritten: 0, volumeBlocksAllocated: BASELINE_BLOCKS.length + SYNC_1_WRITES.length });
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[1].image, [...workload.touched])).toEqual([]);
    });

    it('restores from S_k into the given zone when the primary volume was deleted, and refuses without a zone', async () => {
      // Prepare
      const { workload, points } = await protectedWorkload(harness, 61);
      await harness.cloud.model.stopInstances([workload.instanceId]);
      await harness.cloud.model.detachVolume({ volumeId: workload.volumeId });
      await harness.cloud.model.deleteVolume(workload.volumeId);

      // Act
      const refusal = await rejectionOf(restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0 }));
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0, availabilityZone: ZONE });

      // Assess
      expect(refusal).toBeInstanceOf(RestoreRequestError);
      expect(refusal.message).toContain('pass availabilityZone');
      expect(run.decision).toMatchObject({ mode: 'full', fullRestoreReason: `the primary volume ${workload.volumeId} no longer exists` });
      expect(harness.cloud.model.getVolume(run.volume.newVolumeId)).toMatchObject({ availabilityZone: ZONE, size: VOLUME_SIZE_GIB, state: 'available' });
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[0].image, [...workload.touched])).toEqual([]);
    });

    it('refuses to plan, writing nothing and releasing the lease, when S_k was pruned after RestoreBegin', async () => {
      // Prepare
      const { workload } = await protectedWorkload(harness, 71);
      const decision = await restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0 });
      await harness.restore.primary.snapshots.waitUntilCompleted(decision.primarySnapshotId ?? '');
      await harness.cloud.model.deleteSnapshot(decision.restorePoint.secondarySnapshotId);
      harness.cloud.emulator.stats.reset();

      // Act
      const error = await rejectionOf(restorePlanStep(harness.restore, decision));

      // Assess
      expect(error).toBeInstanceOf(RestorePointNotFoundError);
      expect(error.message).toContain(`lost its secondary snapshot ${decision.restorePoint.secondarySnapshotId} (pruned since the restore began)`);
      expect(harness.cloud.emulator.stats.calls.StartSnapshot).toBeUndefined();
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
    });
  });
  describe('lease', () => {
    it('holds the lease from RestoreBegin to RestorePlan, so no sync replaces P_head under the plan', async () => {
      // Prepare
      const { workload } = await protectedWorkload(harness, 81);
      const decision = await restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0 });
      await harness.restore.primary.snapshots.waitUntilCompleted(decision.primarySnapshotId ?? '');

      // Act
      const blocked = await rejectionOf(syncBegin(harness.context, { volumeId: workload.volumeId, runId: 'sync-during-restore' }));
      const plan = await restorePlanStep(harness.restore, decision);

      // Assess
      expect(blocked).toBeInstanceOf(VolumeBusyError);
      expect(plan.blocks).toBe(SYNC_1_WRITES.length + PRESENT_WRITES.length);
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
    });

    it('refuses a stale plan when the lease was lost and a sync committed since RestoreBegin', async () => {
      // Prepare
      const { workload } = await protectedWorkload(harness, 91);
      const decision = await restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0 });
      // The restore stalled past its lease; the next sync took the lease over and committed point 2.
      harness.engine.timer.advance(harness.context.tuning.leaseTtlMs + 1);
      await syncOnce(harness, workload);

      // Act
      const error = await rejectionOf(restorePlanStep(harness.restore, decision));

      // Assess
      expect(error).toBeInstanceOf(RestoreChainMovedError);
      expect(error.message).toContain('the head moved from restore point 1 to 2');
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
    });
  });
  describe('copy', () => {
    it('fails loudly rather than writing zeros when S_k is pruned after the plan', async () => {
      // Prepare
      const { workload } = await protectedWorkload(harness, 101);
      const decision = await restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0 });
      await harness.restore.primary.snapshots.waitUntilCompleted(decision.primarySnapshotId ?? '');
      const plan = await restorePlanStep(harness.restore, decision);
      await harness.cloud.model.deleteSnapshot(plan.sourceSnapshotId);
      harness.cloud.emulator.stats.reset();

      // Act
      const error = await rejectionOf(restoreCopySegment(harness.restore, {
        volumeId: workload.volumeId, runId: decision.runId, segment: 0, sourceSnapshotId: plan.sourceSnapshotId, targetSnapshotId: plan.targetSnapshotId,
      }));

      // Assess
      expect(error).toBeInstanceOf(SnapshotNotFoundError);
      expect(harness.cloud.emulator.stats.calls.PutSnapshotBlock).toBeUndefined();
    });
  });

  describe('a primary that grew since k', () => {
    it("restores the point's image at the primary's size now, blocks beyond S_k's size written as zeros", async () => {
      // Prepare
      const workload = await startWorkload(harness, VOLUME_SIZE_GIB);
      await workload.write(BASELINE_BLOCKS, 111);
      const point0 = await syncOnce(harness, workload);
      harness.engine.growVolume(workload.volumeId, GROWN_SIZE_GIB);
      await workload.write(BEYOND_ORIGINAL_SIZE, 112);
      await syncOnce(harness, workload);
      await workload.write(PRESENT_WRITES, 113);

      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0 });

      // Assess
      expect(run.plan.blocks).toBe(BEYOND_ORIGINAL_SIZE.length + PRESENT_WRITES.length);
      expect(run.plan.volumeSize).toBe(GROWN_SIZE_GIB);
      expect(harness.cloud.model.getVolume(run.volume.newVolumeId).size).toBe(GROWN_SIZE_GIB);
      expect(await differingBlocks(harness, run.volume.newVolumeId, point0.image, [...workload.touched])).toEqual([]);
    });
  });
});

/**
 * Claim 12: restore point k by seq and by time, as a delta restore, against the local cloud.
 *
 * ```
 *   block      0..59   60  61  62  63 │ 65536  65537  65600      (40 GiB: two segments)
 *   seq 0        a      a   a   ·   · │   a      ·      ·        baseline
 *   seq 1        a      b   a   b   · │   a      b      ·        D1 = {60, 62, 65537}
 *   seq 2        a      b   c   b   c │   ·      b      c        D2 = {61, 63, 65536 (trimmed), 65600}
 *   P_now      0:d      b   c   b   c │   ·      b      c        changes(P_head → P_now) = {0}
 *
 *   R(0) = D1 ∪ D2 ∪ {0} = {0, 60, 61, 62, 63, 65536, 65537, 65600}   8 of 62 allocated blocks
 *   R(1) = D2 ∪ {0}      = {0, 61, 63, 65536, 65600}
 * ```
 * Every block of R is read from S_k (65536 of S_2 reads zeros: unlisted) into a snapshot whose
 * parent is P_now; every other block already holds point k's version in P_now.
 */
import { ZodError } from 'zod';
import { VolumeNotProtectedError } from '../../../shared/core/ports/errors';
import { RestorePointNotFoundError } from '../../../shared/core/errors';
import { restoreBegin, restorePlanStep } from '../../../shared/engine/restore';
import { rejectionOf } from '../aws/adapters-harness';
import {
  differingBlocks,
  nextRestoreRunId,
  runRestore,
  startRestoreHarness,
  startWorkload,
  syncOnce,
  type RestoreHarness,
  type SyncedPoint,
  type Workload,
} from './restore-harness';

/** 40 GiB = 81,920 blocks: two segments, so R spans two Map items. */
const VOLUME_SIZE_GIB = 40;
const BASELINE_BLOCKS = [...Array.from({ length: 61 }, (_, i) => i), 65_536];
const SYNC_1_WRITES = [60, 62, 65_537];
const SYNC_2_WRITES = [61, 63, 65_600];
const SYNC_2_TRIMS = [65_536];
const PRESENT_WRITES = [0];

function union(...sets: ReadonlyArray<readonly number[]>): number[] {
  return [...new Set(sets.flat())].sort((a, b) => a - b);
}

describe('Restore job (claim 12)', () => {
  let harness: RestoreHarness;
  let workload: Workload;
  let points: SyncedPoint[];

  beforeAll(async () => {
    harness = await startRestoreHarness();
    workload = await startWorkload(harness, VOLUME_SIZE_GIB);
    await workload.write(BASELINE_BLOCKS, 1);
    const point0 = await syncOnce(harness, workload);
    await workload.write(SYNC_1_WRITES, 2);
    const point1 = await syncOnce(harness, workload);
    await workload.write(SYNC_2_WRITES, 3);
    await workload.trim(SYNC_2_TRIMS);
    const point2 = await syncOnce(harness, workload);
    // The primary keeps writing after the head: the present delta map.
    await workload.write(PRESENT_WRITES, 4);
    points = [point0, point1, point2];
  });

  afterAll(async () => {
    await harness?.stop();
  });

  beforeEach(() => {
    harness.cloud.emulator.stats.reset();
  });

  describe('by seq', () => {
    it('restores point 0 byte-identically into a new volume, writing exactly R = D1 ∪ D2 ∪ changes(P_head → P_now)', async () => {
      // Prepare
      const expectedPlan = union(SYNC_1_WRITES, SYNC_2_WRITES, SYNC_2_TRIMS, PRESENT_WRITES);

      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0 });

      // Assess
      expect(points.map((point) => point.deltaMap.toArray())).toEqual([BASELINE_BLOCKS, SYNC_1_WRITES, union(SYNC_2_WRITES, SYNC_2_TRIMS)]);
      expect(run.decision.mode).toBe('delta');
      expect(run.plan.segments).toEqual([0, 1]);
      expect(run.plan.blocks).toBe(expectedPlan.length);
      expect(run.report).toMatchObject({
        mode: 'delta',
        restorePoint: { seq: 0, pointInTime: points[0].pointInTime, trust: 'trusted' },
        blocksWritten: expectedPlan.length,
        planBlocks: expectedPlan.length,
        swapped: false,
      });
      // Delta restore: the copy wrote |R| blocks, not the volume's allocated blocks.
      expect(harness.cloud.emulator.stats.calls.PutSnapshotBlock).toBe(expectedPlan.length);
      expect(run.report.volumeBlocksAllocated).toBeGreaterThan(run.report.blocksWritten);
      expect(run.report.newVolumeId).not.toBe(workload.volumeId);
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[0].image, union([...workload.touched]))).toEqual([]);
      expect(await differingBlocks(harness, run.volume.newVolumeId, workload.image, union([...workload.touched]))).toEqual(expectedPlan);
      // The primary is untouched: still the workload's image, still attached.
      expect(await differingBlocks(harness, workload.volumeId, workload.image, union([...workload.touched]))).toEqual([]);
      expect(harness.cloud.model.attachedVolumes(workload.instanceId).map((v) => v.volumeId)).toEqual([workload.volumeId]);
    });

    it("creates the volume in the primary's zone with its type, iops and throughput", async () => {
      // Prepare
      const primary = harness.cloud.model.getVolume(workload.volumeId);

      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 2 });

      // Assess
      const restored = harness.cloud.model.getVolume(run.volume.newVolumeId);
      expect(restored).toMatchObject({
        availabilityZone: primary.availabilityZone,
        volumeType: primary.volumeType,
        iops: primary.iops,
        throughput: primary.throughput,
        size: primary.size,
        state: 'available',
      });
      expect(run.plan.blocks).toBe(PRESENT_WRITES.length);
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[2].image, union([...workload.touched]))).toEqual([]);
    });
  });

  describe('by time', () => {
    it('restores the newest trusted point at or before the time, writing exactly R = D2 ∪ changes(P_head → P_now)', async () => {
      // Prepare
      const expectedPlan = union(SYNC_2_WRITES, SYNC_2_TRIMS, PRESENT_WRITES);
      const between = new Date(Date.parse(points[1].pointInTime) + 1).toISOString();
      expect(Date.parse(between)).toBeLessThan(Date.parse(points[2].pointInTime));

      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), pointInTime: between });

      // Assess
      expect(run.decision.restorePoint.seq).toBe(1);
      expect(run.report.blocksWritten).toBe(expectedPlan.length);
      expect(harness.cloud.emulator.stats.calls.PutSnapshotBlock).toBe(expectedPlan.length);
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[1].image, union([...workload.touched]))).toEqual([]);
    });
  });

  describe('idempotence', () => {
    it('reuses P_now and the target snapshot when RestoreBegin and RestorePlan run twice', async () => {
      // Prepare
      const request = { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 1 };
      const first = await restoreBegin(harness.restore, request);
      await harness.restore.primary.snapshots.waitUntilCompleted(first.primarySnapshotId ?? '');
      const firstPlan = await restorePlanStep(harness.restore, first);

      // Act
      const second = await restoreBegin(harness.restore, request);
      const secondPlan = await restorePlanStep(harness.restore, second);

      // Assess
      expect(second.primarySnapshotId).toBe(first.primarySnapshotId);
      expect(secondPlan).toEqual(firstPlan);
      expect(harness.cloud.emulator.stats.calls['EC2:CreateSnapshot']).toBe(1);
      // The plan released the lease: a sync can take it again.
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
    });
  });

  describe('refusals', () => {
    it('refuses an unknown seq and says how to list the restore points', async () => {
      // Act
      const error = await rejectionOf(restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 9 }));

      // Assess
      expect(error).toBeInstanceOf(RestorePointNotFoundError);
      expect(error.message).toMatch(/restore point 9 does not exist; run 'ebs-cdp points'/);
      expect(harness.cloud.emulator.stats.calls['EC2:CreateSnapshot']).toBeUndefined();
    });

    it('refuses a time before the baseline', async () => {
      // Prepare
      const before = new Date(Date.parse(points[0].pointInTime) - 60_000).toISOString();

      // Act
      const error = await rejectionOf(restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), pointInTime: before }));

      // Assess
      expect(error).toBeInstanceOf(RestorePointNotFoundError);
      expect(error.message).toContain(`no trusted restore point at or before ${before}`);
    });

    it('refuses a volume that is not protected', async () => {
      // Act
      const error = await rejectionOf(restoreBegin(harness.restore, { volumeId: 'vol-0000000000000dead', runId: nextRestoreRunId(), seq: 0 }));

      // Assess
      expect(error).toBeInstanceOf(VolumeNotProtectedError);
      expect(error.message).toMatch(/vol-0000000000000dead is not protected by ebs-cdp/);
    });

    it('refuses a request naming both a seq and a time', async () => {
      // Act
      const error = await rejectionOf(
        restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 0, pointInTime: points[0].pointInTime }),
      );

      // Assess
      expect(error).toBeInstanceOf(ZodError);
      expect(error.message).toContain('give exactly one of seq');
    });
  });
});

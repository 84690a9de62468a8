/**
 * Claim 12 with suspect restore points: a verify marked point 1 suspect (its image holds bad
 * block versions). It is refused unless the request overrides, and a restore by time passes over
 * it to the newest trusted point.
 *
 * ```
 *   block      0..15   16   17  │ 65540                     (40 GiB: two segments)
 *   seq 0        a      ·    ·  │   a      trusted           baseline
 *   seq 1        a      b    ·  │   b      SUSPECT (2)       D1 = {16, 65540}
 *   seq 2        a      b    c  │   b      trusted           D2 = {17}
 *   P_now        a      b    c  │   b                        changes(P_head → P_now) = {}
 *
 *   by time at seq 1's point in time ─► seq 0 (newest trusted), skipping suspect 1
 *   R(0) = D1 ∪ D2 = {16, 17, 65540}       R(1) = D2 = {17}
 * ```
 */
import { volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { SuspectRestorePointError } from '../../../shared/core/errors';
import { restoreBegin, restoreReport } from '../../../shared/engine/restore';
import { isRestoreRefusal, RESTORE_REFUSALS } from '../../../shared/engine/errors';
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

const VOLUME_SIZE_GIB = 40;
const BASELINE_BLOCKS = [...Array.from({ length: 16 }, (_, i) => i), 65_540];
const SYNC_1_WRITES = [16, 65_540];
/** Rewrites both blocks point 1 holds bad, so point 2's image holds none of them: it stays trusted. */
const SYNC_2_WRITES = [16, 17, 65_540];
/** Bad blocks the (simulated) verify found in point 1's image. */
const SUSPECT_BLOCKS = SYNC_1_WRITES.length;

describe('Restore job with suspect restore points (claim 12)', () => {
  let harness: RestoreHarness;
  let workload: Workload;
  let points: SyncedPoint[];

  beforeAll(async () => {
    harness = await startRestoreHarness();
    workload = await startWorkload(harness, VOLUME_SIZE_GIB);
    await workload.write(BASELINE_BLOCKS, 11);
    const point0 = await syncOnce(harness, workload);
    await workload.write(SYNC_1_WRITES, 12);
    const point1 = await syncOnce(harness, workload);
    await workload.write(SYNC_2_WRITES, 13);
    const point2 = await syncOnce(harness, workload);
    points = [point0, point1, point2];
    // What a verify's suspect walk records (claim 11), under the lease like the verify: the copies
    // point 1 wrote of its two blocks are bad; point 2 rewrote both, so only point 1 holds them.
    const { store } = harness.context;
    const { fencingToken } = await store.acquireLease(workload.volumeId, { holder: 'verify-1', runId: 'verify-1', ttlMs: harness.context.tuning.leaseTtlMs });
    await store.recordBadVersions(workload.volumeId, new Map([[1, DeltaMap.of(volumeBlocks(VOLUME_SIZE_GIB), SYNC_1_WRITES)]]), { fencingToken });
    await store.releaseLease(workload.volumeId, { fencingToken });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  beforeEach(() => {
    harness.cloud.emulator.stats.reset();
  });

  describe('restoreBegin', () => {
    it('refuses a suspect point by seq without the override, saying how to override, and changes nothing', async () => {
      // Act
      const error = await rejectionOf(restoreBegin(harness.restore, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 1 }));

      // Assess
      expect(error).toBeInstanceOf(SuspectRestorePointError);
      expect(error.message).toBe(`restore point 1 is suspect (${SUSPECT_BLOCKS} bad blocks); pick another point or pass --allow-suspect`);
      expect(isRestoreRefusal(error)).toBe(true);
      expect(RESTORE_REFUSALS).toContain(error.name);
      expect(harness.cloud.emulator.stats.calls['EC2:CreateSnapshot']).toBeUndefined();
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
    });

    it('by time passes over the suspect point to the newest trusted one at or before the time', async () => {
      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), pointInTime: points[1].pointInTime });

      // Assess
      expect(run.decision.restorePoint).toMatchObject({ seq: 0, trust: 'trusted' });
      expect(run.decision.skippedSuspect).toEqual([1]);
      expect(run.report.blocksWritten).toBe(new Set([...SYNC_1_WRITES, ...SYNC_2_WRITES]).size);
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[0].image, [...workload.touched])).toEqual([]);
    });
  });

  describe('with allowSuspect', () => {
    it('restores the suspect point byte-identically and reports its trust', async () => {
      // Act
      const run = await runRestore(harness, { volumeId: workload.volumeId, runId: nextRestoreRunId(), seq: 1, allowSuspect: true });

      // Assess
      expect(run.report.restorePoint).toEqual({ seq: 1, pointInTime: points[1].pointInTime, trust: 'suspect' });
      expect(run.report.blocksWritten).toBe(SYNC_2_WRITES.length);
      expect(harness.cloud.emulator.stats.calls.PutSnapshotBlock).toBe(SYNC_2_WRITES.length);
      expect(await differingBlocks(harness, run.volume.newVolumeId, points[1].image, [...workload.touched])).toEqual([]);
    });
  });

  describe('restoreReport', () => {
    it('reports a refusal and records it as a failed restore where status shows it', async () => {
      // Prepare
      const runId = nextRestoreRunId();
      const error = await rejectionOf(restoreBegin(harness.restore, { volumeId: workload.volumeId, runId, seq: 1 }));

      // Act
      const report = await restoreReport(harness.restore, { volumeId: workload.volumeId, runId, refused: { error: error.name, message: error.message } });

      // Assess
      expect(report).toMatchObject({ refused: { error: 'SuspectRestorePointError' }, blocksWritten: 0, swapped: false });
      expect(report.newVolumeId).toBeUndefined();
      const records = await harness.context.store.listJobRecords(workload.volumeId);
      expect(records.find((record) => record.runId === runId)).toMatchObject({ job: 'restore', status: 'failed', errorName: 'SuspectRestorePointError' });
    });
  });
});

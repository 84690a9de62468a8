/**
 * The Verify job's steps against the local cloud (emulator + dynalite over HTTP), driven in the
 * state machine's order: VerifyBegin → (P0 completed) → VerifyPlan → VerifyScanSegment per
 * segment → VerifyFinishScan → [fix-up] → VerifyReport.
 */
import { BLOCKS_PER_SEGMENT, volumeBlocks } from '../../../shared/core/constants';
import type { ChainEntry } from '../../../shared/core/chain-entry';
import { DeltaMap } from '../../../shared/core/delta-map';
import { jobFailed } from '../../../shared/engine/tasks';
import { VERIFY_RUN_TAG } from '../../../shared/core/tags';
import { verifyBegin, verifyFinishScan, verifyPlan, verifyReport, verifyScanSegment, type VerifyFinishScanOutput, type VerifyReport } from '../../../shared/engine/verify';
import { driveVerify } from '../../../local/drivers';
import { readVerifyMap } from '../../../shared/engine/verify/maps';
import { ScanIncompleteError } from '../../../shared/engine/errors';
import { blockReads, chainView, corrupt, imageDifferences, runSyncSteps, startVerifyHarness, startWorkload, type VerifyHarness, type Workload } from './verify-harness';

/** 40 GiB: two segments (32 GiB each), so the Map state has two items. */
const TWO_SEGMENT_GIB = 40;

/** 1 GiB: one segment, for scenarios that need no fan-out. */
const SMALL_GIB = 1;

/** A block in the second segment. */
const FAR = BLOCKS_PER_SEGMENT + 7;

let harness: VerifyHarness;
let runs = 0;

beforeAll(async () => {
  harness = await startVerifyHarness();
}, 30_000);

afterAll(async () => {
  await harness.stop();
});

interface VerifyDrive {
  readonly runId: string;
  readonly primarySnapshotId: string;
  readonly segments: number[];
  readonly scans: Array<{ segment: number; scanned: number; mismatches: number }>;
  readonly finish: VerifyFinishScanOutput;
  readonly report: VerifyReport;
}

/**
 * Runs a verify through the Verify driver (state-machine order). `duringScan` runs between the
 * first Map item and the others (syncs committing during the scan interval); the fix-up runs
 * when the finish says so.
 */
async function runVerify(workload: Workload, options: { quick?: boolean; duringScan?: () => Promise<void> } = {}): Promise<VerifyDrive> {
  runs += 1;
  const run = await driveVerify(harness.ctx, workload.volumeId, `verify-${runs}`, { quick: options.quick ?? false, duringScan: options.duringScan });
  const { begun, segments, finish, report } = run;
  if (begun === undefined || segments === undefined || finish === undefined || report === undefined) throw new Error(`verify ${run.runId} did not finish`);
  return { runId: run.runId, primarySnapshotId: begun.primarySnapshotId, segments, scans: run.scans, finish, report };
}

async function headEntry(volumeId: string): Promise<ChainEntry> {
  const volume = await harness.ctx.store.getVolume(volumeId);
  return harness.ctx.store.getEntry(volumeId, volume.headSeq ?? -1);
}

describe('Verify job', () => {
  describe('on a healthy volume (claims 1–4, 13–16)', () => {
    it('is clean, scans every allocated block not pending, appends no entry and marks nothing', async () => {
      // segment 0                         segment 1
      // P_0  ■0 ■1 ■2 ■3                  ■FAR          baseline
      // P_1        ■2'                    ■FAR'         sync 1
      // P0   ■0 ■1 ■2' ■3 ■9(new, D0)     ■FAR'         T0: block 9 pending, not compared
      // compared: 0 1 2 3 FAR → 5 blocks, all equal
      // Prepare
      const workload = await startWorkload(harness, TWO_SEGMENT_GIB);
      await workload.write([0, 1, 2, 3, FAR], 1);
      await runSyncSteps(harness, workload);
      await workload.write([2, FAR], 2);
      await runSyncSteps(harness, workload);
      await workload.write([9], 3);
      const before = await chainView(harness, workload.volumeId);

      // Act
      const drive = await runVerify(workload);

      // Assess
      expect(drive.segments).toEqual([0, 1]);
      expect(drive.scans).toEqual([
        { segment: 0, scanned: 4, mismatches: 0 },
        { segment: 1, scanned: 1, mismatches: 0 },
      ]);
      expect(drive.finish).toMatchObject({ outcome: 'clean', mismatches: 0, revised: 0, suspectPoints: [], residual: 0 });
      expect(drive.finish.fencingToken).toBeUndefined();
      expect(drive.report).toMatchObject({ outcome: 'clean', blocksScanned: 5, pendingBlocks: 1, mismatches: 0, fixed: 0, mismatchedBlocks: [] });
      expect(await chainView(harness, workload.volumeId)).toEqual(before);
      expect((await harness.ctx.store.getVolume(workload.volumeId)).lease).toBeUndefined();
      expect((await harness.ctx.store.getVerifyRun(workload.volumeId, drive.runId)).status).toBe('clean');
      await expect(harness.ctx.primary.waiter.status(drive.primarySnapshotId)).rejects.toThrow(/does not exist|not in DescribeSnapshots/);
    }, 30_000);

    it('records a successful run in the job history, where `status` finds the last verify', async () => {
      // Prepare
      const workload = await startWorkload(harness, TWO_SEGMENT_GIB);
      await workload.write([0, 1], 4);
      await runSyncSteps(harness, workload);

      // Act
      const drive = await runVerify(workload);

      // Assess
      const verifies = (await harness.ctx.store.listJobRecords(workload.volumeId)).filter((record) => record.job === 'verify');
      expect(verifies).toEqual([expect.objectContaining({ runId: drive.runId, job: 'verify', status: 'succeeded' })]);
      expect(verifies[0]?.summary).toMatchObject({ outcome: 'clean', blocksScanned: 2, mismatches: 0 });
    }, 30_000);

    it('answers every step again with the same result (idempotent steps)', async () => {
      // P_0 ■0 ■1, verify twice through each step: same P0, same shards, same report
      // Prepare
      const workload = await startWorkload(harness, SMALL_GIB);
      await workload.write([0, 1], 4);
      await runSyncSteps(harness, workload);
      const volumeId = workload.volumeId;
      const runId = 'verify-idempotent';
      const first = await verifyBegin(harness.ctx, { volumeId, runId, quick: false });
      const plan = await verifyPlan(harness.ctx, { volumeId, runId });
      const scan = await verifyScanSegment(harness.ctx, { volumeId, runId, segment: 0 });
      const finish = await verifyFinishScan(harness.ctx, { volumeId, runId });
      const report = await verifyReport(harness.ctx, { volumeId, runId });

      // Act
      const again = {
        begin: await verifyBegin(harness.ctx, { volumeId, runId, quick: false }),
        plan: await verifyPlan(harness.ctx, { volumeId, runId }),
        finish: await verifyFinishScan(harness.ctx, { volumeId, runId }),
        report: await verifyReport(harness.ctx, { volumeId, runId }),
      };

      // Assess
      expect(again.begin).toEqual(first);
      expect(again.plan).toEqual(plan);
      expect(scan).toEqual({ segment: 0, scanned: 2, mismatches: 0 });
      expect(again.finish).toEqual(finish);
      expect(again.report).toEqual(report);
    }, 30_000);

    it('plans from the current base when a sync deleted P_head between T0 and the plan (claims 3–4)', async () => {
      // P_0 {0,1,2}; T0 (P0 after writing 1); sync 1 commits {1, 4} and deletes P_0
      // D0 = D_1 ∪ changes(P_1 → P0) = {1, 4} ∪ {4} ⊇ changes(P_0 → P0) = {1}: pending {1, 4}
      // compared with S_0: {0, 2}, both equal → clean
      // Prepare
      const workload = await startWorkload(harness, SMALL_GIB);
      await workload.write([0, 1, 2], 6);
      await runSyncSteps(harness, workload);
      await workload.write([1], 7);
      const { volumeId } = workload;
      runs += 1;
      const runId = `verify-moved-${runs}`;
      const begun = await verifyBegin(harness.ctx, { volumeId, runId, quick: false });
      await workload.write([4], 8);
      const s1 = await runSyncSteps(harness, workload);

      // Act
      const plan = await verifyPlan(harness.ctx, { volumeId, runId });
      const scan = await verifyScanSegment(harness.ctx, { volumeId, runId, segment: 0 });
      const finish = await verifyFinishScan(harness.ctx, { volumeId, runId });

      // Assess
      expect(begun.headSeq).toBe(0);
      expect((await harness.ctx.store.getEntry(volumeId, s1.seq)).deltaMap.toArray()).toEqual([1, 4]);
      expect((await readVerifyMap(harness.ctx.store, volumeId, runId, 'present', volumeBlocks(SMALL_GIB))).deltaMap.toArray()).toEqual([1, 4]);
      expect(plan).toMatchObject({ segments: [0], pendingBlocks: 2 });
      expect(scan).toEqual({ segment: 0, scanned: 2, mismatches: 0 });
      expect(finish).toMatchObject({ outcome: 'clean', mismatches: 0, suspectPoints: [] });
    }, 30_000);

    it('refuses to finish before every planned segment was scanned', async () => {
      // segments 0 and 1 planned, only 0 scanned → ScanIncompleteError naming segment 1
      // Prepare
      const workload = await startWorkload(harness, TWO_SEGMENT_GIB);
      await workload.write([0, FAR], 5);
      await runSyncSteps(harness, workload);
      const { volumeId } = workload;
      const runId = 'verify-incomplete';
      await verifyBegin(harness.ctx, { volumeId, runId, quick: false });
      await verifyPlan(harness.ctx, { volumeId, runId });
      await verifyScanSegment(harness.ctx, { volumeId, runId, segment: 0 });

      // Act
      const finishing = verifyFinishScan(harness.ctx, { volumeId, runId });

      // Assess
      await expect(finishing).rejects.toBeInstanceOf(ScanIncompleteError);
      await expect(verifyFinishScan(harness.ctx, { volumeId, runId })).rejects.toThrow(/segments 1 were not scanned/);
    }, 30_000);

    it('leaves no P0 behind when the run fails before its report (JobFailed deletes it)', async () => {
      // Prepare: a run that took P0 and then failed (the Catch path runs JobFailed)
      const workload = await startWorkload(harness, SMALL_GIB);
      await workload.write([0], 6);
      await runSyncSteps(harness, workload);
      const { volumeId } = workload;
      const runId = 'verify-failed';
      const begun = await verifyBegin(harness.ctx, { volumeId, runId, quick: false });
      const p0 = begun.primarySnapshotId;
      expect(harness.cloud.emulator.store.getSnapshot(p0)?.state).toBe('completed');

      // Act
      await jobFailed(harness.ctx, { volumeId, runId, job: 'verify', error: { Error: 'ScanIncompleteError', Cause: 'boom' } });

      // Assess
      expect(await harness.ctx.primary.lookup.findOwned([{ key: VERIFY_RUN_TAG, value: runId }])).toEqual([]);
    }, 30_000);
  });

  describe('with silent corruption at restore point k (claims 1–2, 9–11, 13–14, 21–23)', () => {
    it('finds exactly the bad blocks, appends a fix-up that makes the head equal the primary, and marks exactly the walked points', async () => {
      // seq:      0 (baseline)     1 (sync)        2 (sync)
      // D_seq:    {0,1,2,FAR}      {1,FAR}         {2}
      // damage:                    1✗ (S_1, S_2)   2✗ (S_2)      FAR✗ (S_1, S_2)
      // C = {1, 2, FAR}; walk: seq 2 → 3 bad, −D_2 → {1,FAR}; seq 1 → 2 bad, −D_1 → ∅: stop
      // marked: {2: 3, 1: 2}; seq 0 stays trusted; fix-up seq 3 copies C' = {1, 2, FAR} (+ HC = {5})
      // Prepare
      const workload = await startWorkload(harness, TWO_SEGMENT_GIB);
      await workload.write([0, 1, 2, FAR], 10);
      const s0 = await runSyncSteps(harness, workload);
      await workload.write([1, FAR], 11);
      const s1 = await runSyncSteps(harness, workload);
      await workload.write([2], 12);
      const s2 = await runSyncSteps(harness, workload);
      await corrupt(harness, 1, [s1.secondarySnapshotId, s2.secondarySnapshotId]);
      await corrupt(harness, FAR, [s1.secondarySnapshotId, s2.secondarySnapshotId]);
      await corrupt(harness, 2, [s2.secondarySnapshotId]);
      expect(await imageDifferences(harness, workload, s2.secondarySnapshotId)).toEqual([1, 2, FAR]);

      // Act
      const drive = await runVerify(workload, {
        duringScan: async () => {
          // Written after T0: pending in D0, so not compared, and part of HC for the fix-up.
          await workload.write([5], 13);
        },
      });

      // Assess
      const compare = await readVerifyMap(harness.ctx.store, workload.volumeId, drive.runId, 'compare', volumeBlocks(TWO_SEGMENT_GIB));
      expect(compare.deltaMap.toArray()).toEqual([1, 2, FAR]);
      expect(drive.finish).toMatchObject({ outcome: 'repair', mismatches: 3, revised: 3, rewrittenDuringScan: 0, residual: 0 });
      expect(drive.finish.suspectPoints).toEqual([
        { seq: 1, suspectBlocks: 2 },
        { seq: 2, suspectBlocks: 3 },
      ]);
      const head = await headEntry(workload.volumeId);
      expect(head).toMatchObject({ seq: 3, kind: 'fixup', status: 'committed', trust: 'trusted' });
      expect(head.deltaMap.toArray()).toEqual([1, 2, 5, FAR]);
      expect(await imageDifferences(harness, workload, head.secondarySnapshotId)).toEqual([]);
      expect(await chainView(harness, workload.volumeId)).toEqual([
        { seq: 0, kind: 'baseline', trust: 'trusted', suspectBlocks: 0 },
        { seq: 1, kind: 'sync', trust: 'suspect', suspectBlocks: 2 },
        { seq: 2, kind: 'sync', trust: 'suspect', suspectBlocks: 3 },
        { seq: 3, kind: 'fixup', trust: 'trusted', suspectBlocks: 0 },
      ]);
      expect(drive.report).toMatchObject({ outcome: 'repaired', mismatches: 3, fixed: 3, fixupSeq: 3, mismatchedBlocks: [1, 2, FAR] });
      expect(s0.seq).toBe(0);
      expect((await harness.ctx.store.getVolume(workload.volumeId)).lease).toBeUndefined();
    }, 60_000);

    it('is clean on the next verify after the fix-up', async () => {
      // baseline {0,1} damaged at 1 → verify repairs → a second verify finds nothing
      // Prepare
      const workload = await startWorkload(harness, SMALL_GIB);
      await workload.write([0, 1], 20);
      const s0 = await runSyncSteps(harness, workload);
      await corrupt(harness, 1, [s0.secondarySnapshotId]);
      const repaired = await runVerify(workload);

      // Act
      const second = await runVerify(workload);

      // Assess
      expect(repaired.finish.suspectPoints).toEqual([{ seq: 0, suspectBlocks: 1 }]);
      expect(repaired.report.outcome).toBe('repaired');
      expect(second.report).toMatchObject({ outcome: 'clean', mismatches: 0, blocksScanned: 2 });
    }, 30_000);
  });

  describe('with syncs committing during the scan (claims 7–9, 11, 19–21)', () => {
    it('subtracts the blocks they rewrote from C′ and marks the entries that inherited the bad blocks', async () => {
      // seq:    0 (baseline)   1 (sync)     2 (sync, committed during the scan)
      // D_seq:  {0,1,2}        {1}          {1}  (host rewrote block 1 after T0)
      // damage: 0✗ (S_0,S_1,S_2: inherited)  1✗ (S_1)
      // scan compares P0 with S_1: C = {0, 1}; SD = D_2 = {1}; C' = {0}
      // walk from C at seq 1: 2 bad, −D_1 → {0}; seq 0: 1 bad, −D_0 → ∅
      // scan interval: seq 2 holds C − D_2 = {0} → 1 bad
      // fix-up seq 3 copies {0} only (block 1 is not copied twice)
      // Prepare
      const workload = await startWorkload(harness, SMALL_GIB);
      await workload.write([0, 1, 2], 30);
      const s0 = await runSyncSteps(harness, workload);
      await workload.write([1], 31);
      const s1 = await runSyncSteps(harness, workload);
      await corrupt(harness, 0, [s0.secondarySnapshotId, s1.secondarySnapshotId]);
      await corrupt(harness, 1, [s1.secondarySnapshotId]);

      // Act
      const drive = await runVerify(workload, {
        duringScan: async () => {
          await workload.write([1], 32);
          const s2 = await runSyncSteps(harness, workload);
          // S_2 shares S_0's stored block 0, damage included, as on EBS: nothing to corrupt again.
          expect(await imageDifferences(harness, workload, s2.secondarySnapshotId)).toEqual([0]);
        },
      });

      // Assess
      expect(drive.finish).toMatchObject({ outcome: 'repair', mismatches: 2, revised: 1, rewrittenDuringScan: 1 });
      expect(drive.finish.suspectPoints).toEqual([
        { seq: 0, suspectBlocks: 1 },
        { seq: 1, suspectBlocks: 2 },
        { seq: 2, suspectBlocks: 1 },
      ]);
      const head = await headEntry(workload.volumeId);
      expect(head).toMatchObject({ seq: 3, kind: 'fixup' });
      expect(head.deltaMap.toArray()).toEqual([0]);
      expect(await imageDifferences(harness, workload, head.secondarySnapshotId)).toEqual([]);
      expect((await chainView(harness, workload.volumeId)).map((entry) => [entry.seq, entry.trust, entry.suspectBlocks])).toEqual([
        [0, 'suspect', 1],
        [1, 'suspect', 2],
        [2, 'suspect', 1],
        [3, 'trusted', 0],
      ]);
      expect(drive.report).toMatchObject({ outcome: 'repaired', mismatches: 2, rewrittenDuringScan: 1, fixed: 1, fixupSeq: 3 });
    }, 60_000);
  });

  describe('quick (claims 5–6, 17–18)', () => {
    it('compares only the dirty regions: the head restore point’s delta map, minus what is pending', async () => {
      // baseline: 0..11 written; sync 1: {3, 4, 5}; after sync 1: {5} rewritten (pending in D0)
      // damage: 4✗ (S_1), 10✗ (S_0, S_1: outside the dirty regions)
      // quick scope = D_1 − D0 = {3, 4} → 2 blocks × 2 sides = 4 GetSnapshotBlock; finds {4} only
      // Prepare
      const workload = await startWorkload(harness, SMALL_GIB);
      const baselineBlocks = Array.from({ length: 12 }, (_, blockIndex) => blockIndex);
      await workload.write(baselineBlocks, 40);
      const s0 = await runSyncSteps(harness, workload);
      await workload.write([3, 4, 5], 41);
      const s1 = await runSyncSteps(harness, workload);
      await workload.write([5], 42);
      await corrupt(harness, 4, [s1.secondarySnapshotId]);
      await corrupt(harness, 10, [s0.secondarySnapshotId, s1.secondarySnapshotId]);

      // Act
      runs += 1;
      const runId = `verify-quick-${runs}`;
      const { volumeId } = workload;
      const begun = await verifyBegin(harness.ctx, { volumeId, runId, quick: true });
      await harness.ctx.primary.snapshots.waitUntilCompleted(begun.primarySnapshotId);
      const plan = await verifyPlan(harness.ctx, { volumeId, runId });
      harness.cloud.emulator.stats.reset();
      const scans = [];
      for (const segment of plan.segments) scans.push(await verifyScanSegment(harness.ctx, { volumeId, runId, segment }));
      const readsDuringScan = blockReads(harness);
      const finish = await verifyFinishScan(harness.ctx, { volumeId, runId });

      // Assess
      expect(plan).toMatchObject({ segments: [0], pendingBlocks: 1 });
      expect(scans).toEqual([{ segment: 0, scanned: 2, mismatches: 1 }]);
      expect(readsDuringScan).toBe(4);
      expect(finish).toMatchObject({ outcome: 'repair', mismatches: 1, revised: 1 });
      expect(finish.suspectPoints).toEqual([{ seq: 1, suspectBlocks: 1 }]);
      const scope = await readVerifyMap(harness.ctx.store, volumeId, runId, 'scope', volumeBlocks(SMALL_GIB));
      expect(scope.deltaMap.toArray()).toEqual([3, 4]);
      await harness.ctx.store.releaseLease(volumeId, { fencingToken: finish.fencingToken ?? -1 });
    }, 30_000);

    it('after a sync crashed, adds the live DRL to the regions, whose blocks are pending and so left to the recovery', async () => {
      // baseline {0..7}; sync 1: {2, 3}; crashed sync 2: DRL {6, 7} (P_2 taken, nothing committed)
      // regions = D_1 ∪ DRL = {2, 3, 6, 7}; D0 ⊇ DRL = {6, 7} → compared {2, 3}, clean
      // Prepare
      const workload = await startWorkload(harness, SMALL_GIB);
      await workload.write([0, 1, 2, 3, 4, 5, 6, 7], 50);
      await runSyncSteps(harness, workload);
      await workload.write([2, 3], 51);
      const s1 = await runSyncSteps(harness, workload);
      await workload.write([6, 7], 52);
      const { volumeId } = workload;
      const crashed = 'sync-crashed';
      const lease = await harness.ctx.store.acquireLease(volumeId, { holder: crashed, runId: crashed, ttlMs: harness.ctx.tuning.leaseTtlMs });
      const p2 = await harness.ctx.primary.snapshots.takeSnapshot(volumeId);
      await harness.ctx.store.writeDirtyRegionLog(
        volumeId,
        {
          runId: crashed,
          seq: s1.seq + 1,
          kind: 'sync',
          primarySnapshotId: p2,
          volumeSize: SMALL_GIB,
          pointInTime: new Date().toISOString(),
          deltaMap: DeltaMap.of(volumeBlocks(SMALL_GIB), [6, 7]),
        },
        lease,
      );
      // The crashed run's lease expired (released here to skip the wait).
      await harness.ctx.store.releaseLease(volumeId, lease);
      runs += 1;
      const runId = `verify-quick-drl-${runs}`;
      const begun = await verifyBegin(harness.ctx, { volumeId, runId, quick: true });
      await harness.ctx.primary.snapshots.waitUntilCompleted(begun.primarySnapshotId);

      // Act
      const plan = await verifyPlan(harness.ctx, { volumeId, runId });
      harness.cloud.emulator.stats.reset();
      const scans = [];
      for (const segment of plan.segments) scans.push(await verifyScanSegment(harness.ctx, { volumeId, runId, segment }));
      const readsDuringScan = blockReads(harness);
      const finish = await verifyFinishScan(harness.ctx, { volumeId, runId });

      // Assess
      expect(plan).toMatchObject({ segments: [0], pendingBlocks: 2 });
      expect((await readVerifyMap(harness.ctx.store, volumeId, runId, 'present', volumeBlocks(SMALL_GIB))).deltaMap.toArray()).toEqual([6, 7]);
      expect((await readVerifyMap(harness.ctx.store, volumeId, runId, 'quick', volumeBlocks(SMALL_GIB))).deltaMap.toArray()).toEqual([2, 3]);
      expect(scans).toEqual([{ segment: 0, scanned: 2, mismatches: 0 }]);
      expect(readsDuringScan).toBe(4);
      expect(finish).toMatchObject({ outcome: 'clean', mismatches: 0 });
      expect((await harness.ctx.store.readDirtyRegionLog(volumeId))?.deltaMap.toArray()).toEqual([6, 7]);
    }, 30_000);
  });
});

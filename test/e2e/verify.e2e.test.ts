/**
 * Scenarios 3–5 (claims 1–11): the real Verify definition, synthesized from CDK and run by the
 * local runner, over chains built by the real Sync definition.
 */
import type { RunStateMachineResult } from '../../local/stepfunctions/runner';
import { chainView, corruptFrom, differences, firstOccurrences, outcomeOf, runJob, startE2eHarness, Workload, type EngineHarness, type SyncOutput } from './e2e-harness';

/** 1 GiB: one segment of 2,048 blocks, so one Map item per scan or copy. */
const VOLUME_GIB = 1;

/** A verify that found nothing: no fix-up pipeline between the scan and the report. */
const CLEAN_PATH = ['VerifyBegin', 'SnapshotStatus.Verify', 'VerifyPlan', 'VerifyScanSegment', 'VerifyFinishScan', 'VerifyReport'];

/** A verify that repaired: the sync pipeline (the fix-up) between the scan and the report. */
const REPAIR_PATH = [
  'VerifyBegin', 'SnapshotStatus.Verify', 'VerifyPlan', 'VerifyScanSegment', 'VerifyFinishScan',
  'SyncBegin', 'SnapshotStatus', 'SyncPlan', 'CopySegment', 'CompleteSnapshot', 'SnapshotStatus.Secondary', 'SyncCommit',
  'VerifyReport',
];

interface VerifyOutput {
  outcome: 'clean' | 'repaired';
  headSeqAtT0: number;
  blocksScanned: number;
  pendingBlocks: number;
  mismatches: number;
  rewrittenDuringScan: number;
  fixed: number;
  fixupSeq?: number;
  suspectPoints: Array<{ seq: number; suspectBlocks: number }>;
  residual: number;
  mismatchedBlocks: number[];
}

describe('Verify state machine (local runner)', () => {
  let harness: EngineHarness;

  beforeAll(async () => {
    harness = await startE2eHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  /** Syncs through the Sync machine and fails the test at once if a sync does not commit. */
  async function syncOk(workload: Workload): Promise<SyncOutput> {
    const run = await workload.sync();
    expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
    return run.output as SyncOutput;
  }

  /**
   * ```
   *  block:      0  1  2  3  9
   *  S_0 base:   a  b  c  .  .
   *  S_1 sync:   ·  d  ·  e  f
   *  verify:     P0 = S_1 on every allocated block → clean
   * ```
   */
  describe('a healthy volume (scenario 3; claims 1–4)', () => {
    it('ends clean on the happy path, scanning every allocated block, with no fix-up entry and every point trusted', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [1, 2], [2, 3]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 4], [3, 5], [9, 6]]));
      await syncOk(workload);
      const chainBefore = await chainView(harness, workload.volumeId);

      // Act
      const run = await runJob(harness, 'Verify', { volumeId: workload.volumeId });

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(firstOccurrences(run.history)).toEqual(CLEAN_PATH);
      const report = run.output as VerifyOutput;
      expect(report).toMatchObject({ outcome: 'clean', headSeqAtT0: 1, blocksScanned: 5, pendingBlocks: 0, mismatches: 0, fixed: 0, residual: 0, suspectPoints: [] });
      expect(report.fixupSeq).toBeUndefined();
      expect(await chainView(harness, workload.volumeId)).toEqual(chainBefore);
      expect(chainBefore.map((entry) => [entry.kind, entry.trust])).toEqual([['baseline', 'trusted'], ['sync', 'trusted']]);
    });
  });

  /**
   * Bad versions of blocks stored by restore point 1 (`x` = corrupt at rest, shared by every later
   * image that did not rewrite the block) and by restore point 2:
   *
   * ```
   *  block:        0  1  2  3  4  5      D_n         holds bad
   *  S_0 baseline: a  b  c  d  .  .      {0,1,2,3}   —
   *  S_1 sync:     ·  e  ·  ·  f  g      {1,4,5}     1x 4x 5x
   *  S_2 sync:     ·  ·  h  ·  ·  ·      {2}         1x 4x 5x 2x
   *  S_3 sync:     ·  ·  ·  ·  ·  i      {5}         1x 4x    2x     (5 rewritten: good again)
   *  scan:  C = {1,2,4}; walk from S_3: 3 holds 3 → −D_3 → 2 holds 3 → −D_2 → 1 holds 2 → −D_1 = ∅
   *  fix-up S_4 = {1,2,4} (HC = ∅, C' = C): S_4 equals the primary; S_0 stays trusted
   * ```
   */
  describe('silent corruption at restore point k (scenario 4; claims 1–2, 10–11, 13–14)', () => {
    it('finds exactly the corrupt blocks, appends a fix-up equal to the primary, and marks exactly the walked entries', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [1, 2], [2, 3], [3, 4]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 5], [4, 6], [5, 7]]));
      await syncOk(workload);
      await workload.write(new Map([[2, 8]]));
      await syncOk(workload);
      await workload.write(new Map([[5, 9]]));
      await syncOk(workload);
      const holdingBad = [...await corruptFrom(harness, workload.volumeId, 1, [1, 4, 5]), ...await corruptFrom(harness, workload.volumeId, 2, [2])];

      // Act
      const run = await runJob(harness, 'Verify', { volumeId: workload.volumeId });

      // Assess
      expect(new Set(holdingBad)).toEqual(new Set([1, 2, 3]));
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(firstOccurrences(run.history)).toEqual(REPAIR_PATH);
      expect(run.tasks).not.toContain('JobFailed');
      const report = run.output as VerifyOutput;
      expect(report).toMatchObject({ outcome: 'repaired', headSeqAtT0: 3, mismatches: 3, rewrittenDuringScan: 0, fixed: 3, fixupSeq: 4, residual: 0 });
      expect(report.mismatchedBlocks).toEqual([1, 2, 4]);
      expect(report.suspectPoints).toEqual([{ seq: 1, suspectBlocks: 2 }, { seq: 2, suspectBlocks: 3 }, { seq: 3, suspectBlocks: 3 }]);
      const chain = await chainView(harness, workload.volumeId);
      expect(chain.map(({ seq, kind, trust, suspectBlocks }) => ({ seq, kind, trust, suspectBlocks }))).toEqual([
        { seq: 0, kind: 'baseline', trust: 'trusted', suspectBlocks: 0 },
        { seq: 1, kind: 'sync', trust: 'suspect', suspectBlocks: 2 },
        { seq: 2, kind: 'sync', trust: 'suspect', suspectBlocks: 3 },
        { seq: 3, kind: 'sync', trust: 'suspect', suspectBlocks: 3 },
        { seq: 4, kind: 'fixup', trust: 'trusted', suspectBlocks: 0 },
      ]);
      expect(chain[4]?.blocks).toEqual([1, 2, 4]);
      const fixup = await harness.context.store.getEntry(workload.volumeId, 4);
      expect(differences(await harness.readImage(fixup.secondarySnapshotId), await workload.volumeImage())).toEqual([]);
    });
  });

  /**
   * The host rewrites block 4 during the scan and a sync commits it (seq 2) before `T1`:
   *
   * ```
   *  block:        0  1  2  3  4        D_n          holds bad
   *  S_0 baseline: a  b  c  d  .        {0,1,2,3}    —
   *  S_1 sync:     ·  e  ·  ·  f        {1,4}        1x 4x
   *  ── T0: P0, scan S_1 ──────────────── C = {1,4}
   *  S_2 sync:     ·  ·  ·  ·  g        {4}          1x          (committed during the scan: SD = {4})
   *  ── T1 ──────────────────────────── C' = C − SD = {1}
   *  fix-up S_3:   ·  e  ·  ·  ·        {1}          —           (4 not copied again)
   *  marks: walk from C at S_1 → 1 holds 2; scan-interval entry 2 holds C − D_2 = {1} → 1
   * ```
   */
  describe('syncs during the scan (scenario 5; claims 7–9, 19–21)', () => {
    it('subtracts the blocks rewritten during the scan interval from the fix-up and marks the entry committed meanwhile', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [1, 2], [2, 3], [3, 4]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 5], [4, 6]]));
      await syncOk(workload);
      await corruptFrom(harness, workload.volumeId, 1, [1, 4]);
      let duringScan: RunStateMachineResult | undefined;
      const commitDuringScan = async (stateName: string): Promise<void> => {
        if (stateName !== 'VerifyFinishScan' || duringScan !== undefined) return;
        await workload.write(new Map([[4, 7]]));
        duringScan = await workload.sync();
        // S_2 shares S_1's stored block 1, bad version included, as on EBS: nothing to corrupt again.
        const s2 = (duringScan.output as SyncOutput).secondarySnapshotId;
        expect(differences(await harness.readImage(s2), await workload.volumeImage())).toEqual([1]);
      };

      // Act
      const run = await runJob(harness, 'Verify', { volumeId: workload.volumeId }, { beforeTask: commitDuringScan });

      // Assess
      expect(duringScan === undefined ? undefined : outcomeOf(duringScan)).toEqual({ status: 'SUCCEEDED' });
      expect((duringScan?.output as SyncOutput | undefined)?.seq).toBe(2);
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(firstOccurrences(run.history)).toEqual(REPAIR_PATH);
      const report = run.output as VerifyOutput;
      expect(report).toMatchObject({ outcome: 'repaired', headSeqAtT0: 1, mismatches: 2, rewrittenDuringScan: 1, fixed: 1, fixupSeq: 3, residual: 0 });
      expect(report.mismatchedBlocks).toEqual([1, 4]);
      expect(report.suspectPoints).toEqual([{ seq: 1, suspectBlocks: 2 }, { seq: 2, suspectBlocks: 1 }]);
      const chain = await chainView(harness, workload.volumeId);
      expect(chain.map(({ seq, kind, trust, blocks }) => ({ seq, kind, trust, blocks }))).toEqual([
        { seq: 0, kind: 'baseline', trust: 'trusted', blocks: [0, 1, 2, 3] },
        { seq: 1, kind: 'sync', trust: 'suspect', blocks: [1, 4] },
        { seq: 2, kind: 'sync', trust: 'suspect', blocks: [4] },
        { seq: 3, kind: 'fixup', trust: 'trusted', blocks: [1] },
      ]);
      const fixup = await harness.context.store.getEntry(workload.volumeId, 3);
      expect(differences(await harness.readImage(fixup.secondarySnapshotId), await workload.volumeImage())).toEqual([]);
    });
  });
});

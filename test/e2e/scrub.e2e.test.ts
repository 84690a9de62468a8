/**
 * The secondary scrub (ARCHITECTURE.md "Verify": secondary scrub): the real Scrub definition,
 * synthesized from CDK and run by the local runner, over chains built by the real Sync definition.
 * The scrub reads each retained stored version back against its digest-manifest digest and
 * records what differs as bad versions; the points holding one are suspect from then on.
 */
import type { RunStateMachineResult } from '../../local/stepfunctions/runner';
import type { ScrubReport, ScrubSegmentOutput } from '../../shared/engine/scrub';
import { chainView, corruptFrom, differences, firstOccurrences, outcomeOf, runJob, startE2eHarness, Workload, type EngineHarness, type SyncOutput } from './e2e-harness';

/** 1 GiB: one segment of 2,048 blocks, so one Map item per restore point. */
const VOLUME_GIB = 1;

/** A scrub with items to read, end to end: no JobFailed, one ScrubFinish. */
const SCRUB_PATH = ['ScrubBegin', 'ScrubSegment', 'ScrubFinish'];

/** A scrub with nothing to read (a read-back right after another scrub): the Map runs no item. */
const EMPTY_SCRUB_PATH = ['ScrubBegin', 'ScrubFinish'];

/** Five minutes, the engine's lease TTL: long enough to outlive the busy ScrubFinish attempt. */
const OTHER_LEASE_TTL_MS = 300_000;

describe('Scrub state machine (local runner)', () => {
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

  /** Runs the Scrub machine, collecting what each ScrubSegment item answered. */
  async function scrub(volumeId: string, input: Record<string, unknown> = {}, beforeTask?: (stateName: string, invocation: number) => Promise<void>): Promise<{
    run: RunStateMachineResult; report: ScrubReport; segments: ScrubSegmentOutput[];
  }> {
    const segments: ScrubSegmentOutput[] = [];
    const run = await runJob(harness, 'Scrub', { volumeId, ...input }, {
      beforeTask,
      afterTask: (stateName, result) => {
        if (stateName === 'ScrubSegment') segments.push(result as ScrubSegmentOutput);
      },
    });
    return { run, report: run.output as ScrubReport, segments };
  }

  const readOf = (segments: readonly ScrubSegmentOutput[]): number => segments.reduce((sum, segment) => sum + segment.read, 0);

  /**
   * ```
   *  block:        0  1  2  3      D_n
   *  S_0 baseline: a  b  c  .      {0,1,2}
   *  S_1 sync:     ·  d  ·  e      {1,3}
   *  full scrub:   3 + 2 = 5 stored versions read, every digest matches
   *  read-back:    nothing new ── S_2 sync: · · f · {2} ── read-back: 1 stored version (2 of S_2)
   * ```
   */
  describe('a healthy lineage', () => {
    it('reads every retained stored version once on the happy path, then a read-back reads only what was committed since', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [1, 2], [2, 3]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 4], [3, 5]]));
      await syncOk(workload);
      const chainBefore = await chainView(harness, workload.volumeId);

      // Act
      const full = await scrub(workload.volumeId);
      const chainAfterFull = await chainView(harness, workload.volumeId);
      const nothingNew = await scrub(workload.volumeId, { scope: 'new' });
      await workload.write(new Map([[2, 6]]));
      await syncOk(workload);
      const readBack = await scrub(workload.volumeId, { scope: 'new' });

      // Assess: the full scrub, one Map item per restore point (one segment each), nothing failed
      expect(outcomeOf(full.run)).toEqual({ status: 'SUCCEEDED' });
      expect(firstOccurrences(full.run.history)).toEqual(SCRUB_PATH);
      expect(full.run.history.filter((state) => state === 'ScrubSegment')).toHaveLength(2);
      expect(full.run.tasks).not.toContain('JobFailed');
      expect(full.report).toEqual({
        volumeId: workload.volumeId, runId: full.run.runId, scope: 'all', throughSeq: 1, pointsRead: 2, badVersions: 0, suspectPoints: [], prunedMeanwhile: [],
      });
      expect(readOf(full.segments)).toBe(3 + 2);
      expect(full.segments.map(({ seq, bad, structural, unchecked }) => ({ seq, bad, structural, unchecked })).sort((a, b) => a.seq - b.seq)).toEqual([
        { seq: 0, bad: 0, structural: 0, unchecked: 0 },
        { seq: 1, bad: 0, structural: 0, unchecked: 0 },
      ]);
      expect(chainAfterFull).toEqual(chainBefore);

      // Assess: the read-backs
      expect(outcomeOf(nothingNew.run)).toEqual({ status: 'SUCCEEDED' });
      expect(nothingNew.run.history).toEqual(EMPTY_SCRUB_PATH);
      expect(nothingNew.report).toMatchObject({ scope: 'new', throughSeq: 1, pointsRead: 0, badVersions: 0, suspectPoints: [] });
      expect(outcomeOf(readBack.run)).toEqual({ status: 'SUCCEEDED' });
      expect(readBack.run.history).toEqual(SCRUB_PATH);
      expect(readBack.report).toMatchObject({ scope: 'new', throughSeq: 2, pointsRead: 1, badVersions: 0 });
      expect(readBack.segments.map(({ seq, read }) => ({ seq, read }))).toEqual([{ seq: 2, read: 1 }]);
      const records = await harness.context.store.listJobRecords(workload.volumeId);
      expect(records.find((record) => record.runId === readBack.run.runId)).toMatchObject({ job: 'scrub', status: 'succeeded', summary: { scope: 'new', throughSeq: 2 } });
    });
  });

  /**
   * The baseline's stored copy of block 1 is damaged at rest (`x`), shared by S_1; the host then
   * rewrites block 1, so the head no longer holds it and a verify (primary vs head) sees nothing:
   *
   * ```
   *  block:        0  1  2  3      D_n        holds bad
   *  S_0 baseline: a  b  c  .      {0,1,2}    1x
   *  S_1 sync:     ·  ·  ·  d      {3}        1x
   *  S_2 sync:     ·  e  ·  ·      {1}        —
   *  scrub: (0, 1) is a bad version ─► points 0 and 1 suspect (1 bad each), 2 trusted
   * ```
   */
  describe('damage at rest no verify can see', () => {
    it('records the bad version and marks exactly the points whose images hold it', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 11], [1, 12], [2, 13]]));
      await syncOk(workload);
      await workload.write(new Map([[3, 14]]));
      await syncOk(workload);
      expect(await corruptFrom(harness, workload.volumeId, 0, [1])).toEqual([0, 1]);
      await workload.write(new Map([[1, 15]]));
      await syncOk(workload);
      const verify = await runJob(harness, 'Verify', { volumeId: workload.volumeId });
      expect(outcomeOf(verify)).toEqual({ status: 'SUCCEEDED' });
      expect(verify.output).toMatchObject({ outcome: 'clean', mismatches: 0 });

      // Act
      const { run, report, segments } = await scrub(workload.volumeId);

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(firstOccurrences(run.history)).toEqual(SCRUB_PATH);
      expect(report).toMatchObject({ scope: 'all', throughSeq: 2, pointsRead: 3, badVersions: 1, suspectPoints: [{ seq: 0, suspectBlocks: 1 }, { seq: 1, suspectBlocks: 1 }] });
      expect(segments.map(({ seq, read, bad }) => ({ seq, read, bad })).sort((a, b) => a.seq - b.seq)).toEqual([
        { seq: 0, read: 3, bad: 1 }, { seq: 1, read: 1, bad: 0 }, { seq: 2, read: 1, bad: 0 },
      ]);
      expect([...(await harness.context.store.readBadVersions(workload.volumeId))].map(([writer, blocks]) => [writer, blocks.toArray()])).toEqual([[0, [1]]]);
      expect((await chainView(harness, workload.volumeId)).map(({ seq, trust, suspectBlocks }) => ({ seq, trust, suspectBlocks }))).toEqual([
        { seq: 0, trust: 'suspect', suspectBlocks: 1 },
        { seq: 1, trust: 'suspect', suspectBlocks: 1 },
        { seq: 2, trust: 'trusted', suspectBlocks: 0 },
      ]);
    });
  });

  /**
   * Damage the head holds becomes the pending repair; the next scheduled sync carries it:
   *
   * ```
   *  block:        0  1  5      D_n        holds bad
   *  S_0 baseline: a  b  c      {0,1,5}    5x
   *  S_1 sync:     ·  d  ·      {1}        5x      (head)
   *  scrub ─► (0, 5) bad ─► Sync (nothing written) ─► S_2 fixup {5}: trusted, equal to the primary
   * ```
   */
  describe('damage the head holds', () => {
    it('is repaired by the next run of the Sync machine as a fix-up restore point', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 21], [1, 22], [5, 23]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 24]]));
      await syncOk(workload);
      expect(await corruptFrom(harness, workload.volumeId, 0, [5])).toEqual([0, 1]);
      const { run, report } = await scrub(workload.volumeId);
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(report.suspectPoints).toEqual([{ seq: 0, suspectBlocks: 1 }, { seq: 1, suspectBlocks: 1 }]);

      // Act
      const repaired = await syncOk(workload);

      // Assess
      expect(repaired).toMatchObject({ seq: 2, kind: 'fixup', blocks: 1 });
      const chain = await chainView(harness, workload.volumeId);
      expect(chain.map(({ seq, kind, trust, blocks }) => ({ seq, kind, trust, blocks }))).toEqual([
        { seq: 0, kind: 'baseline', trust: 'suspect', blocks: [0, 1, 5] },
        { seq: 1, kind: 'sync', trust: 'suspect', blocks: [1] },
        { seq: 2, kind: 'fixup', trust: 'trusted', blocks: [5] },
      ]);
      expect(differences(await harness.readImage(repaired.secondarySnapshotId), await workload.volumeImage())).toEqual([]);
    });
  });

  describe('the volume lease', () => {
    it('retries ScrubFinish while another run holds the lease (VolumeBusyError), then records the scrub', async () => {
      // Prepare: a sync-like holder takes the lease just before the first ScrubFinish, and lets go before the retry.
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 31], [1, 32]]));
      await syncOk(workload);
      const store = harness.context.store;
      let other: { fencingToken: number } | undefined;
      const holdThenRelease = async (stateName: string): Promise<void> => {
        if (stateName !== 'ScrubFinish') return;
        if (other === undefined) {
          other = await store.acquireLease(workload.volumeId, { holder: 'sync-elsewhere', runId: 'sync-elsewhere', ttlMs: OTHER_LEASE_TTL_MS, now: harness.timer.now() });
        } else {
          await store.releaseLease(workload.volumeId, other);
        }
      };

      // Act
      const { run, report } = await scrub(workload.volumeId, {}, holdThenRelease);

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(run.history).toEqual(['ScrubBegin', 'ScrubSegment', 'ScrubFinish', 'ScrubFinish']);
      expect(report).toMatchObject({ pointsRead: 1, badVersions: 0 });
      const volume = await store.getVolume(workload.volumeId);
      expect(volume.lease === undefined || volume.lease.expiresAt <= harness.timer.now()).toBe(true);
    });
  });

  describe('failure', () => {
    it('fails through JobFailed (job scrub) with the engine’s error when the volume has no restore point yet', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);

      // Act
      const { run } = await scrub(workload.volumeId);

      // Assess
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('NothingToVerifyError');
      expect(run.history).toEqual(['ScrubBegin', 'JobFailed']);
      const records = await harness.context.store.listJobRecords(workload.volumeId);
      expect(records.find((record) => record.runId === run.runId)).toMatchObject({ job: 'scrub', status: 'failed', errorName: 'NothingToVerifyError' });
    });

    it('refuses a scope the engine does not know with InvalidTaskInputError, through JobFailed', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 41]]));
      await syncOk(workload);

      // Act
      const { run } = await scrub(workload.volumeId, { scope: 'everything' });

      // Assess
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('InvalidTaskInputError');
      expect(run.cause).toContain('scope');
      expect(run.history).toEqual(['ScrubBegin', 'JobFailed']);
    });
  });
});

/**
 * Scenarios 6–8 (claims 5–6, 17–18: the dirty region log): the real Sync and Verify definitions,
 * synthesized from CDK and run by the local runner, with crashes injected at task boundaries and
 * in the middle of a copy, and with two executions on one volume at once.
 */
import { InjectedCrashError, type RunStateMachineResult } from '../../local/stepfunctions/runner';
import { DEFAULT_LEASE_TTL_MS, type EngineContext } from '../../shared/engine/context';
import { SnapshotNotFoundError } from '../../shared/core/ports/errors';
import { chainView, differences, firstOccurrences, outcomeOf, runJob, startE2eHarness, Workload, type EngineHarness, type SyncOutput } from './e2e-harness';

const VOLUME_GIB = 1;

/** A verify that found nothing (the quick one included). */
const CLEAN_PATH = ['VerifyBegin', 'SnapshotStatus.Verify', 'VerifyPlan', 'VerifyScanSegment', 'VerifyFinishScan', 'VerifyReport'];

/** Blocks a CopySegment writes before the injected mid-copy crash. */
const PUTS_BEFORE_CRASH = 3;

/** Makes the task of `stateName` die before its engine call, as a crashed Lambda whose retries ran out. */
function crashBefore(stateName: string): (state: string) => Promise<void> {
  return async (state) => {
    if (state === stateName) throw new InjectedCrashError(`injected crash before ${stateName}`);
  };
}

describe('Sync recovery and exclusion (local runner)', () => {
  let harness: EngineHarness;

  beforeAll(async () => {
    harness = await startE2eHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  async function syncOk(workload: Workload, options = {}): Promise<SyncOutput> {
    const run = await workload.sync(options);
    expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
    return run.output as SyncOutput;
  }

  /** The head restore point's secondary image equals the primary volume now. */
  async function expectHeadEqualsPrimary(workload: Workload): Promise<void> {
    const volume = await harness.context.store.getVolume(workload.volumeId);
    const head = await harness.context.store.getEntry(workload.volumeId, volume.headSeq ?? -1);
    expect(differences(await harness.readImage(head.secondarySnapshotId), await workload.volumeImage())).toEqual([]);
  }

  /**
   * A sync dies after CompleteSnapshot, before SyncCommit: `S_2` is completed but not committed,
   * its DRL live.
   *
   * ```
   *  block:      0  1  2  3  4  5  6
   *  S_0 base:   a  b  c  d  .  .  .     {0,1,2,3}
   *  S_1 sync:   ·  e  ·  ·  f  .  .     {1,4}          = D_head
   *  crashed:    ·  ·  g  ·  ·  h  .     DRL {2,5}, S_2 completed, not committed
   *  quick verify: (D_head ∪ DRL) − D0 = {1,4,2,5} − {2,5} = {1,4}: 2 blocks, 4 reads
   *  next sync:  adopt S_2 (P_2 = S_2 on the DRL's blocks) or, if S_2 differs there, discard it;
   *              then sync {6}
   * ```
   */
  describe('quick verify and recovery after a crash between CompleteSnapshot and commit (scenario 6; claims 5–6, 17–18)', () => {
    async function crashedBeforeCommit(): Promise<{ workload: Workload; orphanId: string; crashed: RunStateMachineResult }> {
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [1, 2], [2, 3], [3, 4]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 5], [4, 6]]));
      await syncOk(workload);
      await workload.write(new Map([[2, 7], [5, 8]]));
      const crashed = await workload.sync({ beforeTask: crashBefore('SyncCommit') });
      const drl = await harness.context.store.readDirtyRegionLog(workload.volumeId);
      return { workload, orphanId: drl?.secondarySnapshotId ?? 'none', crashed };
    }

    it('compares only the dirty regions, then the next sync adopts the completed orphan', async () => {
      // Prepare
      const { workload, orphanId, crashed } = await crashedBeforeCommit();
      const drl = await harness.context.store.readDirtyRegionLog(workload.volumeId);
      harness.emulator.stats.reset();

      // Act
      const quick = await runJob(harness, 'Verify', { volumeId: workload.volumeId, quick: true });
      const reads = harness.emulator.stats.calls.GetSnapshotBlock ?? 0;
      await workload.write(new Map([[6, 9]]));
      const recovered = await syncOk(workload);

      // Assess
      expect({ status: crashed.status, error: crashed.error, last: crashed.history.at(-1) }).toEqual({ status: 'FAILED', error: 'InjectedCrashError', last: 'JobFailed' });
      expect({ seq: drl?.seq, kind: drl?.kind, blocks: drl?.deltaMap.toArray() }).toEqual({ seq: 2, kind: 'sync', blocks: [2, 5] });
      expect((await harness.context.secondary.waiter.status(orphanId)).state).toBe('completed');
      expect(outcomeOf(quick)).toEqual({ status: 'SUCCEEDED' });
      expect(firstOccurrences(quick.history)).toEqual(CLEAN_PATH);
      expect(quick.output).toMatchObject({ quick: true, outcome: 'clean', headSeqAtT0: 1, blocksScanned: 2, pendingBlocks: 2, mismatches: 0, suspectPoints: [] });
      expect(reads).toBe(4);
      const chain = await chainView(harness, workload.volumeId);
      expect(chain.map(({ seq, kind, blocks }) => ({ seq, kind, blocks }))).toEqual([
        { seq: 0, kind: 'baseline', blocks: [0, 1, 2, 3] },
        { seq: 1, kind: 'sync', blocks: [1, 4] },
        { seq: 2, kind: 'sync', blocks: [2, 5] },
        { seq: 3, kind: 'sync', blocks: [6] },
      ]);
      expect((await harness.context.store.getEntry(workload.volumeId, 2)).secondarySnapshotId).toBe(orphanId);
      expect(recovered.seq).toBe(3);
      expect(await harness.context.store.readDirtyRegionLog(workload.volumeId)).toBeUndefined();
      await expectHeadEqualsPrimary(workload);
    });

    it('ends a sync that adopts the orphan and then finds nothing new with the adopted commit, not as unchanged', async () => {
      // Prepare: no write after the crash, so the recovering run's own plan is empty
      const { workload, orphanId } = await crashedBeforeCommit();

      // Act
      const run = await workload.sync();

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(run.output).toEqual({
        volumeId: workload.volumeId, seq: 2, kind: 'sync', blocks: 2, volumeSize: VOLUME_GIB,
        primarySnapshotId: expect.stringMatching(/^snap-/), secondarySnapshotId: orphanId, deletedPrimarySnapshotIds: [],
      });
      expect((await chainView(harness, workload.volumeId)).map((entry) => entry.seq)).toEqual([0, 1, 2]);
      await expectHeadEqualsPrimary(workload);
    });

    it('discards a completed orphan that differs from its primary snapshot on the DRL, and redoes the step', async () => {
      // Prepare: the orphan's copy of block 5 goes bad before anyone commits it
      const { workload, orphanId } = await crashedBeforeCommit();
      await harness.emulator.store.corruptBlock(orphanId, 5);

      // Act
      const recovered = await syncOk(workload);

      // Assess
      await expect(harness.context.secondary.waiter.status(orphanId)).rejects.toBeInstanceOf(SnapshotNotFoundError);
      expect(recovered).toMatchObject({ seq: 2, kind: 'sync', blocks: 2 });
      expect(recovered.secondarySnapshotId).not.toBe(orphanId);
      expect((await chainView(harness, workload.volumeId)).map((entry) => entry.blocks)).toEqual([[0, 1, 2, 3], [1, 4], [2, 5]]);
      await expectHeadEqualsPrimary(workload);
    });
  });

  /**
   * For every task invocation `t` of a sync and each side of its engine call:
   *
   * ```
   *  write {100+i} ─► Sync ✗ at t (before | after) ─► Sync ✓ ─► S_head = primary, nothing lost
   * ```
   */
  describe('a crash at every task boundary, then the next run (scenario 7; claims 5–6)', () => {
    it('loses no change whichever task dies, before or after its engine call', async () => {
      // Prepare: a reference run gives the number of task invocations of one sync
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [1, 2]]));
      await syncOk(workload);
      await workload.write(new Map([[2, 3]]));
      const reference = await workload.sync();
      const boundaries = reference.tasks.length;
      const outcomes: Array<{ at: number; when: string; state?: string; crashed: string; next: string; differ: number[] }> = [];

      // Act
      let seed = 10;
      for (let at = 1; at <= boundaries; at++) {
        for (const when of ['before', 'after'] as const) {
          seed += 1;
          await workload.write(new Map([[100 + seed, seed], [seed % 2, seed]]));
          const crashed = await workload.sync({ crash: { atTask: at, when } });
          const next = await workload.sync();
          const volume = await harness.context.store.getVolume(workload.volumeId);
          const head = await harness.context.store.getEntry(workload.volumeId, volume.headSeq ?? -1);
          outcomes.push({
            at,
            when,
            state: crashed.crashed?.stateName,
            crashed: crashed.status,
            next: next.status,
            differ: differences(await harness.readImage(head.secondarySnapshotId), await workload.volumeImage()),
          });
        }
      }

      // Assess
      expect(outcomeOf(reference)).toEqual({ status: 'SUCCEEDED' });
      expect(boundaries).toBeGreaterThanOrEqual(7);
      for (const outcome of outcomes) {
        expect(outcome).toEqual({ at: outcome.at, when: outcome.when, state: expect.any(String), crashed: 'FAILED', next: 'SUCCEEDED', differ: [] });
      }
      expect(new Set(outcomes.map((outcome) => outcome.state))).toEqual(new Set(reference.history));
      const chain = await chainView(harness, workload.volumeId);
      expect(chain.every((entry) => entry.trust === 'trusted')).toBe(true);
      expect(await harness.context.store.readDirtyRegionLog(workload.volumeId)).toBeUndefined();
    });

    it('resumes a copy that died in the middle into the same pending snapshot, then syncs on', async () => {
      // Prepare: the first CopySegment dies after writing a few blocks
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1]]));
      await syncOk(workload);
      await workload.write(new Map(Array.from({ length: 8 }, (_, block) => [10 + block, 20 + block] as [number, number])));
      let puts = 0;
      const writer = harness.context.secondary.writer;
      const dying: EngineContext = {
        ...harness.context,
        secondary: {
          ...harness.context.secondary,
          writer: {
            startSnapshot: (request) => writer.startSnapshot(request),
            completeSnapshot: (snapshotId, written) => writer.completeSnapshot(snapshotId, written),
            putZeroBlock: (snapshotId, blockIndex) => writer.putZeroBlock(snapshotId, blockIndex),
            putBlock: async (snapshotId, blockIndex, data) => {
              puts += 1;
              if (puts > PUTS_BEFORE_CRASH) throw new InjectedCrashError(`injected crash in the middle of the copy, at block ${blockIndex}`);
              return writer.putBlock(snapshotId, blockIndex, data);
            },
          },
        },
      };
      const crashed = await workload.sync({ context: dying });
      const pending = await harness.context.store.readDirtyRegionLog(workload.volumeId);
      await workload.write(new Map([[30, 40]]));

      // Act
      const resumed = await workload.sync();

      // Assess
      expect({ status: crashed.status, last: crashed.history.at(-1) }).toEqual({ status: 'FAILED', last: 'JobFailed' });
      expect(pending?.secondarySnapshotId).toEqual(expect.any(String));
      expect(outcomeOf(resumed)).toEqual({ status: 'SUCCEEDED' });
      expect(resumed.history.filter((state) => state === 'SyncBegin')).toHaveLength(2);
      expect(resumed.history.filter((state) => state === 'SyncCommit')).toHaveLength(2);
      const chain = await chainView(harness, workload.volumeId);
      expect(chain.map(({ seq, blocks }) => ({ seq, blocks }))).toEqual([
        { seq: 0, blocks: [0] },
        { seq: 1, blocks: [10, 11, 12, 13, 14, 15, 16, 17] },
        { seq: 2, blocks: [30] },
      ]);
      expect((await harness.context.store.getEntry(workload.volumeId, 1)).secondarySnapshotId).toBe(pending?.secondarySnapshotId);
      await expectHeadEqualsPrimary(workload);
    });

    it('recovers from an execution lost mid-run (lease held) once the lease expires', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 2]]));
      const lost = await workload.sync({ crash: { atTask: 4, when: 'after', mode: 'abort' } });
      const blocked = await workload.sync();
      harness.timer.advance(DEFAULT_LEASE_TTL_MS + 1);
      await workload.write(new Map([[2, 3]]));

      // Act
      const recovered = await workload.sync();

      // Assess
      expect({ status: lost.status, crashed: lost.crashed?.stateName }).toEqual({ status: 'ABORTED', crashed: 'CopySegment' });
      expect(lost.tasks).not.toContain('JobFailed');
      // The lost run's pending copy is resumed and committed first, then the scheduled sync runs.
      expect(recovered.history.filter((state) => state === 'SyncCommit')).toHaveLength(2);
      // A scheduled sync that finds the lease held ends skipped, not failed (no alarm while the lost run's lease lives).
      expect({ status: blocked.status, output: blocked.output }).toEqual({ status: 'SUCCEEDED', output: { skipped: 'busy', holder: lost.runId, runId: lost.runId } });
      expect(outcomeOf(recovered)).toEqual({ status: 'SUCCEEDED' });
      expect((await chainView(harness, workload.volumeId)).map((entry) => entry.blocks)).toEqual([[0], [1], [2]]);
      await expectHeadEqualsPrimary(workload);
    });
  });

  /**
   * ```
   *  Sync A: SyncBegin (lease) ─► SnapshotStatus ─► SyncPlan ─────────────────────► … SyncCommit ✓
   *                                                   │ meanwhile
   *  Sync B: SyncBegin ✗ VolumeBusyError ─► skipped { busy, holder: A } ─► succeeded (no alarm, A's lease untouched)
   *  Restore: RestoreBegin ✗ VolumeBusyError ─► JobFailed ─► failed (a person asked for it: say why)
   * ```
   */
  describe('two executions on one volume at once (scenario 8)', () => {
    it('lets the lease holder proceed, skips the other sync and fails the restore clearly, without touching its lease', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [1, 2]]));
      await syncOk(workload);
      await workload.write(new Map([[1, 3], [2, 4]]));
      const others: RunStateMachineResult[] = [];
      const startOthers = async (state: string): Promise<void> => {
        if (state !== 'SyncPlan' || others.length > 0) return;
        others.push(await runJob(harness, 'Sync', { volumeId: workload.volumeId }));
        others.push(await runJob(harness, 'Restore', { volumeId: workload.volumeId, seq: 0 }));
      };

      // Act
      const holder = await workload.sync({ beforeTask: startOthers });

      // Assess
      expect(outcomeOf(holder)).toEqual({ status: 'SUCCEEDED' });
      const [sync, restore] = others;
      expect({ status: sync?.status, output: sync?.output, tasks: sync?.tasks }).toEqual({
        status: 'SUCCEEDED', output: { skipped: 'busy', holder: holder.runId, runId: holder.runId }, tasks: ['SyncBegin'],
      });
      expect({ status: restore?.status, error: restore?.error, last: restore?.history.at(-1) }).toEqual({ status: 'FAILED', error: 'VolumeBusyError', last: 'JobFailed' });
      expect(JSON.parse(restore?.cause ?? '{}')).toMatchObject({ errorMessage: expect.stringMatching(new RegExp(`is busy: run ${holder.runId} .*holds its lease.*retry`)) });
      expect((await chainView(harness, workload.volumeId)).map((entry) => entry.blocks)).toEqual([[0, 1], [1, 2]]);
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
      await expectHeadEqualsPrimary(workload);
    });

    it('commits exactly one sync when two are started together; the other ends skipped as busy', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1]]));
      await syncOk(workload);
      await workload.write(new Map([[3, 2]]));

      // Act
      const runs = await Promise.all([workload.sync(), workload.sync()]);

      // Assess
      const committed = runs.filter((run) => (run.output as Partial<SyncOutput> | undefined)?.seq !== undefined);
      const skipped = runs.filter((run) => (run.output as { skipped?: string } | undefined)?.skipped !== undefined);
      expect(runs.map((run) => run.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      expect(committed.map((run) => run.output)).toEqual([expect.objectContaining({ seq: 1, kind: 'sync', blocks: 1 })]);
      expect(skipped.map((run) => run.output)).toEqual([{ skipped: 'busy', holder: committed[0]?.runId, runId: committed[0]?.runId }]);
      expect(skipped[0]?.tasks).toEqual(['SyncBegin']);
      expect((await chainView(harness, workload.volumeId)).map((entry) => entry.blocks)).toEqual([[0], [3]]);
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
      await expectHeadEqualsPrimary(workload);
    });
  });
});

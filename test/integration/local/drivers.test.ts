/**
 * The local job drivers against the local cloud: the parts of the state machines they model
 * beyond a plain run (the SyncRecovered loop, crash injection into the Catch, the bounded
 * Wait/Choice loops, the Prune task).
 *
 * ```
 *  run A:  Begin ─ WaitP ─ Plan ✗ (dies: S_1 pending, DRL live)
 *  run B:  Begin(recover) ─ … ─ Commit seq 1 ─► SyncRecovered ─► Begin ─ … ─ Commit seq 2 (the later writes)
 * ```
 */
import { SnapshotWaitTimeoutError } from '../../../shared/core/ports/errors';
import type { SnapshotWaiter } from '../../../shared/core/ports/snapshots';
import { DEFAULT_LEASE_TTL_MS, type EngineContext } from '../../../shared/engine/context';
import { drivePrune, driveSync, InjectedCrashError, nextRunId } from '../../../local/drivers';
import { startEngineHarness, type EngineHarness } from '../engine/engine-harness';

/** A waiter whose snapshots never complete: a wait that must give up. */
function neverCompletes(inner: SnapshotWaiter): SnapshotWaiter {
  return {
    status: async (snapshotId) => ({ ...(await inner.status(snapshotId)), state: 'pending' }),
    waitUntilCompleted: (snapshotId) => inner.waitUntilCompleted(snapshotId),
  };
}

describe('local job drivers', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });

  afterAll(async () => {
    await h.stop();
  });

  /** A protected 1 GiB volume with blocks 0–2 written and its baseline (seq 0) committed. */
  async function protectedVolume(): Promise<string> {
    const volumeId = await h.createPrimaryVolume(1);
    await h.protect(volumeId, 1);
    await h.writeBlocks(volumeId, new Map([[0, 1], [1, 2], [2, 3]]));
    await driveSync(h.context, volumeId, nextRunId());
    return volumeId;
  }

  describe('driveSync', () => {
    it('follows the SyncRecovered loop: resumes the crashed run, commits it, then syncs the later writes', async () => {
      // Prepare
      const volumeId = await protectedVolume();
      await h.writeBlocks(volumeId, new Map([[1, 10], [4, 11]]));
      const crashed = await driveSync(h.context, volumeId, nextRunId('crashed'), { stopAfter: 'SyncPlan' });
      await h.writeBlocks(volumeId, new Map([[5, 12]]));
      h.timer.advance(DEFAULT_LEASE_TTL_MS + 1);

      // Act
      const run = await driveSync(h.context, volumeId, nextRunId('next'));

      // Assess
      expect(crashed.stoppedAfter).toBe('SyncPlan');
      expect(run.passes.map((pass) => [pass.begun.action, pass.summary?.seq, pass.summary?.blocks])).toEqual([
        ['recover', 1, 2],
        ['sync', 2, 1],
      ]);
      expect(run.passes[0].summary?.secondarySnapshotId).toBe(crashed.plan?.secondarySnapshotId);
      expect(run.summary).toEqual(run.passes[1].summary);
      expect((await h.context.store.getVolume(volumeId)).headSeq).toBe(2);
    });

    it('runs the Catch on an injected crash: JobFailed records it and frees the lease', async () => {
      // Prepare
      const volumeId = await protectedVolume();
      await h.writeBlocks(volumeId, new Map([[3, 20]]));
      const runId = nextRunId('crash');

      // Act
      const failing = driveSync(h.context, volumeId, runId, { crash: { step: 'CompleteSnapshot', when: 'before' } });

      // Assess
      await expect(failing).rejects.toBeInstanceOf(InjectedCrashError);
      const record = (await h.context.store.listJobRecords(volumeId)).find((job) => job.runId === runId);
      expect(record).toMatchObject({ job: 'sync', status: 'failed', errorName: 'InjectedCrashError' });
      expect((await h.context.store.getVolume(volumeId)).lease).toBeUndefined();
    });

    it('gives up a snapshot wait after maxPolls with SnapshotWaitTimeoutError, through the Catch', async () => {
      // Prepare
      const volumeId = await protectedVolume();
      await h.writeBlocks(volumeId, new Map([[3, 30]]));
      const stuck: EngineContext = { ...h.context, secondary: { ...h.context.secondary, waiter: neverCompletes(h.context.secondary.waiter) } };
      const runId = nextRunId('stuck');

      // Act
      const waiting = driveSync(stuck, volumeId, runId, { maxPolls: 3, pollIntervalMs: 1 });

      // Assess
      await expect(waiting).rejects.toBeInstanceOf(SnapshotWaitTimeoutError);
      const record = (await h.context.store.listJobRecords(volumeId)).find((job) => job.runId === runId);
      expect(record).toMatchObject({ status: 'failed', errorName: 'SnapshotWaitTimeoutError' });
    });
  });

  describe('drivePrune', () => {
    it('prunes exactly the restore points asked for', async () => {
      // Prepare
      const volumeId = await protectedVolume();
      await h.writeBlocks(volumeId, new Map([[3, 40]]));
      await driveSync(h.context, volumeId, nextRunId());
      await h.writeBlocks(volumeId, new Map([[4, 41]]));
      await driveSync(h.context, volumeId, nextRunId());

      // Act
      const { pruned } = await drivePrune(h.context, volumeId, undefined, { seqs: [1] });

      // Assess
      expect(pruned).toMatchObject({ pruned: [1], remaining: [0, 2] });
    });
  });
});

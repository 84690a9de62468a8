/**
 * A sync whose `D` is empty makes no restore point: SyncPlan answers `skipped: 'unchanged'`,
 * releases the lease and deletes `P_now`; `P_head` stays the base of the next ListChangedBlocks.
 * Not for the baseline (an empty volume still gets one), a fix-up, or a volume that grew.
 *
 * ```
 * blocks      0  1  2
 * baseline    a  b  .        point 0 {0,1}
 * sync        (nothing)      skipped: no point, P_now deleted, lease free
 * sync        ·  ·  c        point 1 {2}: changes(P_0 → P_now), as if the skip never happened
 * ```
 */
import type { ChainStore } from '../../../shared/core/ports/chain-store';
import type { EngineContext } from '../../../shared/engine/context';
import { syncBegin, syncPlan, type SyncPlanOutput } from '../../../shared/engine/sync';
import { snapshotStatus } from '../../../shared/engine/tasks';
import { PURPOSE_TAG, SYNC_PRIMARY_PURPOSE, VOLUME_ID_TAG } from '../../../shared/core/tags';
import { startEngineHarness, type EngineHarness } from './engine-harness';
import { driveSync, nextRunId } from '../../../local/drivers';

/** Polls of P_now before giving up (the emulator completes snapshots at once). */
const MAX_STATUS_POLLS = 50;

describe('Sync job', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });

  afterAll(async () => {
    await h.stop();
  });

  /** SyncBegin, the wait for P_now, and SyncPlan: where an unchanged sync ends. */
  async function beginAndPlan(ctx: EngineContext, volumeId: string, runId: string, extraFromRun?: string): Promise<SyncPlanOutput> {
    const begun = await syncBegin(ctx, { volumeId, runId });
    for (let poll = 0; poll < MAX_STATUS_POLLS; poll++) {
      if ((await snapshotStatus(ctx, { volumeId, runId, snapshotId: begun.primarySnapshotId, side: 'primary' })).status === 'COMPLETED') break;
    }
    return syncPlan(ctx, {
      volumeId, runId, fencingToken: begun.fencingToken, primarySnapshotId: begun.primarySnapshotId, pointInTime: begun.pointInTime, extraFromRun,
    });
  }

  async function primarySnapshotsOf(volumeId: string): Promise<string[]> {
    const owned = await h.context.primary.lookup.findOwned([{ key: VOLUME_ID_TAG, value: volumeId }, { key: PURPOSE_TAG, value: SYNC_PRIMARY_PURPOSE }]);
    return owned.map((snapshot) => snapshot.snapshotId);
  }

  async function chainOf(volumeId: string): Promise<Array<[number, string, number[]]>> {
    const chain: Array<[number, string, number[]]> = [];
    for await (const entry of h.context.store.readChain(volumeId, { includePending: true })) chain.push([entry.seq, entry.kind, entry.deltaMap.toArray()]);
    return chain;
  }

  /** A 1 GiB volume with blocks 0 and 1 written and its baseline committed. */
  async function volumeAtBaseline(): Promise<{ volumeId: string; base: string }> {
    const volumeId = await h.createPrimaryVolume(1);
    await h.protect(volumeId, 1);
    await h.writeBlocks(volumeId, new Map([[0, 1], [1, 2]]));
    const baseline = await driveSync(h.context, volumeId, nextRunId());
    return { volumeId, base: baseline.summary?.primarySnapshotId ?? '' };
  }

  describe('syncPlan of an unchanged volume', () => {
    it('makes no restore point, deletes P_now, frees the lease, and the next sync copies exactly what changed since the head', async () => {
      // Prepare
      const { volumeId, base } = await volumeAtBaseline();
      const runId = nextRunId();

      // Act
      const plan = await beginAndPlan(h.context, volumeId, runId);
      const afterSkip = { volume: await h.context.store.getVolume(volumeId), primaries: await primarySnapshotsOf(volumeId), chain: await chainOf(volumeId) };
      await h.writeBlocks(volumeId, new Map([[2, 3]]));
      const next = await driveSync(h.context, volumeId, nextRunId());

      // Assess
      expect(plan).toMatchObject({ skipped: 'unchanged', segments: [], blocks: 0, seq: 0 });
      expect(afterSkip.volume.lease).toBeUndefined();
      expect(afterSkip.volume.headSeq).toBe(0);
      expect(afterSkip.volume.basePrimarySnapshotId).toBe(base);
      expect(afterSkip.primaries).toEqual([base]);
      expect(afterSkip.chain).toEqual([[0, 'baseline', [0, 1]]]);
      const record = (await h.context.store.listJobRecords(volumeId)).find((each) => each.runId === runId);
      expect(record).toMatchObject({ status: 'succeeded', summary: { skipped: 'unchanged', headSeq: 0 } });
      expect(next.summary).toMatchObject({ seq: 1, kind: 'sync', blocks: 1 });
      expect(await chainOf(volumeId)).toEqual([[0, 'baseline', [0, 1]], [1, 'sync', [2]]]);
    });

    it('answers the same skip when SyncPlan runs again after it released the lease', async () => {
      // Prepare
      const { volumeId } = await volumeAtBaseline();
      const runId = nextRunId();
      const first = await beginAndPlan(h.context, volumeId, runId);

      // Act
      const again = await syncPlan(h.context, {
        volumeId, runId, fencingToken: first.fencingToken, primarySnapshotId: first.primarySnapshotId, pointInTime: new Date().toISOString(),
      });

      // Assess
      expect(again).toMatchObject({ skipped: 'unchanged', primarySnapshotId: first.primarySnapshotId, blocks: 0 });
      expect((await h.context.store.getVolume(volumeId)).lease).toBeUndefined();
    });

    it('finishes a skip that crashed after deleting P_now, before releasing the lease', async () => {
      // Prepare: the store's first releaseLease dies, as a Lambda killed between the two calls.
      const { volumeId } = await volumeAtBaseline();
      const runId = nextRunId();
      let releases = 0;
      const store = new Proxy(h.context.store, {
        get(target, property, receiver) {
          if (property === 'releaseLease') {
            return async (...args: Parameters<ChainStore['releaseLease']>) => {
              releases += 1;
              if (releases === 1) throw new Error('crashed before releasing the lease');
              return target.releaseLease(...args);
            };
          }
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const crashing: EngineContext = { ...h.context, store };
      const crash = await beginAndPlan(crashing, volumeId, runId).then(() => undefined, (error: unknown) => error);
      const held = (await h.context.store.getVolume(volumeId)).lease;
      const record = (await h.context.store.listJobRecords(volumeId)).find((each) => each.runId === runId);
      const pNow = String((record?.summary as { primarySnapshotId?: string } | undefined)?.primarySnapshotId);
      const primariesAfterCrash = await primarySnapshotsOf(volumeId);

      // Act: Step Functions retries SyncPlan with the same input.
      const retried = await syncPlan(h.context, {
        volumeId, runId, fencingToken: held?.fencingToken ?? -1, primarySnapshotId: pNow, pointInTime: new Date().toISOString(),
      });

      // Assess
      expect((crash as Error).message).toBe('crashed before releasing the lease');
      expect(held?.runId).toBe(runId);
      expect(pNow).toMatch(/^snap-/);
      expect(primariesAfterCrash).not.toContain(pNow);
      expect(retried).toMatchObject({ skipped: 'unchanged', blocks: 0, primarySnapshotId: pNow });
      expect((await h.context.store.getVolume(volumeId)).lease).toBeUndefined();
      expect(await chainOf(volumeId)).toEqual([[0, 'baseline', [0, 1]]]);
    });
  });

  describe('syncPlan that must not skip', () => {
    it('still commits the baseline of an empty volume', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);

      // Act
      const baseline = await driveSync(h.context, volumeId, nextRunId());

      // Assess
      expect(baseline.plan?.skipped).toBeUndefined();
      expect(baseline.summary).toMatchObject({ seq: 0, kind: 'baseline', blocks: 0 });
      expect(await chainOf(volumeId)).toEqual([[0, 'baseline', []]]);
    });

    it('still plans a fix-up whose fix-up map is empty', async () => {
      // Prepare
      const { volumeId } = await volumeAtBaseline();

      // Act
      const plan = await beginAndPlan(h.context, volumeId, nextRunId('verify'), 'verify-without-mismatches');

      // Assess
      expect(plan.skipped).toBeUndefined();
      expect(plan).toMatchObject({ kind: 'fixup', seq: 1, blocks: 0 });
      expect(plan.secondarySnapshotId).toMatch(/^snap-/);
    });

    it('still makes a restore point for a volume that grew without a changed block', async () => {
      // Prepare
      const { volumeId } = await volumeAtBaseline();
      h.growVolume(volumeId, 2);

      // Act
      const grown = await driveSync(h.context, volumeId, nextRunId());

      // Assess
      expect(grown.plan?.skipped).toBeUndefined();
      expect(grown.summary).toMatchObject({ seq: 1, kind: 'sync', blocks: 0, volumeSize: 2 });
    });
  });
});

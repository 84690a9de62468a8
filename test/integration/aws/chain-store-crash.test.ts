/**
 * Crash injection: the k-th write of a store operation throws before it reaches DynamoDB, for
 * every k. A fresh store must then see the old state or the new one, never a mix, and
 * re-running the task that crashed (as Step Functions' Retry does) must converge to the new
 * state and leave no garbage behind.
 *
 *   sync of restore point 1 on a 2,048 GiB volume (64 segments), 30 segments changed:
 *
 *   task A  writeDirtyRegionLog   DRL shards (2 batches) ─► META.inFlight
 *   task B  commitEntry           MAP shards (2 batches) ─► ENTRY#1 ─► META.headSeq=1 ─► 30 DRL deletes
 *
 *   visible: before ──(A's META)──► logged (entry 1 pending) ──(B's META)──► committed
 */
import type { DynamoDbChainStore } from '../../../shared/aws/chain-store';
import type { ChainEntry } from '../../../shared/core/chain-entry';
import type { Fence } from '../../../shared/core/ports/chain-store';
import {
  blockPerSegment,
  collect,
  committedEntry,
  dirtyRegionLogOf,
  entryView,
  type Harness,
  SimulatedCrash,
  startHarness,
  uniqueVolumeId,
  WIDE_VOLUME_SIZE,
} from './chain-store-harness';

const TTL_MS = 600_000;

/** Segments of the wide volume the baseline touches. */
const BASELINE_SEGMENTS = 64;

/** Segments the sync touches: more than one BatchWriteItem of 25, so a crash can fall between them. */
const SYNC_SEGMENTS = 30;

const BATCH_WRITE_MAX_ITEMS = 25;

/** Writes of task A: the DRL shard batches, then META. */
const DRL_WRITES = Math.ceil(SYNC_SEGMENTS / BATCH_WRITE_MAX_ITEMS) + 1;

/** Writes of task B: the MAP shard batches, ENTRY, META, then one conditional delete per DRL shard. */
const COMMIT_WRITES = Math.ceil(SYNC_SEGMENTS / BATCH_WRITE_MAX_ITEMS) + 2 + SYNC_SEGMENTS;

const SYNC_WRITES = DRL_WRITES + COMMIT_WRITES;

/** Writes of a baseline commit without a DRL: shard batches, ENTRY, META. */
const BASELINE_WRITES = Math.ceil(BASELINE_SEGMENTS / BATCH_WRITE_MAX_ITEMS) + 2;

const baseline = committedEntry({ seq: 0, blocks: blockPerSegment(BASELINE_SEGMENTS), volumeSize: WIDE_VOLUME_SIZE });
const sync = committedEntry({ seq: 1, blocks: blockPerSegment(SYNC_SEGMENTS, 7), volumeSize: WIDE_VOLUME_SIZE });

type Task = (store: DynamoDbChainStore, volumeId: string, fence: Fence) => Promise<void>;

const syncTasks: Task[] = [
  (store, volumeId, fence) => store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(sync, 'sync-1'), fence),
  (store, volumeId, fence) => store.commitEntry(volumeId, sync, fence),
];

/** What a reader sees: head, base snapshot, the chain with the pending entry, and the DRL. */
async function visibleState(store: DynamoDbChainStore, volumeId: string): Promise<Record<string, unknown>> {
  const volume = await store.getVolume(volumeId);
  const chain = await collect(store.readChain(volumeId, { includePending: true }));
  const log = await store.readDirtyRegionLog(volumeId);
  return {
    headSeq: volume.headSeq ?? null,
    basePrimarySnapshotId: volume.basePrimarySnapshotId ?? null,
    chain: chain.map(entryView),
    dirtyRegionLog: log === undefined ? null : { runId: log.runId, seq: log.seq, blocks: log.deltaMap.toArray() },
  };
}

function pendingView(entry: ChainEntry): Record<string, unknown> {
  return { ...entryView(entry), status: 'pending', committedAt: undefined };
}

const BEFORE = {
  headSeq: 0, basePrimarySnapshotId: 'snap-p0', chain: [entryView(baseline)], dirtyRegionLog: null,
};
const LOGGED = {
  headSeq: 0,
  basePrimarySnapshotId: 'snap-p0',
  chain: [entryView(baseline), pendingView(sync)],
  dirtyRegionLog: { runId: 'sync-1', seq: 1, blocks: sync.deltaMap.toArray() },
};
const COMMITTED = {
  headSeq: 1, basePrimarySnapshotId: 'snap-p1', chain: [entryView(baseline), entryView(sync)], dirtyRegionLog: null,
};

/** States a reader may see after a crash in each task: the one before it or the one after. */
const ALLOWED_AFTER_CRASH_IN = [[BEFORE, LOGGED], [LOGGED, COMMITTED]];

function mapKeys(seq: number, segments: number): string[] {
  return Array.from({ length: segments }, (_, segment) =>
    `MAP#${String(seq).padStart(10, '0')}#${String(segment).padStart(4, '0')}`);
}

describe('DynamoDbChainStore', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  /** A wide volume, leased, with only the baseline committed. */
  async function volumeAtBaseline(label: string): Promise<{ volumeId: string; fence: Fence }> {
    const volumeId = uniqueVolumeId(label);
    await harness.store.protectVolume(volumeId, { volumeSize: WIDE_VOLUME_SIZE, config: {} });
    const fence = await harness.store.acquireLease(volumeId, { holder: 'exec', runId: 'sync-1', ttlMs: TTL_MS });
    await harness.store.commitEntry(volumeId, baseline, fence);
    return { volumeId, fence };
  }

  /** Runs `tasks` from `first` on, stopping at the first crash; returns the task that crashed. */
  async function runUntilCrash(tasks: Task[], store: DynamoDbChainStore, volumeId: string, fence: Fence): Promise<number | undefined> {
    for (const [index, task] of tasks.entries()) {
      try {
        await task(store, volumeId, fence);
      } catch (error) {
        if (error instanceof SimulatedCrash) return index;
        throw error;
      }
    }
    return undefined;
  }

  describe('a sync (writeDirtyRegionLog, then commitEntry)', () => {
    it(`makes exactly ${SYNC_WRITES} writes when nothing crashes`, async () => {
      // Prepare
      const { volumeId, fence } = await volumeAtBaseline('dry-run');
      const { store, writes } = harness.instrumentedStore();

      // Act
      const crashed = await runUntilCrash(syncTasks, store, volumeId, fence);

      // Assess
      expect(crashed).toBeUndefined();
      expect(writes()).toBe(SYNC_WRITES);
      expect(await visibleState(harness.store, volumeId)).toEqual(COMMITTED);
    });

    it.each(Array.from({ length: SYNC_WRITES }, (_, index) => index + 1))(
      'shows the old or the new state after a crash at write %i, and converges when the task is retried',
      async (crashAtWrite) => {
        // Prepare
        const { volumeId, fence } = await volumeAtBaseline(`crash-${crashAtWrite}`);
        const crashing = harness.instrumentedStore({ crashAtWrite });

        // Act
        const crashedTask = await runUntilCrash(syncTasks, crashing.store, volumeId, fence);
        const afterCrash = await visibleState(harness.instrumentedStore().store, volumeId);
        const retry = harness.instrumentedStore().store;
        for (const task of syncTasks.slice(crashedTask)) await task(retry, volumeId, fence);

        // Assess
        expect(crashedTask).toBe(crashAtWrite <= DRL_WRITES ? 0 : 1);
        expect(ALLOWED_AFTER_CRASH_IN[crashedTask ?? 0]).toContainEqual(afterCrash);
        expect(await visibleState(harness.instrumentedStore().store, volumeId)).toEqual(COMMITTED);
        const sortKeys = (await harness.rawItems(volumeId)).map((item) => item.sk);
        expect(sortKeys).toEqual([
          'ENTRY#0000000000', 'ENTRY#0000000001', ...mapKeys(0, BASELINE_SEGMENTS), ...mapKeys(1, SYNC_SEGMENTS), 'META',
        ]);
      },
    );
  });

  describe('commitEntry of the baseline', () => {
    it.each(Array.from({ length: BASELINE_WRITES }, (_, index) => index + 1))(
      'shows no chain or the whole baseline after a crash at write %i, and converges on retry',
      async (crashAtWrite) => {
        // Prepare
        const volumeId = uniqueVolumeId(`baseline-crash-${crashAtWrite}`);
        await harness.store.protectVolume(volumeId, { volumeSize: WIDE_VOLUME_SIZE, config: {} });
        const fence = await harness.store.acquireLease(volumeId, { holder: 'exec', runId: 'sync-0', ttlMs: TTL_MS });
        const crashing = harness.instrumentedStore({ crashAtWrite });

        // Act
        const crash = await crashing.store.commitEntry(volumeId, baseline, fence).then(() => undefined, (error: unknown) => error);
        const fresh = harness.instrumentedStore().store;
        const afterCrash = {
          headSeq: (await fresh.getVolume(volumeId)).headSeq ?? null,
          chain: (await collect(fresh.readChain(volumeId))).map(entryView),
        };
        await fresh.commitEntry(volumeId, baseline, fence);

        // Assess
        expect(crash).toBeInstanceOf(SimulatedCrash);
        expect([{ headSeq: null, chain: [] }, { headSeq: 0, chain: [entryView(baseline)] }]).toContainEqual(afterCrash);
        expect((await collect(fresh.readChain(volumeId))).map(entryView)).toEqual([entryView(baseline)]);
        expect((await fresh.getVolume(volumeId)).headSeq).toBe(0);
      },
    );
  });

  describe('commitEntry after a crashed attempt with another delta map', () => {
    it('ignores the orphan shards of the crashed attempt and deletes them', async () => {
      // Prepare: the first attempt dies just before META, leaving its 30 shards and ENTRY#1.
      const { volumeId, fence } = await volumeAtBaseline('orphans');
      const commitWritesBeforeMeta = Math.ceil(SYNC_SEGMENTS / BATCH_WRITE_MAX_ITEMS) + 1;
      const crashing = harness.instrumentedStore({ crashAtWrite: commitWritesBeforeMeta + 1 });
      await expect(crashing.store.commitEntry(volumeId, sync, fence)).rejects.toBeInstanceOf(SimulatedCrash);
      const retried = committedEntry({ seq: 1, blocks: [3, 65_536 * 5 + 1], volumeSize: WIDE_VOLUME_SIZE });

      // Act
      await harness.store.commitEntry(volumeId, { ...retried, secondarySnapshotId: 'snap-s1-retry' }, fence);

      // Assess
      const [, head] = await collect(harness.store.readChain(volumeId));
      expect(head.deltaMap.toArray()).toEqual([3, 65_536 * 5 + 1]);
      expect(head.secondarySnapshotId).toBe('snap-s1-retry');
      const shardKeys = (await harness.rawItems(volumeId)).map((item) => String(item.sk)).filter((sk) => sk.startsWith('MAP#0000000001#'));
      expect(shardKeys).toEqual(['MAP#0000000001#0000', 'MAP#0000000001#0005']);
    });
  });
});

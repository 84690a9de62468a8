/**
 * The Prune job against the local cloud: after pruning, every remaining restore point's
 * secondary snapshot still reads back byte-identical to the image it had when it was committed,
 * the pruned points' snapshots are gone, and each remaining delta map still describes the step
 * from its predecessor.
 *
 * ```
 * seq        0 (baseline)   1        2        3        4 (head)
 * writes     0,1            1        2        0        3
 * keepLast 2 ── pruned ──   pruned   pruned   kept     kept   → 3 becomes the baseline, D_3 = {0,1,2}
 * ```
 */
import { RetentionError } from '../../../shared/core/errors';
import type { ChainEntry } from '../../../shared/core/chain-entry';
import { prune } from '../../../shared/engine/prune';
import { startEngineHarness, type EngineHarness, type Image } from './engine-harness';
import { driveSync, nextRunId } from '../../../local/drivers';

describe('Prune job', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });

  afterAll(async () => {
    await h.stop();
  });

  async function chainOf(volumeId: string): Promise<ChainEntry[]> {
    const chain: ChainEntry[] = [];
    for await (const entry of h.context.store.readChain(volumeId)) chain.push(entry);
    return chain;
  }

  /** Syncs once per write set; returns each restore point's image read right after its commit. */
  async function syncSeries(volumeId: string, writes: Array<Map<number, number | null>>): Promise<Map<number, { snapshotId: string; image: Image }>> {
    const points = new Map<number, { snapshotId: string; image: Image }>();
    for (const blocks of writes) {
      await h.writeBlocks(volumeId, blocks);
      const { summary } = await driveSync(h.context, volumeId, nextRunId());
      if (summary === undefined) throw new Error('the sync did not commit');
      points.set(summary.seq, { snapshotId: summary.secondarySnapshotId, image: await h.readImage(summary.secondarySnapshotId) });
    }
    return points;
  }

  const WRITES = (): Array<Map<number, number | null>> => [
    new Map([[0, 1], [1, 2]]),
    new Map([[1, 3]]),
    new Map([[2, 4]]),
    new Map([[0, 5]]),
    new Map([[3, 6]]),
  ];

  describe('prune', () => {
    it('applies the retention policy: merges pruned delta maps forward, deletes their snapshots, keeps remaining images identical', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1, { retention: { keepLast: 2 } });
      const points = await syncSeries(volumeId, WRITES());

      // Act
      const result = await prune(h.context, { volumeId, runId: nextRunId('prune') });

      // Assess
      expect(result.pruned).toEqual([0, 1, 2]);
      expect(result.remaining).toEqual([3, 4]);
      const prunedIds = [0, 1, 2].map((seq) => points.get(seq)?.snapshotId);
      expect([...result.deletedSnapshotIds].sort()).toEqual([...prunedIds].sort());
      for (const id of prunedIds) expect(h.emulator.store.getSnapshot(id ?? '')).toBeUndefined();
      const chain = await chainOf(volumeId);
      expect(chain.map((entry) => [entry.seq, entry.kind, entry.deltaMap.toArray()])).toEqual([
        [3, 'baseline', [0, 1, 2]],
        [4, 'sync', [3]],
      ]);
      for (const entry of chain) expect(await h.readImage(entry.secondarySnapshotId)).toEqual(points.get(entry.seq)?.image);
      expect((await h.context.store.getVolume(volumeId)).lease).toBeUndefined();
    });

    it('is idempotent: a second run prunes nothing and changes nothing', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1, { retention: { keepLast: 3 } });
      await syncSeries(volumeId, WRITES().slice(0, 4));
      await prune(h.context, { volumeId, runId: nextRunId('prune') });
      const before = await chainOf(volumeId);

      // Act
      const again = await prune(h.context, { volumeId, runId: nextRunId('prune') });

      // Assess
      expect(again.pruned).toEqual([]);
      expect(again.deletedSnapshotIds).toEqual([]);
      const after = await chainOf(volumeId);
      expect(after.map((entry) => [entry.seq, entry.kind, entry.deltaMap.toArray()])).toEqual(
        before.map((entry) => [entry.seq, entry.kind, entry.deltaMap.toArray()]));
      expect(after.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    });

    it('prunes a middle point by seq and merges its delta map into its successor only', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);
      const points = await syncSeries(volumeId, WRITES().slice(0, 3));

      // Act
      const result = await prune(h.context, { volumeId, runId: nextRunId('prune'), seqs: [1] });

      // Assess
      expect(result).toMatchObject({ pruned: [1], remaining: [0, 2], deletedSnapshotIds: [points.get(1)?.snapshotId] });
      const chain = await chainOf(volumeId);
      expect(chain.map((entry) => [entry.seq, entry.kind, entry.deltaMap.toArray()])).toEqual([
        [0, 'baseline', [0, 1]],
        [2, 'sync', [1, 2]],
      ]);
      for (const entry of chain) expect(await h.readImage(entry.secondarySnapshotId)).toEqual(points.get(entry.seq)?.image);
      await expect(h.context.store.getEntry(volumeId, 1)).rejects.toThrow(/no restore point 1/);
    });

    it('refuses to prune the head with RetentionError, leaving the chain as it was', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);
      await syncSeries(volumeId, WRITES().slice(0, 2));

      // Act
      const attempt = prune(h.context, { volumeId, runId: nextRunId('prune'), seqs: [1] });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(RetentionError);
      expect((await chainOf(volumeId)).map((entry) => entry.seq)).toEqual([0, 1]);
    });

    it('finishes a prune that crashed between the merge and deleting S_k: the next run deletes the orphan', async () => {
      // Prepare
      const volumeId = await h.createPrimaryVolume(1);
      await h.protect(volumeId, 1);
      const points = await syncSeries(volumeId, WRITES().slice(0, 3));
      const grant = await h.context.store.acquireLease(volumeId, { holder: 'crashed-prune', runId: 'crashed-prune', ttlMs: 1_000, now: h.timer.now() });
      const merged = await h.context.store.pruneEntry(volumeId, 0, grant); // the crash: S_0 never deleted
      h.timer.advance(2_000); // the crashed run's lease expires

      // Act
      const result = await prune(h.context, { volumeId, runId: nextRunId('prune'), seqs: [0] });

      // Assess
      expect(merged).toMatchObject({ pruned: true, successorSeq: 1, secondarySnapshotId: points.get(0)?.snapshotId });
      expect(result.pruned).toEqual([]);
      expect(result.deletedSnapshotIds).toEqual([points.get(0)?.snapshotId]);
      expect(h.emulator.store.getSnapshot(points.get(0)?.snapshotId ?? '')).toBeUndefined();
      const chain = await chainOf(volumeId);
      expect(chain.map((entry) => [entry.seq, entry.kind, entry.deltaMap.toArray()])).toEqual([
        [1, 'baseline', [0, 1]],
        [2, 'sync', [2]],
      ]);
      for (const entry of chain) expect(await h.readImage(entry.secondarySnapshotId)).toEqual(points.get(entry.seq)?.image);
    });
  });
});

/**
 * How CreateSnapshot finds what changed on a volume since its previous snapshot (README, "How
 * CreateSnapshot finds the changes"): from the dirty set, from a full copy, or by comparing the
 * whole file with the previous snapshot after an outside tool wrote it.
 */
import type { BlockData, SnapshotStorePort } from '../../contracts';
import { isZeroBlock, type VolumeStorage } from '../volume-storage';

/** Blocks hydrated or compared at once: enough to overlap store reads with file writes. */
const BLOCK_IO_CONCURRENCY = 8;

/** Changed blocks as the store takes them: content, or `null` for a block no longer allocated. */
export type ChangedBlocks = Map<number, BlockData | null>;

/** Content of the blocks written since the base snapshot. */
export async function dirtyContent(
  store: SnapshotStorePort,
  storage: VolumeStorage,
  dirty: Set<number>,
  parentId: string | undefined,
): Promise<ChangedBlocks> {
  const changed: ChangedBlocks = new Map();
  const blocks = [...dirty].sort((a, b) => a - b);
  const results = await mapLimit(blocks, async (blockIndex) => {
    const data = await storage.readBlock(blockIndex);
    if (!isZeroBlock(data)) return data;
    // A block that now reads as zeros is a change only if the parent held data there.
    return (await parentHoldsData(store, parentId, blockIndex)) ? null : undefined;
  });
  blocks.forEach((blockIndex, i) => {
    const result = results[i];
    if (result !== undefined) changed.set(blockIndex, result);
  });
  return changed;
}

/** Every non-zero block: the snapshot has no usable parent. */
export async function fullContent(storage: VolumeStorage): Promise<ChangedBlocks> {
  const blocks = await storage.nonZeroBlocks();
  const data = await mapLimit(blocks, (blockIndex) => storage.readBlock(blockIndex));
  return new Map(blocks.map((blockIndex, i) => [blockIndex, data[i]]));
}

/** Compares the whole volume with the parent snapshot: outside tools leave no dirty set. */
export async function diffAgainst(store: SnapshotStorePort, storage: VolumeStorage, parentId: string): Promise<ChangedBlocks> {
  const changed: ChangedBlocks = new Map();
  const nonZero = await storage.nonZeroBlocks();
  const nonZeroSet = new Set(nonZero);
  const contents = await mapLimit(nonZero, async (blockIndex) => {
    const [data, before] = await Promise.all([storage.readBlock(blockIndex), store.readBlock(parentId, blockIndex)]);
    return before !== undefined && before.equals(data) ? undefined : data;
  });
  nonZero.forEach((blockIndex, i) => {
    const data = contents[i];
    if (data !== undefined) changed.set(blockIndex, data);
  });
  const cleared = store.listBlockIndexes(parentId).filter((blockIndex) => !nonZeroSet.has(blockIndex));
  const held = await mapLimit(cleared, (blockIndex) => parentHoldsData(store, parentId, blockIndex));
  cleared.forEach((blockIndex, i) => {
    if (held[i]) changed.set(blockIndex, null);
  });
  return changed;
}

async function parentHoldsData(store: SnapshotStorePort, parentId: string | undefined, blockIndex: number): Promise<boolean> {
  if (parentId === undefined) return false;
  const before = await store.readBlock(parentId, blockIndex);
  return before !== undefined && !isZeroBlock(before);
}

/** Runs `work` over `items` with at most BLOCK_IO_CONCURRENCY in flight, results in order. */
export async function mapLimit<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next;
      next += 1;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOCK_IO_CONCURRENCY, items.length) }, worker));
  return results;
}

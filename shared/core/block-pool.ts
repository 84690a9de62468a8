/**
 * A bounded pool of block workers: at most `concurrency` blocks in flight, each block's failure
 * (after the per-request retries of `callEbs`) recorded by `blockIndex`, and one aggregate
 * `BlockCopyFailedError` at the end. The rate limiter, not the pool size, sets the request rate:
 * the pool only bounds memory (one block buffer per worker) and sockets.
 */
import { BlockCopyFailedError, type BlockFailure } from './ports/errors';

/**
 * 64 workers, as coldsnap's SNAPSHOT_BLOCK_WORKERS: with ~50 ms per block request that is enough
 * to fill 1,000 requests/s, and 64 × 512 KiB × 2 (read and write buffers) = 64 MiB stays well
 * inside a Lambda's memory.
 */
export const DEFAULT_BLOCK_WORKERS = 64;

/**
 * After this many failed blocks the pool stops taking new ones: the cause is then systematic
 * (snapshot gone, completed, wrong key) and going on would only cost requests.
 */
export const DEFAULT_FAILURE_LIMIT = 1_000;

export interface BlockPoolOptions {
  concurrency?: number;
  failureLimit?: number;
  /** Context for the aggregate error. */
  snapshotId?: string;
  volumeId?: string;
}

export interface BlockPoolResult {
  /** Blocks whose work succeeded. */
  readonly done: number;
}

/**
 * Runs `work` for every block index of `blocks` (an array, a DeltaMap, or an async listing
 * consumed as it streams in).
 * @throws BlockCopyFailedError with every failed block, once all workers have stopped.
 *
 * @example
 * await runBlockPool(deltaMap, async (blockIndex) => copy(blockIndex), { snapshotId });
 */
export async function runBlockPool(
  blocks: Iterable<number> | AsyncIterable<number>,
  work: (blockIndex: number) => Promise<void>,
  options: BlockPoolOptions = {},
): Promise<BlockPoolResult> {
  const concurrency = options.concurrency ?? DEFAULT_BLOCK_WORKERS;
  const failureLimit = options.failureLimit ?? DEFAULT_FAILURE_LIMIT;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const source = Symbol.asyncIterator in blocks ? blocks[Symbol.asyncIterator]() : toAsync(blocks[Symbol.iterator]());
  const failures: BlockFailure[] = [];
  let done = 0;
  let exhausted = false;
  let sourceError: { error: unknown } | undefined;
  // Async iterators must not be advanced concurrently: workers take turns through this chain.
  let turn: Promise<unknown> = Promise.resolve();
  const next = (): Promise<IteratorResult<number>> => {
    const result = turn.then(() => source.next());
    turn = result.catch(() => undefined);
    return result;
  };

  const worker = async (): Promise<void> => {
    while (!exhausted && failures.length < failureLimit) {
      let item: IteratorResult<number>;
      try {
        item = await next();
      } catch (error) {
        // The listing itself failed: no block to blame; stop, let the others finish, rethrow.
        sourceError ??= { error };
        exhausted = true;
        return;
      }
      if (item.done === true) {
        exhausted = true;
        return;
      }
      try {
        await work(item.value);
        done++;
      } catch (error) {
        failures.push({ blockIndex: item.value, error });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (!exhausted) await source.return?.();
  if (sourceError !== undefined) throw sourceError.error;
  if (failures.length > 0) throw new BlockCopyFailedError(failures, { snapshotId: options.snapshotId, volumeId: options.volumeId });
  return { done };
}

function toAsync(iterator: Iterator<number>): AsyncIterator<number> {
  return { next: async () => iterator.next() };
}

import { runBlockPool } from '../../../shared/core/block-pool';
import { BlockCopyFailedError } from '../../../shared/core/ports/errors';

async function* listing(blocks: number[]): AsyncGenerator<number> {
  for (const blockIndex of blocks) {
    await Promise.resolve();
    yield blockIndex;
  }
}

describe('runBlockPool', () => {
  it('runs every block once with at most `concurrency` in flight', async () => {
    // Prepare
    const seen: number[] = [];
    let inFlight = 0;
    let peak = 0;

    // Act
    const result = await runBlockPool(
      listing(Array.from({ length: 100 }, (_, i) => i * 2)),
      async (blockIndex) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(blockIndex);
        inFlight--;
      },
      { concurrency: 7 },
    );

    // Assess
    expect(result.done).toBe(100);
    expect(peak).toBe(7);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
  });

  it('collects failures by blockIndex and reports them once, after the other blocks are done', async () => {
    // Prepare
    const done: number[] = [];

    // Act
    const failure = runBlockPool(
      [5, 1, 9, 3, 7],
      async (blockIndex) => {
        if (blockIndex === 9 || blockIndex === 3) throw new Error(`disk ${blockIndex} on fire`);
        done.push(blockIndex);
      },
      { concurrency: 2, snapshotId: 'snap-x' },
    );

    // Assess
    const error = await failure.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(BlockCopyFailedError);
    const copyError = error as BlockCopyFailedError;
    expect(copyError.failures.map((f) => f.blockIndex)).toEqual([3, 9]);
    expect(copyError.blockIndex).toBe(3);
    expect(copyError.message).toMatch(/2 block\(s\) failed for snapshot snap-x: block 3: Error: disk 3 on fire; block 9/);
    expect(done.sort((a, b) => a - b)).toEqual([1, 5, 7]);
  });

  it('stops taking blocks once the failure limit is reached', async () => {
    // Prepare
    let attempted = 0;

    // Act
    const failure = runBlockPool(
      Array.from({ length: 1_000 }, (_, i) => i),
      async () => {
        attempted++;
        throw new Error('snapshot completed');
      },
      { concurrency: 4, failureLimit: 10 },
    );

    // Assess
    await expect(failure).rejects.toBeInstanceOf(BlockCopyFailedError);
    expect(attempted).toBeLessThan(20);
  });

  it('rethrows a failure of the listing itself', async () => {
    // Prepare
    async function* broken(): AsyncGenerator<number> {
      yield 1;
      throw new Error('listing failed');
    }

    // Act / Assess
    await expect(runBlockPool(broken(), async () => undefined, { concurrency: 3 })).rejects.toThrow('listing failed');
  });
});

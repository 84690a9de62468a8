/**
 * A whole copy P → S through the reader, the writer, the block pool and the rate limiter, with the
 * emulator enforcing AWS's quotas (scaled down so a test hits them in seconds) and injecting
 * server errors. The copy must finish with every block right and no block failed.
 *
 *   P (completed, 1 GiB)   blocks 0..199 allocated
 *        │ GetSnapshotBlock ×200 ─▶ pool of 16 workers ─▶ PutSnapshotBlock ×200
 *        ▼
 *   S (new snapshot)       blocks 0..199, completed with the LINEAR aggregate
 */
import { runBlockPool } from '../../../shared/core/block-pool';
import { RateLimiter, type RateLimiterOptions } from '../../../shared/aws/rate-limiter';
import { EbsSnapshotReader } from '../../../shared/aws/snapshot-reader';
import { EbsSnapshotWriter } from '../../../shared/aws/snapshot-writer';
import { patternBlock, seedSnapshot, sha256Hex, startAdaptersHarness, stopAdaptersHarness, type AdaptersHarness } from './adapters-harness';

const BLOCKS = 200;
/** 5 % of AWS's quotas: 50 block requests/s per snapshot and per account. */
const QUOTA_SCALE = 0.05;
const SCALED_BLOCK_RATE = 1_000 * QUOTA_SCALE;
const WORKERS = 16;
/**
 * For the adaptation test: 1 % of the quotas, 10 requests/s with a burst of 10, below the 16
 * workers' first concurrent wave, so throttling happens however slow the machine is (at 5 % a
 * loaded CI machine may never reach the quota and the test would prove nothing).
 */
const TIGHT_QUOTA_SCALE = 0.01;
const CONTENTS = [patternBlock(21), patternBlock(22), patternBlock(23), patternBlock(24)];

function contentOf(blockIndex: number): Buffer {
  return CONTENTS[blockIndex % CONTENTS.length];
}

let jobSeq = 0;

/** Copies every allocated block of `source` into a new snapshot; returns it and the wall time. */
async function copySnapshot(harness: AdaptersHarness, source: string, limiterOptions: RateLimiterOptions): Promise<{ snapshotId: string; ms: number }> {
  const limiter = new RateLimiter(limiterOptions);
  const reader = new EbsSnapshotReader(harness.clients.ebs, { limiter });
  const writer = new EbsSnapshotWriter(harness.clients.ebs, { limiter });
  const started = Date.now();
  const { snapshotId } = await writer.startSnapshot({ job: { volumeId: 'vol-copy', seq: ++jobSeq, purpose: 'sync' }, volumeSize: 1 });
  const upload = writer.upload(snapshotId);
  const tokens = new Map<number, string>();
  async function* listed(): AsyncGenerator<number> {
    for await (const block of reader.listBlocks(source)) {
      tokens.set(block.blockIndex, block.blockToken);
      yield block.blockIndex;
    }
  }
  await runBlockPool(
    listed(),
    async (blockIndex) => {
      const data = await reader.getBlock(source, blockIndex, tokens.get(blockIndex) ?? '');
      await upload.putBlock(blockIndex, data);
    },
    { concurrency: WORKERS, snapshotId },
  );
  const state = await upload.complete();
  if (state !== 'completed') throw new Error(`copy ${snapshotId} is ${state}`);
  return { snapshotId, ms: Date.now() - started };
}

async function imageOf(harness: AdaptersHarness, snapshotId: string): Promise<Map<number, string>> {
  const reader = new EbsSnapshotReader(harness.clients.ebs, { limiter: new RateLimiter() });
  const image = new Map<number, string>();
  for await (const { blockIndex, blockToken } of reader.listBlocks(snapshotId)) {
    image.set(blockIndex, sha256Hex(await reader.getBlock(snapshotId, blockIndex, blockToken)));
  }
  return image;
}

describe('block copy through the adapters', () => {
  let harness: AdaptersHarness;
  let source: string;
  const expected = new Map<number, string>();

  beforeAll(async () => {
    harness = await startAdaptersHarness();
    const blocks = new Map<number, Buffer | null>();
    for (let blockIndex = 0; blockIndex < BLOCKS; blockIndex++) {
      blocks.set(blockIndex, contentOf(blockIndex));
      expected.set(blockIndex, sha256Hex(contentOf(blockIndex)));
    }
    source = await seedSnapshot(harness, { volumeId: 'vol-copy', volumeSize: 1, blocks });
  });

  afterAll(async () => {
    await stopAdaptersHarness(harness);
  });

  beforeEach(() => {
    harness.emulator.faults.reset();
    harness.emulator.stats.reset();
  });

  it('stays under the quota when the limiter is given it: no request is throttled', async () => {
    // Prepare
    harness.emulator.faults.update({ quotas: true, quotaScale: QUOTA_SCALE });

    // Act
    const { snapshotId, ms } = await copySnapshot(harness, source, {
      accountRates: { GetSnapshotBlock: SCALED_BLOCK_RATE, PutSnapshotBlock: SCALED_BLOCK_RATE, ListSnapshotBlocks: 50 * QUOTA_SCALE },
      snapshotBlockRate: SCALED_BLOCK_RATE,
    });

    // Assess
    const stats = harness.emulator.stats.toJSON();
    expect(stats.errors).toEqual({});
    expect(stats.calls.GetSnapshotBlock).toBe(BLOCKS);
    expect(stats.calls.PutSnapshotBlock).toBe(BLOCKS);
    // 200 requests at 50/s after a burst of 5: at least ~3.9 s.
    expect(ms).toBeGreaterThanOrEqual(((BLOCKS - SCALED_BLOCK_RATE * 0.1) / SCALED_BLOCK_RATE) * 1_000 - 100);
    harness.emulator.faults.reset();
    expect(await imageOf(harness, snapshotId)).toEqual(expected);
  });

  it('adapts to throttling when the limiter starts above the quota, and still copies every block', async () => {
    // Prepare: the limiter believes AWS's full 1,000/s; the emulator allows 10/s.
    harness.emulator.faults.update({ quotas: true, quotaScale: TIGHT_QUOTA_SCALE });

    // Act
    const { snapshotId } = await copySnapshot(harness, source, { accountRates: { ListSnapshotBlocks: 50 * TIGHT_QUOTA_SCALE } });

    // Assess
    const stats = harness.emulator.stats.toJSON();
    const throttled = (stats.errors['RequestThrottledException:RESOURCE_LEVEL_THROTTLE'] ?? 0) + (stats.errors['RequestThrottledException:ACCOUNT_THROTTLED'] ?? 0);
    expect(throttled).toBeGreaterThan(0);
    // Every throttled request was retried: successes are exactly one per block each way.
    expect(stats.calls.GetSnapshotBlock + stats.calls.PutSnapshotBlock - throttled).toBe(2 * BLOCKS);
    // AIMD keeps the waste bounded: at a quota 100× below what the limiter assumed, the throttles
    // stay within the same order as the work (400 requests), not a multiple of it.
    expect(throttled).toBeLessThan(4 * BLOCKS);
    harness.emulator.faults.reset();
    expect(await imageOf(harness, snapshotId)).toEqual(expected);
  });

  it('retries injected server errors and finishes with every block right', async () => {
    // Prepare
    harness.emulator.faults.update({ serverErrorRate: 0.1, seed: 7 });

    // Act
    const { snapshotId } = await copySnapshot(harness, source, {});

    // Assess
    const stats = harness.emulator.stats.toJSON();
    expect(stats.errors.InternalServerException).toBeGreaterThan(0);
    harness.emulator.faults.reset();
    expect(await imageOf(harness, snapshotId)).toEqual(expected);
  });
});

/**
 * EbsSnapshotReader against the local cloud over HTTP.
 *
 *   volume of 64 GiB = 2 segments of 65,536 blocks
 *   P1 (baseline)  segment 0: every 2nd block of 0..1,998 (1,000)   segment 1: 65,536..66,035 (500)
 *   P2 (child)     rewrites 0..98 step 2 (50), clears 100..198 step 2 (50), adds 65,536+600..649 (50)
 */
import { EBSClient, GetSnapshotBlockCommand, type GetSnapshotBlockCommandOutput } from '@aws-sdk/client-ebs';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { ChecksumMismatchError, SnapshotNotFoundError, UnrelatedSnapshotsError } from '../../../shared/core/ports/errors';
import { RateLimiter } from '../../../shared/aws/rate-limiter';
import { EbsSnapshotReader } from '../../../shared/aws/snapshot-reader';
import { BLOCK_SIZE, BLOCKS_PER_SEGMENT, segmentRange } from '../../../shared/core/constants';
import type { ListedBlock } from '../../../shared/core/ports/snapshots';
import { patternBlock, rejectionOf, seedSnapshot, sha256Hex, startAdaptersHarness, stopAdaptersHarness, type AdaptersHarness } from './adapters-harness';

/** The smallest page the API allows: many pages for a few thousand blocks. */
const PAGE_SIZE = 100;
const VOLUME_SIZE_GIB = 64;
/** How long a NextToken lives (EBS-FACTS.md). */
const NEXT_TOKEN_LIFETIME_MS = 60 * 60 * 1_000;
/** More than a block token lives (7 days). */
const EIGHT_DAYS_MS = 8 * 24 * 60 * 60 * 1_000;

const SEGMENT_0 = Array.from({ length: 1_000 }, (_, i) => i * 2);
const SEGMENT_1 = Array.from({ length: 500 }, (_, i) => BLOCKS_PER_SEGMENT + i);
const REWRITTEN = Array.from({ length: 50 }, (_, i) => i * 2);
const CLEARED = Array.from({ length: 50 }, (_, i) => 100 + i * 2);
const ADDED = Array.from({ length: 50 }, (_, i) => BLOCKS_PER_SEGMENT + 600 + i);

/** Distinct contents are few on purpose: the store keeps each content once, and hashing stays cheap. */
const CONTENTS = [patternBlock(1), patternBlock(2), patternBlock(3)];
const NEW_CONTENT = patternBlock(4);

/** A response body as the SDK hands it over, holding `data`. */
function sdkStream(data: Buffer): NonNullable<GetSnapshotBlockCommandOutput['BlockData']> {
  const stream = Object.assign(Readable.from([data]), {
    transformToByteArray: async () => new Uint8Array(data),
    transformToString: async (encoding?: string) => data.toString((encoding ?? 'utf8') as BufferEncoding),
    transformToWebStream: () => {
      throw new Error('not used by the reader');
    },
  });
  return stream;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('EbsSnapshotReader', () => {
  let harness: AdaptersHarness;
  let reader: EbsSnapshotReader;
  let p1: string;
  let p2: string;

  beforeAll(async () => {
    harness = await startAdaptersHarness();
    const base = new Map<number, Buffer | null>();
    [...SEGMENT_0, ...SEGMENT_1].forEach((blockIndex, i) => base.set(blockIndex, CONTENTS[i % CONTENTS.length]));
    p1 = await seedSnapshot(harness, { volumeId: 'vol-reader', volumeSize: VOLUME_SIZE_GIB, blocks: base });
    const changes = new Map<number, Buffer | null>();
    for (const blockIndex of [...REWRITTEN, ...ADDED]) changes.set(blockIndex, NEW_CONTENT);
    for (const blockIndex of CLEARED) changes.set(blockIndex, null);
    p2 = await seedSnapshot(harness, { volumeId: 'vol-reader', volumeSize: VOLUME_SIZE_GIB, blocks: changes, parentSnapshotId: p1 });
  });

  afterAll(async () => {
    await stopAdaptersHarness(harness);
  });

  beforeEach(() => {
    harness.emulator.faults.reset();
    harness.emulator.stats.reset();
    reader = new EbsSnapshotReader(harness.clients.ebs, { limiter: new RateLimiter(), pageSize: PAGE_SIZE });
  });

  describe('listBlocks', () => {
    it('follows every page to the end of a listing of 1,500 blocks', async () => {
      // Act
      const blocks = await collect(reader.listBlocks(p1));

      // Assess
      expect(blocks.map((b) => b.blockIndex)).toEqual([...SEGMENT_0, ...SEGMENT_1]);
      expect(new Set(blocks.map((b) => b.blockToken)).size).toBe(1_500);
      expect(harness.emulator.stats.calls.ListSnapshotBlocks).toBe(1_500 / PAGE_SIZE);
    });

    it('lists one segment only, starting at its first block and stopping at its end', async () => {
      // Act
      const first = await collect(reader.listBlocks(p1, segmentRange(0)));
      const calls = harness.emulator.stats.calls.ListSnapshotBlocks;
      const second = await collect(reader.listBlocks(p1, segmentRange(1)));

      // Assess
      expect(first.map((b) => b.blockIndex)).toEqual(SEGMENT_0);
      expect(second.map((b) => b.blockIndex)).toEqual(SEGMENT_1);
      // Segment 0 needs its 10 pages and one more that shows segment 1 begins; segment 1 starts at its first block.
      expect(calls).toBe(11);
      expect(harness.emulator.stats.calls.ListSnapshotBlocks - calls).toBe(5);
    });

    it('goes on through empty pages that carry a NextToken', async () => {
      // Prepare
      harness.emulator.faults.update({ emptyPageRate: 0.4 });

      // Act
      const blocks = await collect(reader.listBlocks(p1, segmentRange(1)));

      // Assess
      expect(blocks.map((b) => b.blockIndex)).toEqual(SEGMENT_1);
      expect(harness.emulator.stats.calls.ListSnapshotBlocks).toBeGreaterThan(5);
    });

    it('restarts after the last block seen when a slow consumer outlives the NextToken', async () => {
      // Prepare
      const listed: number[] = [];
      const iterator = reader.listBlocks(p1, segmentRange(1))[Symbol.asyncIterator]();

      // Act: take one page, let the NextToken (60 minutes) expire, then go on.
      for (let i = 0; i < PAGE_SIZE; i++) {
        const item = await iterator.next();
        if (item.done !== true) listed.push(item.value.blockIndex);
      }
      harness.emulator.clock.advance(NEXT_TOKEN_LIFETIME_MS + 1);
      for (let item = await iterator.next(); item.done !== true; item = await iterator.next()) listed.push(item.value.blockIndex);

      // Assess
      expect(listed).toEqual(SEGMENT_1);
      expect(harness.emulator.stats.errors['ValidationException:INVALID_PAGE_TOKEN']).toBe(1);
    });

    it('fails with SnapshotNotFoundError for a snapshot that does not exist', async () => {
      // Act
      const error = await rejectionOf(collect(reader.listBlocks('snap-0123456789abcdef0')));

      // Assess
      expect(error).toBeInstanceOf(SnapshotNotFoundError);
      expect(error.message).toMatch(/check its id/);
    });
  });

  describe('changedBlocksOfSegment', () => {
    it('collects the changed blocks of each segment into a delta map, with cleared blocks lacking a second token', async () => {
      // Act
      const segment0 = await reader.changedBlocksOfSegment(p1, p2, 0);
      const segment1 = await reader.changedBlocksOfSegment(p1, p2, 1);

      // Assess
      expect(segment0.deltaMap.toArray()).toEqual([...REWRITTEN, ...CLEARED]);
      expect(segment1.deltaMap.toArray()).toEqual(ADDED);
      const cleared = segment0.blocks.filter((b) => b.secondBlockToken === undefined).map((b) => b.blockIndex);
      expect(cleared).toEqual(CLEARED);
      expect(segment1.blocks.every((b) => b.firstBlockToken === undefined && b.secondBlockToken !== undefined)).toBe(true);
      expect(segment0.deltaMap.size + segment1.deltaMap.size).toBe(150);
    });

    it('without a first snapshot, gives every allocated block: the baseline delta map', async () => {
      // Act
      const segment0 = await reader.changedBlocksOfSegment(undefined, p1, 0);

      // Assess
      expect(segment0.deltaMap.toArray()).toEqual(SEGMENT_0);
      expect(harness.emulator.stats.calls.ListChangedBlocks).toBe(11);
    });

    it('fails with UnrelatedSnapshotsError for snapshots of two lineages', async () => {
      // Prepare
      const other = await seedSnapshot(harness, { volumeId: 'vol-other', volumeSize: 1, blocks: new Map([[0, CONTENTS[0]]]) });

      // Act
      const error = await rejectionOf(reader.changedBlocksOfSegment(other, p2, 0));

      // Assess
      expect(error).toBeInstanceOf(UnrelatedSnapshotsError);
      expect(error.name).toBe('UnrelatedSnapshotsError');
      expect(error.message).toMatch(/these snapshots are not of one lineage/);
    });
  });

  describe('getBlock', () => {
    it('returns the bytes of a block, checksum verified', async () => {
      // Prepare
      const [listed] = await collect(reader.listBlocks(p2, { start: 0, end: 1 }));

      // Act
      const data = await reader.getBlock(p2, listed.blockIndex, listed.blockToken);

      // Assess
      expect(data.length).toBe(BLOCK_SIZE);
      expect(sha256Hex(data)).toBe(sha256Hex(NEW_CONTENT));
    });

    it('re-lists a block whose token expired and reads it with the fresh token', async () => {
      // Prepare
      const listed: ListedBlock[] = await collect(reader.listBlocks(p1, { start: 65_536 + 7, end: 65_536 + 8 }));
      harness.emulator.clock.advance(EIGHT_DAYS_MS);
      const listsBefore = harness.emulator.stats.calls.ListSnapshotBlocks;

      // Act
      const data = await reader.getBlock(p1, listed[0].blockIndex, listed[0].blockToken);

      // Assess
      expect(sha256Hex(data)).toBe(sha256Hex(CONTENTS[(1_000 + 7) % CONTENTS.length]));
      expect(harness.emulator.stats.calls.ListSnapshotBlocks - listsBefore).toBe(1);
      expect(harness.emulator.stats.errors['ValidationException:INVALID_BLOCK_TOKEN']).toBe(1);
      expect(harness.emulator.stats.calls.GetSnapshotBlock).toBe(2);
    });

    it('detects a block whose bytes do not match the checksum EBS sent', async () => {
      // Prepare: the emulator cannot send bytes that disagree with their checksum (its corrupt back
      // door re-hashes the corrupted block, as a bad write would), so this transit-corruption path
      // is driven by aws-sdk-client-mock.
      const client = new EBSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
      const mock = mockClient(client);
      const damaged = Buffer.from(CONTENTS[0]);
      damaged[12_345] ^= 0x01;
      mock.on(GetSnapshotBlockCommand).resolves({
        BlockData: sdkStream(damaged),
        DataLength: BLOCK_SIZE,
        Checksum: Buffer.from(sha256Hex(CONTENTS[0]), 'hex').toString('base64'),
        ChecksumAlgorithm: 'SHA256',
      });
      const mocked = new EbsSnapshotReader(client, { limiter: new RateLimiter() });

      // Act
      const error = await rejectionOf(mocked.getBlock('snap-0123456789abcdef0', 3, 'token'));

      // Assess
      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect(error).toMatchObject({ snapshotId: 'snap-0123456789abcdef0', blockIndex: 3 });
      expect(error.message).toMatch(/does not match its checksum/);
      expect(mock.commandCalls(GetSnapshotBlockCommand)).toHaveLength(1);
      mock.restore();
    });
  });
});

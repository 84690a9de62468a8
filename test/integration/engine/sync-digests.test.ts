/**
 * The chain-store items the engine appended, against dynalite: block digests chunked at 10,000
 * per item (`DIG#<runId>#<segment>#<chunk>`), per-run segment maps, and deleting a run's items.
 */
import { createHash } from 'node:crypto';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ChainStoreCorruptError } from '../../../shared/core/ports/errors';
import { volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { startEngineHarness, TABLE_NAME, type EngineHarness } from './engine-harness';

/** `count` distinct 32-byte digests: digest i is SHA-256 of `seed:i`. */
function digests(count: number, seed: string): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => createHash('sha256').update(`${seed}:${i}`).digest()));
}

describe('DynamoDbChainStore (engine items)', () => {
  let h: EngineHarness;
  const volumeId = 'vol-0digests';

  beforeAll(async () => {
    h = await startEngineHarness();
    await h.protect(volumeId, 64);
  });

  afterAll(async () => {
    await h.stop();
  });

  async function readAll(runId: string): Promise<Array<{ segment: number; digests: Uint8Array }>> {
    const out: Array<{ segment: number; digests: Uint8Array }> = [];
    for await (const segment of h.context.store.readBlockDigests(volumeId, runId)) out.push(segment);
    return out;
  }

  describe('putBlockDigests / readBlockDigests', () => {
    it('splits a segment of 25,000 digests into 3 items and reads every segment back in ascending order', async () => {
      // Prepare
      const big = digests(25_000, 'big');
      const small = digests(3, 'small');

      // Act
      await h.context.store.putBlockDigests(volumeId, 'run-a', 1, big);
      await h.context.store.putBlockDigests(volumeId, 'run-a', 0, small);
      const read = await readAll('run-a');

      // Assess
      expect(read.map((segment) => segment.segment)).toEqual([0, 1]);
      expect(Buffer.from(read[0].digests).equals(small)).toBe(true);
      expect(Buffer.from(read[1].digests).equals(big)).toBe(true);
    });

    it('replaces an earlier attempt of the same segment, dropping chunks the new one does not have', async () => {
      // Prepare
      await h.context.store.putBlockDigests(volumeId, 'run-b', 0, digests(12_000, 'first'));
      const retry = digests(40, 'retry');

      // Act
      await h.context.store.putBlockDigests(volumeId, 'run-b', 0, retry);

      // Assess
      const read = await readAll('run-b');
      expect(read).toHaveLength(1);
      expect(Buffer.from(read[0].digests).equals(retry)).toBe(true);
    });

    it('refuses chunks mixed from two attempts with ChainStoreCorruptError', async () => {
      // Prepare
      await h.context.store.putBlockDigests(volumeId, 'run-c', 0, digests(15_000, 'one'));
      const doc = DynamoDBDocumentClient.from(h.db.client());
      await doc.send(new PutCommand({
        TableName: TABLE_NAME,
        Item: {
          pk: `VOL#${volumeId}`, sk: 'DIG#run-c#0000#001', segment: 0, chunk: 1, chunks: 2, count: 15_000,
          checksum: 'another attempt', bytes: digests(5_000, 'two'),
        },
      }));

      // Act
      const read = readAll('run-c');

      // Assess
      await expect(read).rejects.toBeInstanceOf(ChainStoreCorruptError);
    });
  });

  describe('run maps', () => {
    it('stores a run map per segment, reads one segment or all, and deleteRunItems removes them with the digests', async () => {
      // Prepare
      const blocks = volumeBlocks(64);
      const plan = DeltaMap.of(blocks, [5, 70_000, 70_001]);
      await h.context.store.putRunMap(volumeId, 'run-d', 'restore-plan', 0, plan);
      await h.context.store.putRunMap(volumeId, 'run-d', 'restore-plan', 1, plan);
      await h.context.store.putBlockDigests(volumeId, 'run-d', 0, digests(2, 'd'));

      // Act
      const one = await h.context.store.readRunMap(volumeId, 'run-d', 'restore-plan', 1, blocks);
      const all = await h.context.store.readRunMapSegments(volumeId, 'run-d', 'restore-plan', blocks);
      await h.context.store.deleteRunItems(volumeId, 'run-d');

      // Assess
      expect(one.toArray()).toEqual([70_000, 70_001]);
      expect(all.segments).toEqual([0, 1]);
      expect(all.deltaMap.toArray()).toEqual([5, 70_000, 70_001]);
      expect((await h.context.store.readRunMapSegments(volumeId, 'run-d', 'restore-plan', blocks)).segments).toEqual([]);
      expect(await readAll('run-d')).toEqual([]);
    });
  });
});

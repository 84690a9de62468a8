import { GetSnapshotBlockCommand, ListChangedBlocksCommand, ListSnapshotBlocksCommand, ValidationException } from '@aws-sdk/client-ebs';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import {
  getBlock,
  listAllChanges,
  patternBlock,
  rejectionOf,
  startHarness,
  stopHarness,
  writeSnapshot,
  type EbsHarness,
} from './ebs-helpers';

/** Lifetimes the facts give, in ms. */
const PAGE_TOKEN_LIFETIME_MS = 60 * 60 * 1_000;
const BLOCK_TOKEN_LIFETIME_MS = 7 * 24 * 60 * 60 * 1_000;
const SECOND_MS = 1_000;

function blocksOf(indexes: number[], seed: number): Map<number, Buffer> {
  return new Map(indexes.map((i) => [i, patternBlock(seed + i)]));
}

describe('EBS emulator: listing', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  describe('ListSnapshotBlocks', () => {
    let snapshotId: string;
    /** 250 written blocks, every third index, so pages of 100 need three calls. */
    const written = Array.from({ length: 250 }, (_, k) => k * 3);
    beforeAll(async () => {
      snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: blocksOf(written, 0) });
    });

    it('pages through every written block in ascending order', async () => {
      // Act
      const pages: number[][] = [];
      let nextToken: string | undefined;
      do {
        const page = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: 100, NextToken: nextToken }));
        pages.push((page.Blocks ?? []).map((b) => b.BlockIndex!));
        nextToken = page.NextToken;
      } while (nextToken !== undefined);

      // Assess
      expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
      expect(pages.flat()).toEqual(written);
    });

    it('starts at StartingBlockIndex', async () => {
      // Act
      const page = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, StartingBlockIndex: 700, MaxResults: 100 }));

      // Assess
      expect(page.Blocks?.map((b) => b.BlockIndex)).toEqual(written.filter((i) => i >= 700));
      expect(page.VolumeSize).toBe(1);
      expect(page.BlockSize).toBe(BLOCK_SIZE);
    });

    it('lets NextToken override StartingBlockIndex', async () => {
      // Prepare
      const first = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: 100 }));

      // Act
      const second = await h.ebs.send(
        new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: 100, NextToken: first.NextToken, StartingBlockIndex: 0 }),
      );

      // Assess
      expect(second.Blocks?.[0].BlockIndex).toBe(written[100]);
    });

    it.each([99, 10_001])('rejects MaxResults %i', async (maxResults) => {
      // Act
      const error = await rejectionOf(h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: maxResults })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_PARAMETER_VALUE');
    });

    it('rejects a forged or expired NextToken with INVALID_PAGE_TOKEN', async () => {
      // Prepare
      const first = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: 100 }));
      const forged = `${first.NextToken!.slice(0, -2)}xx`;

      // Act
      const forgedError = await rejectionOf(h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, NextToken: forged })));
      h.emulator.clock.advance(PAGE_TOKEN_LIFETIME_MS + SECOND_MS);
      const expiredError = await rejectionOf(
        h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, NextToken: first.NextToken })),
      );

      // Assess
      expect(forgedError).toBeInstanceOf(ValidationException);
      expect(forgedError.Reason).toBe('INVALID_PAGE_TOKEN');
      expect(expiredError.Reason).toBe('INVALID_PAGE_TOKEN');
    });

    it('may answer an empty page that still carries a NextToken', async () => {
      // Prepare
      h.emulator.faults.update({ emptyPageRate: 1 });

      // Act
      const empty = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: 100 }));
      h.emulator.faults.update({ emptyPageRate: 0 });
      const resumed = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: 100, NextToken: empty.NextToken }));

      // Assess
      expect(empty.Blocks).toEqual([]);
      expect(empty.NextToken).toBeDefined();
      expect(resumed.Blocks?.[0].BlockIndex).toBe(written[0]);
    });
  });

  describe('BlockToken', () => {
    let snapshotId: string;
    let otherId: string;
    beforeAll(async () => {
      snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: blocksOf([1, 2], 40) });
      otherId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: blocksOf([1, 2], 40) });
    });

    it('expires 7 days after the listing and says so in ExpiryTime', async () => {
      // Prepare
      const before = h.emulator.clock.now();
      const page = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId }));
      const token = page.Blocks![0].BlockToken!;

      // Act
      h.emulator.clock.advance(BLOCK_TOKEN_LIFETIME_MS + SECOND_MS);
      const error = await rejectionOf(getBlock(h.ebs, snapshotId, 1, token));

      // Assess
      expect(page.ExpiryTime!.getTime()).toBeGreaterThanOrEqual(before + BLOCK_TOKEN_LIFETIME_MS - SECOND_MS);
      expect(page.ExpiryTime!.getTime()).toBeLessThanOrEqual(before + BLOCK_TOKEN_LIFETIME_MS + SECOND_MS);
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_BLOCK_TOKEN');
    });

    it('belongs to one snapshot and one block', async () => {
      // Prepare
      const page = await h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId }));
      const tokenOfBlock1 = page.Blocks!.find((b) => b.BlockIndex === 1)!.BlockToken!;

      // Act
      const otherBlock = await rejectionOf(getBlock(h.ebs, snapshotId, 2, tokenOfBlock1));
      const otherSnapshot = await rejectionOf(getBlock(h.ebs, otherId, 1, tokenOfBlock1));
      const garbage = await rejectionOf(
        h.ebs.send(new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: 1, BlockToken: 'not-a-token' })),
      );

      // Assess
      for (const error of [otherBlock, otherSnapshot, garbage]) {
        expect(error).toBeInstanceOf(ValidationException);
        expect(error.Reason).toBe('INVALID_BLOCK_TOKEN');
      }
    });
  });

  describe('ListChangedBlocks', () => {
    // S0: [0:a][1:b][2:c]
    // S1: [0:a][1:B][2:c][3:D]      (1 changed, 3 added)
    // S2: [0:A][1:B][2:c][3:D][9:E]  (0 changed, 9 added)
    let s0: string;
    let s1: string;
    let s2: string;
    beforeAll(async () => {
      s0 = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: blocksOf([0, 1, 2], 500) });
      s1 = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s0, blocks: blocksOf([1, 3], 600) });
      s2 = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s1, blocks: blocksOf([0, 9], 700) });
    });

    it('lists blocks added and changed, with a FirstBlockToken only where the first snapshot has the block', async () => {
      // Act
      const changes = await listAllChanges(h.ebs, s0, s1);

      // Assess
      expect(changes.map((c) => c.BlockIndex)).toEqual([1, 3]);
      expect(changes[0].FirstBlockToken).toBeDefined();
      expect(changes[0].SecondBlockToken).toBeDefined();
      expect(changes[1].FirstBlockToken).toBeUndefined();
      expect(changes[1].SecondBlockToken).toBeDefined();
    });

    it('gives tokens that read the old version from the first and the new from the second', async () => {
      // Prepare
      const [change] = await listAllChanges(h.ebs, s0, s1);

      // Act
      const before = await getBlock(h.ebs, s0, 1, change.FirstBlockToken!);
      const after = await getBlock(h.ebs, s1, 1, change.SecondBlockToken!);

      // Assess
      expect(before.data.equals(patternBlock(501))).toBe(true);
      expect(after.data.equals(patternBlock(601))).toBe(true);
    });

    it('accumulates every step between a grandparent and a grandchild', async () => {
      // Act
      const changes = await listAllChanges(h.ebs, s0, s2);

      // Assess
      expect(changes.map((c) => c.BlockIndex)).toEqual([0, 1, 3, 9]);
    });

    it('lists every allocated block of the second snapshot when no first is given', async () => {
      // Act
      const changes = await listAllChanges(h.ebs, undefined, s2);

      // Assess
      expect(changes.map((c) => c.BlockIndex)).toEqual([0, 1, 2, 3, 9]);
      expect(changes.every((c) => c.FirstBlockToken === undefined && c.SecondBlockToken !== undefined)).toBe(true);
    });

    it('compares two children of one parent through their common parent', async () => {
      // Prepare
      const sibling = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s0, blocks: blocksOf([2], 800) });

      // Act
      const changes = await listAllChanges(h.ebs, s1, sibling);

      // Assess
      expect(changes.map((c) => c.BlockIndex)).toEqual([1, 2, 3]);
      expect(changes.find((c) => c.BlockIndex === 3)?.SecondBlockToken).toBeUndefined();
    });

    it('paginates with NextToken and StartingBlockIndex', async () => {
      // Prepare
      const indexes = Array.from({ length: 150 }, (_, k) => 10 + k);
      const child = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s2, blocks: blocksOf(indexes, 900) });

      // Act
      const first = await h.ebs.send(new ListChangedBlocksCommand({ FirstSnapshotId: s2, SecondSnapshotId: child, MaxResults: 100 }));
      const second = await h.ebs.send(
        new ListChangedBlocksCommand({ FirstSnapshotId: s2, SecondSnapshotId: child, MaxResults: 100, NextToken: first.NextToken }),
      );
      const fromIndex = await h.ebs.send(
        new ListChangedBlocksCommand({ FirstSnapshotId: s2, SecondSnapshotId: child, StartingBlockIndex: 150 }),
      );

      // Assess
      expect(first.ChangedBlocks).toHaveLength(100);
      expect(second.ChangedBlocks?.map((c) => c.BlockIndex)).toEqual(indexes.slice(100));
      expect(second.NextToken).toBeUndefined();
      expect(fromIndex.ChangedBlocks?.map((c) => c.BlockIndex)).toEqual(indexes.filter((i) => i >= 150));
    });

    it('rejects snapshots of different lineages with UNRELATED_SNAPSHOTS', async () => {
      // Prepare
      const stranger = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: blocksOf([0], 1) });

      // Act
      const error = await rejectionOf(h.ebs.send(new ListChangedBlocksCommand({ FirstSnapshotId: stranger, SecondSnapshotId: s1 })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('UNRELATED_SNAPSHOTS');
    });

    it('reports a block cleared in the second snapshot without a SecondBlockToken', async () => {
      // Prepare: an EC2 lineage where the volume trimmed block 1 between the two snapshots.
      //   P0: [0:a][1:b]      P1: [0:a][1: cleared][2:c]
      const store = h.emulator.store;
      const p0 = await store.createSnapshotFromVolume({
        volumeId: 'vol-0aaaaaaaaaaaaaaaa',
        volumeSize: 1,
        changed: new Map([
          [0, patternBlock(1)],
          [1, patternBlock(2)],
        ]),
        tags: [],
        encrypted: false,
      });
      const p1 = await store.createSnapshotFromVolume({
        volumeId: 'vol-0aaaaaaaaaaaaaaaa',
        volumeSize: 1,
        parentSnapshotId: p0.snapshotId,
        changed: new Map([
          [1, null],
          [2, patternBlock(3)],
        ]),
        tags: [],
        encrypted: false,
      });

      // Act
      const changes = await listAllChanges(h.ebs, p0.snapshotId, p1.snapshotId);

      // Assess
      expect(changes.map((c) => c.BlockIndex)).toEqual([1, 2]);
      expect(changes[0].FirstBlockToken).toBeDefined();
      expect(changes[0].SecondBlockToken).toBeUndefined();
      expect(changes[1].FirstBlockToken).toBeUndefined();
      expect(store.listBlockIndexes(p1.snapshotId)).toEqual([0, 2]);
    });
  });
});

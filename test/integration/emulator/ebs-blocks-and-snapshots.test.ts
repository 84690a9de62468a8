import {
  CompleteSnapshotCommand,
  ListSnapshotBlocksCommand,
  PutSnapshotBlockCommand,
  ResourceNotFoundException,
  StartSnapshotCommand,
  ValidationException,
} from '@aws-sdk/client-ebs';
import { BLOCKS_PER_GIB, BLOCK_SIZE } from '../../../shared/core/constants';
import type { EbsApiError } from '../../../local/emulator/errors';
import { sha256Hex } from '../../../local/block-content';
import {
  getBlock,
  listAllBlocks,
  patternBlock,
  putBlock,
  readImage,
  rejectionOf,
  sha256Base64,
  startHarness,
  stopHarness,
  writeSnapshot,
  type EbsHarness,
} from './ebs-helpers';

describe('EBS emulator: blocks and snapshots', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  describe('PutSnapshotBlock / GetSnapshotBlock', () => {
    it('reads back each written block with its checksum and data length', async () => {
      // Prepare
      const blocks = new Map([
        [0, patternBlock(10)],
        [7, patternBlock(17)],
      ]);
      const snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks });

      // Act
      const tokens = await listAllBlocks(h.ebs, snapshotId);
      const read = await getBlock(h.ebs, snapshotId, 7, tokens.get(7)!);

      // Assess
      expect([...tokens.keys()]).toEqual([0, 7]);
      expect(read.data.equals(blocks.get(7)!)).toBe(true);
      expect(read.checksum).toBe(sha256Base64(blocks.get(7)!));
      expect(read.dataLength).toBe(BLOCK_SIZE);
    });

    it('rejects a block index beyond the volume with INVALID_BLOCK', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Act
      const error = await rejectionOf(putBlock(h.ebs, started.SnapshotId!, BLOCKS_PER_GIB, patternBlock(1)));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_BLOCK');
    });

    it('rejects data that is not exactly one block long', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const short = Buffer.alloc(4_096, 1);

      // Act
      const error = await rejectionOf(
        h.ebs.send(
          new PutSnapshotBlockCommand({
            SnapshotId: started.SnapshotId!,
            BlockIndex: 0,
            BlockData: short,
            DataLength: short.length,
            Checksum: sha256Base64(short),
            ChecksumAlgorithm: 'SHA256',
          }),
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_PARAMETER_VALUE');
    });

    it('rejects a write to a block another request is still writing with CONFLICTING_BLOCK_UPDATE', async () => {
      // Prepare: two writes issued on the store in one tick, so the second surely overlaps the
      // first (over HTTP the overlap depends on timing, too loose for a test).
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const store = h.emulator.store;
      const first = patternBlock(301);
      const second = patternBlock(302);

      // Act
      const outcomes = await Promise.allSettled([
        store.putSnapshotBlock(started.SnapshotId!, 3, first, sha256Hex(first)),
        store.putSnapshotBlock(started.SnapshotId!, 3, second, sha256Hex(second)),
      ]);

      // Assess
      expect(outcomes[0].status).toBe('fulfilled');
      expect(outcomes[1].status).toBe('rejected');
      const error = (outcomes[1] as PromiseRejectedResult).reason as EbsApiError;
      expect(error.type).toBe('ValidationException');
      expect(error.reason).toBe('CONFLICTING_BLOCK_UPDATE');
    });

    it('keeps the last of two writes to one block', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const snapshotId = started.SnapshotId!;
      await putBlock(h.ebs, snapshotId, 2, patternBlock(1));
      await putBlock(h.ebs, snapshotId, 2, patternBlock(2));

      // Act
      const completed = await h.ebs.send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: 1 }));
      const image = await readImage(h.ebs, snapshotId);

      // Assess
      expect(completed.Status).toBe('completed');
      expect(image.get(2)!.equals(patternBlock(2))).toBe(true);
    });
  });

  describe('ParentSnapshotId', () => {
    it('gives the child every block of its parent, changed only where written', async () => {
      // Prepare
      //   parent: [0:a][1:b][2:c]
      //   child : [    ][1:B][    ][5:D]   →   image [0:a][1:B][2:c][5:D]
      const parentId = await writeSnapshot(h.ebs, {
        volumeSize: 1,
        blocks: new Map([
          [0, patternBlock(100)],
          [1, patternBlock(101)],
          [2, patternBlock(102)],
        ]),
      });

      // Act
      const childId = await writeSnapshot(h.ebs, {
        volumeSize: 2,
        parentSnapshotId: parentId,
        blocks: new Map([
          [1, patternBlock(201)],
          [5, patternBlock(205)],
        ]),
      });
      const child = await readImage(h.ebs, childId);
      const parent = await readImage(h.ebs, parentId);

      // Assess
      expect([...child.keys()]).toEqual([0, 1, 2, 5]);
      expect(child.get(0)!.equals(patternBlock(100))).toBe(true);
      expect(child.get(1)!.equals(patternBlock(201))).toBe(true);
      expect(child.get(2)!.equals(patternBlock(102))).toBe(true);
      expect(parent.get(1)!.equals(patternBlock(101))).toBe(true);
      expect(parent.has(5)).toBe(false);
    });

    it('rejects a child smaller than its parent with INVALID_VOLUME_SIZE', async () => {
      // Prepare
      const parentId = await writeSnapshot(h.ebs, { volumeSize: 2, blocks: new Map([[0, patternBlock(1)]]) });

      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ParentSnapshotId: parentId })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_VOLUME_SIZE');
    });

    it('rejects an unknown parent with SNAPSHOT_NOT_FOUND', async () => {
      // Act
      const error = await rejectionOf(
        h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ParentSnapshotId: 'snap-0123456789abcdef0' })),
      );

      // Assess
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect(error.Reason).toBe('SNAPSHOT_NOT_FOUND');
    });

    it('keeps a child readable after its parent is deleted', async () => {
      // Prepare
      const parentId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[3, patternBlock(3)]]) });
      const childId = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: parentId, blocks: new Map([[4, patternBlock(4)]]) });

      // Act
      await h.emulator.store.deleteSnapshot(parentId);
      const child = await readImage(h.ebs, childId);
      const error = await rejectionOf(h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: parentId })));

      // Assess
      expect([...child.keys()]).toEqual([3, 4]);
      expect(child.get(3)!.equals(patternBlock(3))).toBe(true);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
    });
  });

  describe('StartSnapshot', () => {
    it.each([0, 65_537])('rejects VolumeSize %i with INVALID_VOLUME_SIZE', async (volumeSize) => {
      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: volumeSize })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_VOLUME_SIZE');
    });

    it.each([9, 4_321])('rejects Timeout %i minutes', async (timeout) => {
      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Timeout: timeout })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_PARAMETER_VALUE');
    });

    it('accepts 50 tags and rejects 51 with INVALID_TAG', async () => {
      // Prepare
      const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));

      // Act
      const fifty = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Tags: tags(50) }));
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Tags: tags(51) })));

      // Assess
      expect(fifty.Tags).toHaveLength(50);
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_TAG');
    });

    it('reports a pending direct-API snapshot with its size, block size and tags', async () => {
      // Act
      const started = await h.ebs.send(
        new StartSnapshotCommand({ VolumeSize: 3, Description: 'secondary', Tags: [{ Key: 'k', Value: 'v' }] }),
      );

      // Assess
      expect(started.Status).toBe('pending');
      expect(started.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
      expect(started.VolumeSize).toBe(3);
      expect(started.BlockSize).toBe(BLOCK_SIZE);
      expect(started.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
      expect(started.StartTime).toBeInstanceOf(Date);
      expect(h.emulator.store.getSnapshot(started.SnapshotId!)?.volumeId).toBe('vol-ffffffff');
    });
  });

  describe('CompleteSnapshot', () => {
    it('refuses more blocks once the snapshot is completed', async () => {
      // Prepare
      const snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(0)]]) });

      // Act
      const error = await rejectionOf(putBlock(h.ebs, snapshotId, 1, patternBlock(1)));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.$metadata?.httpStatusCode).toBe(400);
    });

    it('refuses to list or read a snapshot that is not completed', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      await putBlock(h.ebs, started.SnapshotId!, 0, patternBlock(0));

      // Act
      const error = await rejectionOf(h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: started.SnapshotId! })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
    });
  });
});

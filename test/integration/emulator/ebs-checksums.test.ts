import { createHash } from 'node:crypto';
import { CompleteSnapshotCommand, PutSnapshotBlockCommand, StartSnapshotCommand, ValidationException } from '@aws-sdk/client-ebs';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import {
  linearChecksum,
  listAllBlocks,
  getBlock,
  patternBlock,
  putBlock,
  rejectionOf,
  sha256Base64,
  startHarness,
  stopHarness,
  type EbsHarness,
} from './ebs-helpers';

/** SHA-256 of an all-zero block, as EBS-FACTS.md gives it. */
const ZERO_BLOCK_SHA256 = 'B4VNL+8pega6gWheZgwzLeNtXRjVRpJ9MNqtbX/aFUE=';

describe('EBS emulator: checksums', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  async function pendingWith(blocks: Map<number, Buffer>): Promise<string> {
    const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
    for (const [index, data] of blocks) await putBlock(h.ebs, started.SnapshotId!, index, data);
    return started.SnapshotId!;
  }

  describe('PutSnapshotBlock', () => {
    it('rejects a block whose data does not match its SHA-256 checksum', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Act
      const error = await rejectionOf(
        h.ebs.send(
          new PutSnapshotBlockCommand({
            SnapshotId: started.SnapshotId!,
            BlockIndex: 0,
            BlockData: patternBlock(1),
            DataLength: BLOCK_SIZE,
            Checksum: sha256Base64(patternBlock(2)),
            ChecksumAlgorithm: 'SHA256',
          }),
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_PARAMETER_VALUE');
    });

    it('stores a zero block under the well-known zero-block checksum', async () => {
      // Prepare
      const snapshotId = await pendingWith(new Map([[4, Buffer.alloc(BLOCK_SIZE)]]));
      await h.ebs.send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: 1 }));

      // Act
      const tokens = await listAllBlocks(h.ebs, snapshotId);
      const read = await getBlock(h.ebs, snapshotId, 4, tokens.get(4)!);

      // Assess
      expect(read.checksum).toBe(ZERO_BLOCK_SHA256);
      expect(read.data.equals(Buffer.alloc(BLOCK_SIZE))).toBe(true);
    });
  });

  describe('CompleteSnapshot', () => {
    const blocks = new Map([
      [9, patternBlock(9)],
      [2, patternBlock(2)],
      [5, patternBlock(5)],
    ]);

    it('accepts the LINEAR aggregate of the raw digests in ascending block order', async () => {
      // Prepare
      const snapshotId = await pendingWith(blocks);

      // Act
      const out = await h.ebs.send(
        new CompleteSnapshotCommand({
          SnapshotId: snapshotId,
          ChangedBlocksCount: 3,
          Checksum: linearChecksum(blocks),
          ChecksumAlgorithm: 'SHA256',
          ChecksumAggregationMethod: 'LINEAR',
        }),
      );

      // Assess
      expect(out.Status).toBe('completed');
    });

    it('rejects an aggregate built in write order instead of block order, and stays pending', async () => {
      // Prepare
      const snapshotId = await pendingWith(blocks);
      const writeOrder = createHash('sha256');
      for (const data of blocks.values()) writeOrder.update(createHash('sha256').update(data).digest());

      // Act
      const error = await rejectionOf(
        h.ebs.send(
          new CompleteSnapshotCommand({
            SnapshotId: snapshotId,
            ChangedBlocksCount: 3,
            Checksum: writeOrder.digest('base64'),
            ChecksumAlgorithm: 'SHA256',
            ChecksumAggregationMethod: 'LINEAR',
          }),
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(h.emulator.store.getSnapshot(snapshotId)?.state).toBe('pending');
    });

    it('rejects a ChangedBlocksCount that differs from the blocks written', async () => {
      // Prepare
      const snapshotId = await pendingWith(blocks);

      // Act
      const error = await rejectionOf(h.ebs.send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: 2 })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_PARAMETER_VALUE');
    });
  });
});

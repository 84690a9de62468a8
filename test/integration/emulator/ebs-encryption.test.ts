import { StartSnapshotCommand, ValidationException } from '@aws-sdk/client-ebs';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { unwrittenEncryptedBlock } from '../../../local/emulator';
import { listAllBlocks, patternBlock, rejectionOf, startHarness, stopHarness, writeSnapshot, type EbsHarness } from './ebs-helpers';

describe('EBS emulator: encryption', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  describe('StartSnapshot Encrypted', () => {
    it('rejects Encrypted together with ParentSnapshotId', async () => {
      // Prepare
      const parentId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(0)]]) });

      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ParentSnapshotId: parentId, Encrypted: true })));

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_PARAMETER_VALUE');
    });

    it('uses the given KMS key and passes it on to children', async () => {
      // Prepare
      const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
      const parentId = await writeSnapshot(h.ebs, {
        volumeSize: 1,
        blocks: new Map([[0, patternBlock(0)]]),
        start: { Encrypted: true, KmsKeyArn: keyArn },
      });

      // Act
      const child = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ParentSnapshotId: parentId }));

      // Assess
      expect(child.KmsKeyArn).toBe(keyArn);
      expect(h.emulator.store.getSnapshot(child.SnapshotId!)?.encrypted).toBe(true);
    });

    it('uses the account default key when none is given', async () => {
      // Act
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Encrypted: true }));

      // Assess
      expect(started.KmsKeyArn).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\//);
    });
  });

  describe('never-written blocks', () => {
    it('lists only written blocks, and reads unwritten ones as random bytes, not zeros', async () => {
      // Prepare
      const snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[1, patternBlock(1)]]), start: { Encrypted: true } });
      const info = h.emulator.store.getSnapshot(snapshotId)!;

      // Act
      const listed = await listAllBlocks(h.ebs, snapshotId);
      const unwritten = await h.emulator.store.readImageBlock(snapshotId, 0);
      const again = await h.emulator.store.readImageBlock(snapshotId, 0);
      const neighbour = await h.emulator.store.readImageBlock(snapshotId, 2);

      // Assess
      expect([...listed.keys()]).toEqual([1]);
      expect(await h.emulator.store.readBlock(snapshotId, 0)).toBeUndefined();
      expect(unwritten.equals(Buffer.alloc(BLOCK_SIZE))).toBe(false);
      expect(unwritten.equals(again)).toBe(true);
      expect(unwritten.equals(neighbour)).toBe(false);
      expect(unwritten.equals(unwrittenEncryptedBlock(info.lineageId, 0))).toBe(true);
    });

    it('reads unwritten blocks of an unencrypted snapshot as zeros', async () => {
      // Prepare
      const snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[1, patternBlock(1)]]) });

      // Act
      const unwritten = await h.emulator.store.readImageBlock(snapshotId, 0);

      // Assess
      expect(unwritten.equals(Buffer.alloc(BLOCK_SIZE))).toBe(true);
    });
  });
});

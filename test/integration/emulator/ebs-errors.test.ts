import {
  ConflictException,
  GetSnapshotBlockCommand,
  InternalServerException,
  ListSnapshotBlocksCommand,
  PutSnapshotBlockCommand,
  ResourceNotFoundException,
  StartSnapshotCommand,
  ValidationException,
} from '@aws-sdk/client-ebs';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { patternBlock, rejectionOf, sha256Base64, startHarness, stopHarness, type EbsHarness } from './ebs-helpers';

describe('EBS emulator: errors', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  describe('status, exception class and Reason', () => {
    it('answers an unknown snapshot with ResourceNotFoundException SNAPSHOT_NOT_FOUND (404)', async () => {
      // Act
      const error = await rejectionOf(h.ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: 'snap-0fedcba9876543210' })));

      // Assess
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect(error.Reason).toBe('SNAPSHOT_NOT_FOUND');
      expect(error.$metadata?.httpStatusCode).toBe(404);
    });

    it('answers a malformed snapshot id with ValidationException INVALID_SNAPSHOT_ID (400)', async () => {
      // Act
      const error = await rejectionOf(
        h.ebs.send(new GetSnapshotBlockCommand({ SnapshotId: 'not-a-snapshot', BlockIndex: 0, BlockToken: 'x' })),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_SNAPSHOT_ID');
      expect(error.$metadata?.httpStatusCode).toBe(400);
    });

    it('answers a reused ClientToken with other parameters with ConflictException (409)', async () => {
      // Prepare
      await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ClientToken: 'errors-conflict' }));

      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 2, ClientToken: 'errors-conflict' })));

      // Assess
      expect(error).toBeInstanceOf(ConflictException);
      expect(error.$metadata?.httpStatusCode).toBe(409);
    });

    it('answers an injected server fault with InternalServerException (500), retryable', async () => {
      // Prepare
      h.emulator.faults.update({ serverErrorRate: 1 });

      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 })));
      h.emulator.faults.update({ serverErrorRate: 0 });
      const after = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Assess
      expect(error).toBeInstanceOf(InternalServerException);
      expect(error.$metadata?.httpStatusCode).toBe(500);
      expect(after.Status).toBe('pending');
    });

    it('answers a missing checksum algorithm with ValidationException', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const data = patternBlock(1);

      // Act
      const error = await rejectionOf(
        h.ebs.send(
          new PutSnapshotBlockCommand({
            SnapshotId: started.SnapshotId!,
            BlockIndex: 0,
            BlockData: data,
            DataLength: BLOCK_SIZE,
            Checksum: sha256Base64(data),
            ChecksumAlgorithm: 'MD5' as 'SHA256',
          }),
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.Reason).toBe('INVALID_PARAMETER_VALUE');
    });
  });
});

/**
 * Ec2Volumes against the local cloud: a volume created from a snapshot like its source, and the
 * in-place swap with its rollback.
 *
 *   instance (running) ── /dev/xvda ── original        swap ▶  instance ── /dev/xvda ── replacement
 *                                                      fail ▶  instance ── /dev/xvda ── original (rolled back)
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Volumes } from '../../../shared/aws/ec2-volumes';
import { InvalidVolumeError, SwapFailedError } from '../../../shared/core/ports/errors';
import { OWNER_TAG } from '../../../shared/core/tags';
import { ROOT_DEVICE_NAME } from '../../../local/emulator/ec2';
import { patternBlock, REGION, rejectionOf, sha256Hex, startAdaptersHarness, stopAdaptersHarness, ZONE, type AdaptersHarness } from './adapters-harness';

const POLL_INTERVAL_MS = 10;
const OTHER_ZONE = 'us-east-1b';
const KMS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/restore-test';

/**
 * An EC2 client whose first call of `commandName` fails as EC2 would fail it. The emulator's
 * fault switches cover the EBS half only, so the failure of one swap step is injected here, in
 * the SDK's middleware; every other call goes to the emulator over HTTP.
 */
function failingOnce(endpoint: string, commandName: string, code: string): EC2Client {
  const client = new EC2Client({ endpoint, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  let failed = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!failed && context.commandName === commandName) {
        failed = true;
        throw Object.assign(new Error(`${commandName} failed (injected)`), { name: code, $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'failOnceForTest' },
  );
  return client;
}

describe('Ec2Volumes', () => {
  let harness: AdaptersHarness;

  beforeAll(async () => {
    harness = await startAdaptersHarness();
  });

  afterAll(async () => {
    await stopAdaptersHarness(harness);
  });

  beforeEach(() => {
    harness.emulator.stats.reset();
  });

  /** A running instance booting from a fresh volume, and an available replacement volume. */
  async function instanceWithReplacement(replacementZone = ZONE): Promise<{ instanceId: string; original: string; replacement: string }> {
    const original = (await harness.model.createVolume({ availabilityZone: ZONE, size: 1 })).volumeId;
    const replacement = (await harness.model.createVolume({ availabilityZone: replacementZone, size: 1 })).volumeId;
    const instanceId = await harness.model.createInstance({ availabilityZone: ZONE, rootVolume: original });
    return { instanceId, original, replacement };
  }

  function instanceState(instanceId: string): string {
    return harness.model.describeInstances([instanceId])[0].state;
  }

  describe('createVolumeFromSnapshot', () => {
    it("creates an available volume with the source's type, iops, throughput and encryption, holding the snapshot's blocks", async () => {
      // Prepare
      const source = await harness.model.createVolume({
        availabilityZone: ZONE,
        size: 2,
        volumeType: 'gp3',
        iops: 4_000,
        throughput: 250,
        encrypted: true,
        kmsKeyId: KMS_KEY,
      });
      await harness.model.writeBlock(source.volumeId, 5, patternBlock(5));
      const snapshot = await harness.model.createSnapshot(source.volumeId, {});
      const volumes = new Ec2Volumes(harness.clients.ec2, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 50 });
      const like = await volumes.describeVolume(source.volumeId);

      // Act
      const restored = await volumes.createVolumeFromSnapshot({ snapshotId: snapshot.snapshotId, availabilityZone: ZONE, like, tags: [{ key: 'ebs-cdp:restore-point', value: '4' }] });

      // Assess
      expect(restored).toMatchObject({ size: 2, availabilityZone: ZONE, volumeType: 'gp3', iops: 4_000, throughput: 250, encrypted: true, kmsKeyId: KMS_KEY, state: 'available' });
      expect(restored.volumeId).not.toBe(source.volumeId);
      expect(sha256Hex(await harness.model.readBlock(restored.volumeId, 5))).toBe(sha256Hex(patternBlock(5)));
      const tags = harness.model.describeVolumes([restored.volumeId])[0].tags;
      expect(tags).toEqual(expect.arrayContaining([{ Key: OWNER_TAG.key, Value: OWNER_TAG.value }, { Key: 'ebs-cdp:restore-point', Value: '4' }]));
    });

    it('fails with InvalidVolumeError when describing a volume that does not exist', async () => {
      // Act
      const error = await rejectionOf(new Ec2Volumes(harness.clients.ec2).describeVolume('vol-0123456789abcdef0'));

      // Assess
      expect(error).toBeInstanceOf(InvalidVolumeError);
    });
  });

  describe('swapVolume', () => {
    it('stops the instance, puts the replacement at the same device and starts it again', async () => {
      // Prepare
      const { instanceId, original, replacement } = await instanceWithReplacement();
      const volumes = new Ec2Volumes(harness.clients.ec2, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 50 });

      // Act
      const result = await volumes.swapVolume({ instanceId, volumeId: original, replacementVolumeId: replacement });

      // Assess
      expect(result).toEqual({ instanceId, device: ROOT_DEVICE_NAME, detachedVolumeId: original, attachedVolumeId: replacement, restarted: true });
      expect((await volumes.describeVolume(replacement)).attachment).toEqual({ instanceId, device: ROOT_DEVICE_NAME });
      expect((await volumes.describeVolume(original)).state).toBe('available');
      expect(instanceState(instanceId)).toBe('running');
      expect(harness.emulator.stats.calls['EC2:StopInstances']).toBe(1);
      expect(harness.emulator.stats.calls['EC2:StartInstances']).toBe(1);
    });

    it('rolls back to the original volume when attaching the replacement fails', async () => {
      // Prepare
      const { instanceId, original, replacement } = await instanceWithReplacement();
      const client = failingOnce(harness.emulator.endpoint, 'AttachVolumeCommand', 'IncorrectState');
      const volumes = new Ec2Volumes(client, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 50 });

      // Act
      const error = await rejectionOf(volumes.swapVolume({ instanceId, volumeId: original, replacementVolumeId: replacement }));

      // Assess
      expect(error).toBeInstanceOf(SwapFailedError);
      const swap = error as SwapFailedError;
      expect(swap.failedStep).toBe(`attach ${replacement} at ${ROOT_DEVICE_NAME}`);
      expect(swap.rolledBack).toBe(true);
      expect(swap.rollback).toEqual([`re-attached ${original} at ${ROOT_DEVICE_NAME}`, 'restarted instance']);
      expect(swap.message).toMatch(/the original volume is back in place/);
      expect((await volumes.describeVolume(original)).attachment).toEqual({ instanceId, device: ROOT_DEVICE_NAME });
      expect((await volumes.describeVolume(replacement)).state).toBe('available');
      expect(instanceState(instanceId)).toBe('running');
      client.destroy();
    });

    it('rolls back a swap whose restart fails: replacement off, original back, instance started', async () => {
      // Prepare
      const { instanceId, original, replacement } = await instanceWithReplacement();
      const client = failingOnce(harness.emulator.endpoint, 'StartInstancesCommand', 'InsufficientInstanceCapacity');
      const volumes = new Ec2Volumes(client, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 50 });

      // Act
      const error = await rejectionOf(volumes.swapVolume({ instanceId, volumeId: original, replacementVolumeId: replacement }));

      // Assess
      expect(error).toBeInstanceOf(SwapFailedError);
      const swap = error as SwapFailedError;
      expect(swap.failedStep).toBe('start instance');
      expect(swap.rollback).toEqual([`detached ${replacement}`, `re-attached ${original} at ${ROOT_DEVICE_NAME}`, 'restarted instance']);
      expect(swap.rolledBack).toBe(true);
      expect((await volumes.describeVolume(original)).attachment).toEqual({ instanceId, device: ROOT_DEVICE_NAME });
      expect(instanceState(instanceId)).toBe('running');
      client.destroy();
    });

    it('changes nothing when the replacement is in another Availability Zone', async () => {
      // Prepare
      const { instanceId, original, replacement } = await instanceWithReplacement(OTHER_ZONE);
      const volumes = new Ec2Volumes(harness.clients.ec2, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 50 });

      // Act
      const error = await rejectionOf(volumes.swapVolume({ instanceId, volumeId: original, replacementVolumeId: replacement }));

      // Assess
      expect(error).toBeInstanceOf(InvalidVolumeError);
      expect(error.message).toMatch(/same Availability Zone\. Nothing was changed/);
      expect(harness.emulator.stats.calls['EC2:StopInstances']).toBeUndefined();
      expect(instanceState(instanceId)).toBe('running');
    });
  });
});

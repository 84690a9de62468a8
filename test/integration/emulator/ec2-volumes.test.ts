import {
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  waitUntilVolumeAvailable,
} from '@aws-sdk/client-ec2';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { patternBlock } from './ebs-helpers';
import { rejectionOf, startEc2Harness, stopEc2Harness, ZONE, type Ec2Harness } from './ec2-helpers';

describe('EC2 emulator: volumes', () => {
  let h: Ec2Harness;
  beforeAll(async () => {
    h = await startEc2Harness();
  });
  afterAll(async () => {
    await stopEc2Harness(h);
  });

  describe('CreateVolume', () => {
    it('creates an available gp3 volume with its defaults, tags and encryption', async () => {
      // Prepare
      const input = {
        AvailabilityZone: ZONE,
        Size: 8,
        VolumeType: 'gp3' as const,
        Encrypted: true,
        KmsKeyId: 'alias/cdp',
        TagSpecifications: [{ ResourceType: 'volume' as const, Tags: [{ Key: 'Name', Value: 'primary' }] }],
      };

      // Act
      const created = await h.ec2.send(new CreateVolumeCommand(input));

      // Assess
      expect(created.VolumeId).toMatch(/^vol-[0-9a-f]{17}$/);
      expect(created.State).toBe('available');
      expect(created.Size).toBe(8);
      expect(created.AvailabilityZone).toBe(ZONE);
      expect(created.Iops).toBe(3000);
      expect(created.Throughput).toBe(125);
      expect(created.Encrypted).toBe(true);
      expect(created.KmsKeyId).toBe('alias/cdp');
      expect(created.Tags).toEqual([{ Key: 'Name', Value: 'primary' }]);
      expect(created.CreateTime).toBeInstanceOf(Date);
    });

    it('defaults to an unencrypted gp2 volume', async () => {
      // Act
      const created = await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }));

      // Assess
      expect(created.VolumeType).toBe('gp2');
      expect(created.Encrypted).toBe(false);
      expect(created.Iops).toBeUndefined();
    });

    it('rejects a missing size, a bad size, a bad type, a bad zone and io2 without iops', async () => {
      // Act
      const errors = await Promise.all([
        rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE }))),
        rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 0 }))),
        rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1, VolumeType: 'floppy' as 'gp2' }))),
        rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'mars-1', Size: 1 }))),
        rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1, VolumeType: 'io2' }))),
      ]);

      // Assess
      expect(errors.map((error) => error.name)).toEqual([
        'MissingParameter', 'InvalidParameterValue', 'InvalidParameterValue', 'InvalidZone.NotFound', 'MissingParameter',
      ]);
      expect(errors.every((error) => error.$metadata?.httpStatusCode === 400)).toBe(true);
    });

    it('rejects a snapshot that does not exist', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, SnapshotId: 'snap-00000000000000000' })));

      // Assess
      expect(error.name).toBe('InvalidSnapshot.NotFound');
    });

    it('answers a DryRun with DryRunOperation and creates nothing', async () => {
      // Prepare
      const before = (await h.ec2.send(new DescribeVolumesCommand({}))).Volumes?.length;

      // Act
      const error = await rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1, DryRun: true })));

      // Assess
      expect(error.name).toBe('DryRunOperation');
      expect((await h.ec2.send(new DescribeVolumesCommand({}))).Volumes?.length).toBe(before);
    });
  });

  describe('DescribeVolumes', () => {
    let tagged: string;
    let plain: string;
    beforeAll(async () => {
      tagged = (await h.ec2.send(new CreateVolumeCommand({
        AvailabilityZone: ZONE,
        Size: 2,
        TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'storage-blue' }] }],
      }))).VolumeId!;
      plain = (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 3, VolumeType: 'io1', Iops: 100 }))).VolumeId!;
    });

    it('returns the named volumes', async () => {
      // Act
      const described = await h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [plain, tagged] }));

      // Assess
      expect(described.Volumes?.map((volume) => volume.VolumeId).sort()).toEqual([plain, tagged].sort());
      expect(described.Volumes?.find((volume) => volume.VolumeId === plain)?.Attachments).toEqual([]);
    });

    it('rejects an unknown volume id with InvalidVolume.NotFound', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [plain, 'vol-00000000000000000'] })));

      // Assess
      expect(error.name).toBe('InvalidVolume.NotFound');
      expect(error.message).toContain('vol-00000000000000000');
    });

    it('filters by volume-id, tag:Key with a wildcard, tag-key, size and volume-type', async () => {
      // Act
      const ids = async (Filters: Array<{ Name: string; Values: string[] }>): Promise<string[]> =>
        ((await h.ec2.send(new DescribeVolumesCommand({ Filters }))).Volumes ?? []).map((volume) => volume.VolumeId!);
      const [byId, byTag, byTagKey, bySize, byType, none] = await Promise.all([
        ids([{ Name: 'volume-id', Values: [plain] }]),
        ids([{ Name: 'tag:team', Values: ['storage-*'] }]),
        ids([{ Name: 'tag-key', Values: ['team'] }]),
        ids([{ Name: 'size', Values: ['2', '3'] }, { Name: 'status', Values: ['available'] }]),
        ids([{ Name: 'volume-type', Values: ['io1'] }]),
        ids([{ Name: 'tag:team', Values: ['storage-red'] }]),
      ]);

      // Assess
      expect(byId).toEqual([plain]);
      expect(byTag).toEqual([tagged]);
      expect(byTagKey).toEqual([tagged]);
      expect(bySize.sort()).toEqual([plain, tagged].sort());
      expect(byType).toEqual([plain]);
      expect(none).toEqual([]);
    });

    it('rejects an unknown filter name', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })));

      // Assess
      expect(error.name).toBe('InvalidParameterValue');
    });

    it('satisfies the SDK waiter for volume-available', async () => {
      // Act
      const result = await waitUntilVolumeAvailable({ client: h.ec2, minDelay: 1, maxWaitTime: 5 }, { VolumeIds: [plain] });

      // Assess
      expect(result.state).toBe('SUCCESS');
    });
  });

  describe('CreateTags / DeleteTags', () => {
    it('adds, replaces and removes volume tags', async () => {
      // Prepare
      const volumeId = (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;

      // Act
      await h.ec2.send(new CreateTagsCommand({ Resources: [volumeId], Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
      await h.ec2.send(new CreateTagsCommand({ Resources: [volumeId], Tags: [{ Key: 'a', Value: '3' }] }));
      await h.ec2.send(new DeleteTagsCommand({ Resources: [volumeId], Tags: [{ Key: 'b', Value: 'not-2' }] }));
      const afterMismatch = (await h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0].Tags;
      await h.ec2.send(new DeleteTagsCommand({ Resources: [volumeId], Tags: [{ Key: 'b' }] }));
      const afterDelete = (await h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0].Tags;

      // Assess
      expect(afterMismatch).toEqual([{ Key: 'a', Value: '3' }, { Key: 'b', Value: '2' }]);
      expect(afterDelete).toEqual([{ Key: 'a', Value: '3' }]);
    });

    it('tags nothing when one resource does not exist', async () => {
      // Prepare
      const volumeId = (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;

      // Act
      const error = await rejectionOf(h.ec2.send(new CreateTagsCommand({ Resources: [volumeId, 'vol-00000000000000000'], Tags: [{ Key: 'a', Value: '1' }] })));

      // Assess
      expect(error.name).toBe('InvalidVolume.NotFound');
      expect((await h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0].Tags).toBeUndefined();
    });
  });

  describe('DeleteVolume', () => {
    it('deletes an available volume', async () => {
      // Prepare
      const volumeId = (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;

      // Act
      await h.ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }));

      // Assess
      const error = await rejectionOf(h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })));
      expect(error.name).toBe('InvalidVolume.NotFound');
    });

    it('rejects an unknown volume', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new DeleteVolumeCommand({ VolumeId: 'vol-00000000000000000' })));

      // Assess
      expect(error.name).toBe('InvalidVolume.NotFound');
    });
  });

  describe('workload API', () => {
    it('reads back blocks and byte ranges written through the model', async () => {
      // Prepare
      const volumeId = (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;
      const block = patternBlock(3);

      // Act
      await h.model.writeBlock(volumeId, 5, block);
      await h.model.writeBytes(volumeId, 7 * BLOCK_SIZE - 2, Buffer.from([1, 2, 3, 4]));
      const [five, six, seven] = await Promise.all([5, 6, 7].map((blockIndex) => h.model.readBlock(volumeId, blockIndex)));

      // Assess
      expect(five.equals(block)).toBe(true);
      expect([...six.subarray(BLOCK_SIZE - 2)]).toEqual([1, 2]);
      expect([...seven.subarray(0, 3)]).toEqual([3, 4, 0]);
    });

    it('rejects blocks outside the volume and blocks of the wrong size', async () => {
      // Prepare
      const volumeId = (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;

      // Act
      const outside = await rejectionOf(h.model.writeBlock(volumeId, 2048, patternBlock(1)));
      const short = await rejectionOf(h.model.writeBlock(volumeId, 0, Buffer.alloc(10)));
      const pastEnd = await rejectionOf(h.model.writeBytes(volumeId, 2048 * BLOCK_SIZE - 1, Buffer.alloc(2)));
      const inMemory = await rejectionOf(Promise.resolve().then(() => h.model.volumePath(volumeId)));

      // Assess
      expect([outside, short, pastEnd, inMemory].map((error) => (error as { code?: string }).code)).toEqual([
        'InvalidParameterValue', 'InvalidParameterValue', 'InvalidParameterValue', 'InvalidParameterValue',
      ]);
      expect((outside as { blockIndex?: number }).blockIndex).toBe(2048);
    });
  });
});

import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  paginateDescribeSnapshots,
  type DescribeSnapshotsCommandInput,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { listAllBlocks, listAllChanges, patternBlock, readImage, writeSnapshot } from './ebs-helpers';
import { rejectionOf, startEc2Harness, stopEc2Harness, ZONE, type Ec2Harness } from './ec2-helpers';

describe('EC2 emulator: snapshots', () => {
  let h: Ec2Harness;
  beforeAll(async () => {
    h = await startEc2Harness();
  });
  afterAll(async () => {
    await stopEc2Harness(h);
  });

  async function newVolume(size = 1): Promise<string> {
    return (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: size }))).VolumeId!;
  }

  async function snapshot(volumeId: string, tags: Array<{ Key: string; Value: string }> = []): Promise<Snapshot> {
    return h.ec2.send(new CreateSnapshotCommand({
      VolumeId: volumeId,
      Description: `of ${volumeId}`,
      TagSpecifications: tags.length === 0 ? undefined : [{ ResourceType: 'snapshot', Tags: tags }],
    }));
  }

  describe('CreateSnapshot', () => {
    it('records exactly the written blocks of a new volume, readable through the EBS direct APIs', async () => {
      // Prepare
      const volumeId = await newVolume();
      const written = new Map([[0, patternBlock(1)], [9, patternBlock(2)], [2047, patternBlock(3)]]);
      for (const [blockIndex, data] of written) await h.model.writeBlock(volumeId, blockIndex, data);
      await h.model.writeBlock(volumeId, 4, Buffer.alloc(BLOCK_SIZE));

      // Act
      const created = await snapshot(volumeId, [{ Key: 'cdp:role', Value: 'primary' }]);

      // Assess
      expect(created.SnapshotId).toMatch(/^snap-/);
      expect(created.VolumeId).toBe(volumeId);
      expect(created.VolumeSize).toBe(1);
      expect(created.State).toBe('completed');
      expect(created.Progress).toBe('100%');
      expect(created.Description).toBe(`of ${volumeId}`);
      expect(created.Tags).toEqual([{ Key: 'cdp:role', Value: 'primary' }]);
      const image = await readImage(h.ebs, created.SnapshotId!);
      expect([...image.keys()]).toEqual([0, 9, 2047]);
      for (const [blockIndex, data] of written) expect(image.get(blockIndex)!.equals(data)).toBe(true);
    });

    it('is incremental: the changed blocks between two snapshots are exactly what was written since', async () => {
      /*
       * block      1   2   3   5   9
       * snap A     a   b   c   .   .
       * then       .   B'  trim    9'   (5 written with what it already held: zeros)
       * changes        ~   x       +     ~ changed, x cleared (no SecondBlockToken), + new
       */
      // Prepare
      const volumeId = await newVolume();
      for (const blockIndex of [1, 2, 3]) await h.model.writeBlock(volumeId, blockIndex, patternBlock(10 + blockIndex));
      const first = await snapshot(volumeId);
      await h.model.writeBlock(volumeId, 2, patternBlock(99));
      await h.model.trimBlock(volumeId, 3);
      await h.model.writeBlock(volumeId, 5, Buffer.alloc(BLOCK_SIZE));
      await h.model.writeBlock(volumeId, 9, patternBlock(109));

      // Act
      const second = await snapshot(volumeId);
      const changes = await listAllChanges(h.ebs, first.SnapshotId!, second.SnapshotId!);

      // Assess
      expect(changes.map((change) => change.BlockIndex)).toEqual([2, 3, 9]);
      expect(changes.map((change) => [change.FirstBlockToken !== undefined, change.SecondBlockToken !== undefined])).toEqual([
        [true, true], [true, false], [false, true],
      ]);
      const image = await readImage(h.ebs, second.SnapshotId!);
      expect([...image.keys()]).toEqual([1, 2, 9]);
      expect(image.get(1)!.equals(patternBlock(11))).toBe(true);
      expect(image.get(2)!.equals(patternBlock(99))).toBe(true);
    });

    it('records nothing new when nothing was written since the previous snapshot', async () => {
      // Prepare
      const volumeId = await newVolume();
      await h.model.writeBlock(volumeId, 7, patternBlock(7));
      const first = await snapshot(volumeId);

      // Act
      const second = await snapshot(volumeId);

      // Assess
      expect(await listAllChanges(h.ebs, first.SnapshotId!, second.SnapshotId!)).toEqual([]);
      expect([...(await listAllBlocks(h.ebs, second.SnapshotId!)).keys()]).toEqual([7]);
    });

    it('copies the whole volume when the previous snapshot was deleted', async () => {
      // Prepare
      const volumeId = await newVolume();
      await h.model.writeBlock(volumeId, 1, patternBlock(1));
      const first = await snapshot(volumeId);
      await h.model.writeBlock(volumeId, 2, patternBlock(2));
      await h.ec2.send(new DeleteSnapshotCommand({ SnapshotId: first.SnapshotId }));

      // Act
      const second = await snapshot(volumeId);

      // Assess
      expect([...(await listAllBlocks(h.ebs, second.SnapshotId!)).keys()]).toEqual([1, 2]);
    });

    it('rejects an unknown volume', async () => {
      // Act
      const error = await rejectionOf(snapshot('vol-00000000000000000'));

      // Assess
      expect(error.name).toBe('InvalidVolume.NotFound');
    });
  });

  describe('CreateVolume from a snapshot', () => {
    it('reads like the snapshot, and its next snapshot is incremental against it', async () => {
      // Prepare
      const sourceVolume = await newVolume(2);
      await h.model.writeBlock(sourceVolume, 0, patternBlock(40));
      await h.model.writeBlock(sourceVolume, 4095, patternBlock(41));
      const source = await snapshot(sourceVolume);

      // Act
      const restored = await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, SnapshotId: source.SnapshotId }));
      const restoredId = restored.VolumeId!;
      const [zero, unlisted, last] = await Promise.all([0, 1, 4095].map((blockIndex) => h.model.readBlock(restoredId, blockIndex)));
      await h.model.writeBlock(restoredId, 100, patternBlock(42));
      const next = await snapshot(restoredId);

      // Assess
      expect(restored.State).toBe('available');
      expect(restored.Size).toBe(2);
      expect(restored.SnapshotId).toBe(source.SnapshotId);
      expect(zero.equals(patternBlock(40))).toBe(true);
      expect(unlisted.equals(Buffer.alloc(BLOCK_SIZE))).toBe(true);
      expect(last.equals(patternBlock(41))).toBe(true);
      expect((await listAllChanges(h.ebs, source.SnapshotId!, next.SnapshotId!)).map((change) => change.BlockIndex)).toEqual([100]);
    });

    it('fills the volume from a snapshot written through the EBS direct APIs', async () => {
      // Prepare
      const snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[3, patternBlock(33)]]) });

      // Act
      const volumeId = (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, SnapshotId: snapshotId, Size: 4 }))).VolumeId!;

      // Assess
      expect((await h.model.readBlock(volumeId, 3)).equals(patternBlock(33))).toBe(true);
      expect(h.model.getVolume(volumeId).size).toBe(4);
    });

    it('rejects a size smaller than the snapshot', async () => {
      // Prepare
      const source = await snapshot(await newVolume(2));

      // Act
      const error = await rejectionOf(h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, SnapshotId: source.SnapshotId, Size: 1 })));

      // Assess
      expect(error.name).toBe('InvalidParameterValue');
    });
  });

  describe('DescribeSnapshots', () => {
    let volumeA: string;
    let volumeB: string;
    let snapA1: string;
    let snapA2: string;
    let snapB: string;
    let direct: string;
    beforeAll(async () => {
      volumeA = await newVolume();
      volumeB = await newVolume();
      snapA1 = (await snapshot(volumeA, [{ Key: 'cdp:volume', Value: 'alpha' }]))!.SnapshotId!;
      snapA2 = (await snapshot(volumeA, [{ Key: 'cdp:volume', Value: 'alpha-2' }]))!.SnapshotId!;
      snapB = (await snapshot(volumeB, [{ Key: 'other', Value: 'x' }]))!.SnapshotId!;
      direct = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(0)]]) });
    });

    async function ids(input: DescribeSnapshotsCommandInput): Promise<string[]> {
      return ((await h.ec2.send(new DescribeSnapshotsCommand(input))).Snapshots ?? []).map((s) => s.SnapshotId!).sort();
    }

    it('filters by snapshot id, volume-id, tag:Key, tag-key and status', async () => {
      // Act
      const [byId, byVolume, byTag, byTagWildcard, byTagKey, byStatusAndVolume] = await Promise.all([
        ids({ SnapshotIds: [snapA2, snapB] }),
        ids({ Filters: [{ Name: 'volume-id', Values: [volumeA] }] }),
        ids({ Filters: [{ Name: 'tag:cdp:volume', Values: ['alpha'] }] }),
        ids({ Filters: [{ Name: 'tag:cdp:volume', Values: ['alpha*'] }] }),
        ids({ Filters: [{ Name: 'tag-key', Values: ['other'] }] }),
        ids({ OwnerIds: ['self'], Filters: [{ Name: 'status', Values: ['completed'] }, { Name: 'volume-id', Values: [volumeB] }] }),
      ]);

      // Assess
      expect(byId).toEqual([snapA2, snapB].sort());
      expect(byVolume).toEqual([snapA1, snapA2].sort());
      expect(byTag).toEqual([snapA1]);
      expect(byTagWildcard).toEqual([snapA1, snapA2].sort());
      expect(byTagKey).toEqual([snapB]);
      expect(byStatusAndVolume).toEqual([snapB]);
    });

    it('shows snapshots made through the EBS direct APIs', async () => {
      // Act
      const described = (await h.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [direct] }))).Snapshots?.[0];

      // Assess
      expect(described?.State).toBe('completed');
      expect(described?.VolumeSize).toBe(1);
      expect(described?.StartTime).toBeInstanceOf(Date);
    });

    it('pages with MaxResults and NextToken through the SDK paginator', async () => {
      // Prepare
      const all = await ids({});

      // Act
      const paged: string[] = [];
      let pages = 0;
      for await (const page of paginateDescribeSnapshots({ client: h.ec2, pageSize: 5 }, {})) {
        pages += 1;
        paged.push(...(page.Snapshots ?? []).map((s) => s.SnapshotId!));
      }

      // Assess
      expect(paged.sort()).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / 5));
    });

    it('rejects an unknown snapshot id, a bad filter and MaxResults with ids', async () => {
      // Act
      const errors = await Promise.all([
        rejectionOf(ids({ SnapshotIds: [snapA1, 'snap-00000000000000000'] })),
        rejectionOf(ids({ Filters: [{ Name: 'flavour', Values: ['x'] }] })),
        rejectionOf(ids({ SnapshotIds: [snapA1], MaxResults: 5 })),
      ]);

      // Assess
      expect(errors.map((error) => error.name)).toEqual(['InvalidSnapshot.NotFound', 'InvalidParameterValue', 'InvalidParameterCombination']);
    });
  });

  describe('CreateTags on snapshots', () => {
    it('adds a tag that the tag filter then finds', async () => {
      // Prepare
      const snapshotId = (await snapshot(await newVolume()))!.SnapshotId!;

      // Act
      await h.ec2.send(new CreateTagsCommand({ Resources: [snapshotId], Tags: [{ Key: 'cdp:seq', Value: '7' }] }));

      // Assess
      const found = await h.ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:cdp:seq', Values: ['7'] }] }));
      expect(found.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshotId]);
    });

    it('rejects an unknown snapshot', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new CreateTagsCommand({ Resources: ['snap-00000000000000000'], Tags: [{ Key: 'a', Value: 'b' }] })));

      // Assess
      expect(error.name).toBe('InvalidSnapshot.NotFound');
    });
  });

  describe('DeleteSnapshot', () => {
    it('removes the snapshot from DescribeSnapshots', async () => {
      // Prepare
      const snapshotId = (await snapshot(await newVolume()))!.SnapshotId!;

      // Act
      await h.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));

      // Assess
      const error = await rejectionOf(h.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })));
      expect(error.name).toBe('InvalidSnapshot.NotFound');
    });

    it('rejects an unknown snapshot', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new DeleteSnapshotCommand({ SnapshotId: 'snap-00000000000000000' })));

      // Assess
      expect(error.name).toBe('InvalidSnapshot.NotFound');
    });
  });
});

import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
} from '@aws-sdk/client-ec2';
import { execFile } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BLOCK_SIZE, BLOCKS_PER_GIB } from '../../../shared/core/constants';
import { listAllBlocks, listAllChanges, patternBlock, readImage } from './ebs-helpers';
import { removeDir, startEc2Harness, stopEc2Harness, tempDataDir, ZONE, type Ec2Harness } from './ec2-helpers';

const run = promisify(execFile);

/** 1 TiB in GiB: the size the snapshot-speed claim is made for. */
const TIB_IN_GIB = 1_024;

/** How long CreateSnapshot of 1 GiB written may take on the shared 2-core VM ("seconds, not minutes"). */
const SNAPSHOT_SECONDS_BUDGET = 30;

describe('EC2 emulator: volume files', () => {
  let dataDir: string;
  let h: Ec2Harness | undefined;
  beforeEach(async () => {
    dataDir = await tempDataDir();
    h = await startEc2Harness({ dataDir });
  });
  afterEach(async () => {
    await stopEc2Harness(h);
    h = undefined;
    await removeDir(dataDir);
  });

  function harness(): Ec2Harness {
    if (h === undefined) throw new Error('no harness');
    return h;
  }

  async function snapshotId(volumeId: string): Promise<string> {
    return (await harness().ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }))).SnapshotId!;
  }

  describe('volumePath', () => {
    it('is a sparse file of the full volume size under <dataDir>/ec2/volumes', async () => {
      // Prepare
      const volumeId = (await harness().ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 4 }))).VolumeId!;

      // Act
      const file = harness().model.volumePath(volumeId);
      const info = await stat(file);

      // Assess
      expect(file).toBe(path.join(dataDir, 'ec2', 'volumes', `${volumeId}.img`));
      expect(info.size).toBe(4 * BLOCKS_PER_GIB * BLOCK_SIZE);
      expect(info.blocks * 512).toBeLessThan(BLOCK_SIZE);
    });
  });

  describe('CreateSnapshot after writes by outside tools', () => {
    it('picks up a dd write straight into the volume file, next to API writes', async () => {
      /*
       * block    0    3    6    8
       * snap A   a    c    .    .      (API writes)
       * then     a'        f    z      a' API write, f written by dd, block 3 zeroed by dd
       * changes  ~    x    +           x = cleared: no SecondBlockToken
       */
      // Prepare
      const { model } = harness();
      const volumeId = (await harness().ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;
      await model.writeBlock(volumeId, 0, patternBlock(1));
      await model.writeBlock(volumeId, 3, patternBlock(3));
      const first = await snapshotId(volumeId);
      await model.writeBlock(volumeId, 0, patternBlock(100));
      const source = path.join(dataDir, 'block-6.bin');
      await writeFile(source, patternBlock(6));
      const file = model.volumePath(volumeId);
      await run('dd', [`if=${source}`, `of=${file}`, `bs=${BLOCK_SIZE}`, 'seek=6', 'conv=notrunc', 'status=none']);
      await run('dd', ['if=/dev/zero', `of=${file}`, `bs=${BLOCK_SIZE}`, 'seek=3', 'count=1', 'conv=notrunc', 'status=none']);

      // Act
      const second = await snapshotId(volumeId);
      const changes = await listAllChanges(harness().ebs, first, second);
      const image = await readImage(harness().ebs, second);

      // Assess
      expect(changes.map((change) => [change.BlockIndex, change.SecondBlockToken !== undefined])).toEqual([[0, true], [3, false], [6, true]]);
      expect([...image.keys()]).toEqual([0, 6]);
      expect(image.get(0)!.equals(patternBlock(100))).toBe(true);
      expect(image.get(6)!.equals(patternBlock(6))).toBe(true);
    });

    it('trusts the dirty set again once the scan has reconciled the file', async () => {
      // Prepare
      const { model } = harness();
      const volumeId = (await harness().ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: 1 }))).VolumeId!;
      await run('dd', ['if=/dev/urandom', `of=${model.volumePath(volumeId)}`, `bs=${BLOCK_SIZE}`, 'seek=2', 'count=1', 'conv=notrunc', 'status=none']);
      const first = await snapshotId(volumeId);
      await model.writeBlock(volumeId, 5, patternBlock(5));

      // Act
      const second = await snapshotId(volumeId);

      // Assess
      expect([...(await listAllBlocks(harness().ebs, first)).keys()]).toEqual([2]);
      expect((await listAllChanges(harness().ebs, first, second)).map((change) => change.BlockIndex)).toEqual([5]);
    });
  });

  describe('restart on the same data directory', () => {
    it('keeps volumes, instances, attachments, tags and the dirty set', async () => {
      // Prepare
      const first = harness();
      const volumeId = (await first.ec2.send(new CreateVolumeCommand({
        AvailabilityZone: ZONE,
        Size: 1,
        TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'kept' }] }],
      }))).VolumeId!;
      const instanceId = await first.model.createInstance({ availabilityZone: ZONE, rootVolume: volumeId });
      await first.model.writeBlock(volumeId, 1, patternBlock(1));
      const before = await snapshotId(volumeId);
      await first.model.writeBlock(volumeId, 7, patternBlock(7));
      await stopEc2Harness(first);

      // Act
      h = await startEc2Harness({ dataDir });
      const volume = (await harness().ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes![0];
      const instance = (await harness().ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0].Instances![0];
      const after = await snapshotId(volumeId);

      // Assess
      expect(volume.Tags).toEqual([{ Key: 'Name', Value: 'kept' }]);
      expect(volume.State).toBe('in-use');
      expect(instance.BlockDeviceMappings?.[0].Ebs?.VolumeId).toBe(volumeId);
      expect((await harness().model.readBlock(volumeId, 7)).equals(patternBlock(7))).toBe(true);
      expect((await listAllChanges(harness().ebs, before, after)).map((change) => change.BlockIndex)).toEqual([7]);
    });
  });

  describe('snapshot speed', () => {
    it('snapshots a 1 TiB volume with 1 GiB written through the API in seconds', async () => {
      // Prepare
      const { model } = harness();
      const volumeId = (await harness().ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE, Size: TIB_IN_GIB }))).VolumeId!;
      // One block every 512 MiB: 1 GiB in all, spread over the whole 1 TiB.
      const stride = BLOCKS_PER_GIB / 2;
      const data = Buffer.alloc(BLOCK_SIZE, 0xab);
      for (let n = 0; n < BLOCKS_PER_GIB; n += 1) {
        data.writeUInt32LE(n, 0);
        await model.writeBlock(volumeId, n * stride, data);
      }

      // Act
      const started = Date.now();
      const snapshot = await snapshotId(volumeId);
      const seconds = (Date.now() - started) / 1000;

      // Assess
      const listed = await listAllBlocks(harness().ebs, snapshot);
      expect(listed.size).toBe(BLOCKS_PER_GIB);
      expect(listed.has((BLOCKS_PER_GIB - 1) * stride)).toBe(true);
      expect(seconds).toBeLessThan(SNAPSHOT_SECONDS_BUDGET);
    });
  });
});

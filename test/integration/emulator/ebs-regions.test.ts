import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EBSClient, ListSnapshotBlocksCommand, ResourceNotFoundException, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import { CreateSnapshotCommand, CreateVolumeCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { startEmulator, type RunningEmulator } from '../../../local/emulator';
import { getBlock, listAllBlocks, patternBlock, readImage, rejectionOf, writeSnapshot } from './ebs-helpers';

/**
 * EBS snapshots and EC2 volumes are Regional: the emulator keeps one store (and EC2 half) per
 * Region and routes each request by the Region of its SigV4 credential scope.
 *
 * ```
 *  one endpoint ─┬─ Credential=…/us-east-1/ebs|ec2/… ─► us-east-1 store (the default: <dataDir>/)
 *                └─ Credential=…/us-west-2/ebs|ec2/… ─► us-west-2 store (<dataDir>/regions/us-west-2/)
 * ```
 */
const EAST = 'us-east-1';
const WEST = 'us-west-2';
const CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'x' };

function ebsIn(emulator: RunningEmulator, region: string): EBSClient {
  return new EBSClient({ endpoint: emulator.endpoint, region, credentials: CREDENTIALS, maxAttempts: 1 });
}

function ec2In(emulator: RunningEmulator, region: string): EC2Client {
  return new EC2Client({ endpoint: emulator.endpoint, region, credentials: CREDENTIALS, maxAttempts: 1 });
}

describe('EBS emulator: Regions', () => {
  let dataDir: string | undefined;
  let emulator: RunningEmulator;
  let clients: Array<{ destroy(): void }> = [];
  const ebs = (region: string): EBSClient => {
    const client = ebsIn(emulator, region);
    clients.push(client);
    return client;
  };
  const ec2 = (region: string): EC2Client => {
    const client = ec2In(emulator, region);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ebs-cdp-regions-'));
    emulator = await startEmulator({ dataDir });
  });
  afterEach(async () => {
    for (const client of clients) client.destroy();
    clients = [];
    await emulator.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  describe('isolation', () => {
    it('answers SNAPSHOT_NOT_FOUND in one Region for a snapshot of the other, to every direct API', async () => {
      // Prepare
      const west = await writeSnapshot(ebs(WEST), { volumeSize: 1, blocks: new Map([[0, patternBlock(0)]]) });
      const token = (await listAllBlocks(ebs(WEST), west)).get(0)!;

      // Act
      const listed = await rejectionOf(ebs(EAST).send(new ListSnapshotBlocksCommand({ SnapshotId: west })));
      const read = await rejectionOf(getBlock(ebs(EAST), west, 0, token));
      const child = await rejectionOf(ebs(EAST).send(new StartSnapshotCommand({ VolumeSize: 1, ParentSnapshotId: west })));
      const inWest = await readImage(ebs(WEST), west);

      // Assess
      for (const rejection of [listed, read, child]) {
        expect(rejection).toBeInstanceOf(ResourceNotFoundException);
        expect(rejection).toMatchObject({ Reason: 'SNAPSHOT_NOT_FOUND', $metadata: { httpStatusCode: 404 } });
      }
      expect(inWest.get(0)!.equals(patternBlock(0))).toBe(true);
      expect(emulator.store.getSnapshot(west)).toBeUndefined();
      expect((await emulator.region(WEST)).store.getSnapshot(west)?.state).toBe('completed');
    });

    it('keeps EC2 snapshots and volumes of one Region out of the other', async () => {
      // Prepare
      const volume = await ec2(WEST).send(new CreateVolumeCommand({ AvailabilityZone: 'us-west-2a', Size: 1 }));
      const snapshot = await ec2(WEST).send(new CreateSnapshotCommand({ VolumeId: volume.VolumeId }));

      // Act
      const east = await ec2(EAST).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
      const byId = await rejectionOf(ec2(EAST).send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshot.SnapshotId!] })));
      const fromOther = await rejectionOf(ec2(EAST).send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId: snapshot.SnapshotId })));
      const west = await ec2(WEST).send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshot.SnapshotId!] }));

      // Assess
      expect(east.Snapshots).toEqual([]);
      expect(byId.name).toBe('InvalidSnapshot.NotFound');
      expect(fromOther.name).toBe('InvalidSnapshot.NotFound');
      expect(west.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshot.SnapshotId]);
    });

    it('sends a request without a credential scope, and the control API, to the default Region', async () => {
      // Prepare
      const east = await writeSnapshot(ebs(EAST), { volumeSize: 1, blocks: new Map([[2, patternBlock(2)]]) });
      const west = await writeSnapshot(ebs(WEST), { volumeSize: 1, blocks: new Map([[2, patternBlock(2)]]) });

      // Act
      const unsigned = await fetch(`${emulator.endpoint}/snapshots/${east}/blocks`);
      const unsignedOther = await fetch(`${emulator.endpoint}/snapshots/${west}/blocks`);
      const listedDefault = (await (await fetch(`${emulator.endpoint}/_emulator/snapshots`)).json()) as Array<{ snapshotId: string }>;
      const listedWest = (await (await fetch(`${emulator.endpoint}/_emulator/snapshots?region=${WEST}`)).json()) as Array<{ snapshotId: string }>;
      const regions = (await (await fetch(`${emulator.endpoint}/_emulator/regions`)).json()) as unknown;

      // Assess
      expect(unsigned.status).toBe(200);
      expect(unsignedOther.status).toBe(404);
      expect(listedDefault.map((s) => s.snapshotId)).toEqual([east]);
      expect(listedWest.map((s) => s.snapshotId)).toEqual([west]);
      expect(regions).toEqual({ defaultRegion: EAST, regions: [EAST, WEST] });
    });

    it('corrupts a snapshot of the Region a control request names, leaving identical bytes of the other Region alone', async () => {
      // Prepare: the same block in both Regions
      const east = await writeSnapshot(ebs(EAST), { volumeSize: 1, blocks: new Map([[1, patternBlock(1)]]) });
      const west = await writeSnapshot(ebs(WEST), { volumeSize: 1, blocks: new Map([[1, patternBlock(1)]]) });
      const corrupt = (body: unknown): Promise<Response> => fetch(`${emulator.endpoint}/_emulator/corrupt`, { method: 'POST', body: JSON.stringify(body) });

      // Act
      const inWest = await corrupt({ snapshotId: west, blockIndex: 1, region: WEST });
      const wrongRegion = await corrupt({ snapshotId: west, blockIndex: 1 });
      const badRegion = await corrupt({ snapshotId: west, blockIndex: 1, region: '../x' });

      // Assess
      expect(await inWest.json()).toMatchObject({ writerSnapshotId: west, affectedSnapshotIds: [west] });
      expect(wrongRegion.status).toBe(404);
      expect(badRegion.status).toBe(400);
      expect((await readImage(ebs(WEST), west)).get(1)!.equals(patternBlock(1))).toBe(false);
      expect((await readImage(ebs(EAST), east)).get(1)!.equals(patternBlock(1))).toBe(true);
    });
  });

  describe('block byte counters', () => {
    it('counts block bytes accepted and served per Region, over HTTP and in process', async () => {
      // Prepare: 2 blocks written in the west, 1 in the east; then 3 reads in the west, 1 in the east
      const west = await writeSnapshot(ebs(WEST), { volumeSize: 1, blocks: new Map([[0, patternBlock(0)], [1, patternBlock(1)]]) });
      const east = await writeSnapshot(ebs(EAST), { volumeSize: 1, blocks: new Map([[0, patternBlock(0)]]) });
      await readImage(ebs(WEST), west);
      await readImage(ebs(EAST), east);
      const westToken = (await listAllBlocks(ebs(WEST), west)).get(0)!;
      // A read of the other Region's snapshot fails: nothing served, nothing counted.
      await rejectionOf(getBlock(ebs(EAST), west, 0, westToken));

      // Act
      await getBlock(ebs(WEST), west, 0, westToken);
      const stats = (await (await fetch(`${emulator.endpoint}/_emulator/stats`)).json()) as Record<string, unknown>;

      // Assess
      expect(stats.regions).toEqual({
        [WEST]: { blockBytesIn: 2 * BLOCK_SIZE, blockBytesOut: 3 * BLOCK_SIZE },
        [EAST]: { blockBytesIn: 1 * BLOCK_SIZE, blockBytesOut: 1 * BLOCK_SIZE },
      });
      expect(stats).toMatchObject({ bytesIn: 3 * BLOCK_SIZE, bytesOut: 4 * BLOCK_SIZE });
      expect(emulator.stats.blockBytes(WEST)).toEqual({ blockBytesIn: 2 * BLOCK_SIZE, blockBytesOut: 3 * BLOCK_SIZE });
      expect(emulator.stats.blockBytes('eu-west-1')).toEqual({ blockBytesIn: 0, blockBytesOut: 0 });
      emulator.stats.reset();
      expect(emulator.stats.toJSON().regions).toEqual({});
    });
  });

  describe('quotas', () => {
    it('gives each Region its own account budget', async () => {
      // Prepare: StartSnapshot's 10/s × 0.01 = one per 10 s and Region
      emulator.faults.update({ quotas: true, quotaScale: 0.01 });

      // Act
      const east = await ebs(EAST).send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const west = await ebs(WEST).send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const eastAgain = await rejectionOf(ebs(EAST).send(new StartSnapshotCommand({ VolumeSize: 1 })));

      // Assess
      expect(east.SnapshotId).toMatch(/^snap-/);
      expect(west.SnapshotId).toMatch(/^snap-/);
      expect(eastAgain).toMatchObject({ name: 'RequestThrottledException', Reason: 'ACCOUNT_THROTTLED' });
      expect(eastAgain.message).toContain(EAST);
    });
  });

  describe('persistence', () => {
    it('keeps each Region apart across a restart: the default at the top of the data directory, the others under regions/', async () => {
      // Prepare
      const east = await writeSnapshot(ebs(EAST), { volumeSize: 1, blocks: new Map([[0, patternBlock(10)]]) });
      const west = await writeSnapshot(ebs(WEST), { volumeSize: 1, blocks: new Map([[0, patternBlock(20)]]) });
      for (const client of clients) client.destroy();
      clients = [];
      await emulator.stop();

      // Act
      emulator = await startEmulator({ dataDir });
      const westImage = await readImage(ebs(WEST), west);
      const eastImage = await readImage(ebs(EAST), east);
      const crossed = await rejectionOf(ebs(EAST).send(new ListSnapshotBlocksCommand({ SnapshotId: west })));

      // Assess
      expect(westImage.get(0)!.equals(patternBlock(20))).toBe(true);
      expect(eastImage.get(0)!.equals(patternBlock(10))).toBe(true);
      expect(crossed).toBeInstanceOf(ResourceNotFoundException);
      expect(await readdir(join(dataDir!, 'snapshots'))).toEqual([`${east}.json`]);
      expect(await readdir(join(dataDir!, 'regions', WEST, 'snapshots'))).toEqual([`${west}.json`]);
      expect(((await (await fetch(`${emulator.endpoint}/_emulator/regions`)).json()) as { regions: string[] }).regions).toEqual([EAST, WEST]);
    });
  });
});

import { DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startEmulator } from '../../../local/emulator';
import { ebsClient, patternBlock, writeSnapshot } from './ebs-helpers';

/** Status the server answers EC2 requests with when the EC2 half is left out. */
const NOT_IMPLEMENTED = 501;

describe('Emulator server', () => {
  describe('EC2 Query route', () => {
    it('hands form-encoded POST / to the EC2 half, which sees the snapshots of the EBS half', async () => {
      // Prepare
      const emulator = await startEmulator();
      const ebs = ebsClient(emulator.endpoint);
      const ec2 = new EC2Client({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      try {
        const snapshotId = await writeSnapshot(ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(0)]]) });

        // Act
        const described = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));

        // Assess
        expect(described.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshotId]);
        expect(described.Snapshots?.[0].State).toBe('completed');
        expect(emulator.stats.calls['EC2:DescribeSnapshots']).toBe(1);
      } finally {
        ebs.destroy();
        ec2.destroy();
        await emulator.stop();
      }
    });

    it('answers 501 when the EC2 half is left out', async () => {
      // Prepare
      const emulator = await startEmulator({ ec2: null });
      try {
        // Act
        const response = await fetch(`${emulator.endpoint}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'Action=DescribeSnapshots&Version=2016-11-15',
        });

        // Assess
        expect(response.status).toBe(NOT_IMPLEMENTED);
        expect(response.headers.get('content-type')).toBe('text/xml');
      } finally {
        await emulator.stop();
      }
    });
  });

  describe('startEmulator', () => {
    it('listens on loopback at a random port and frees it on stop', async () => {
      // Prepare
      const emulator = await startEmulator({ ec2: null });

      // Act
      const health = await fetch(`${emulator.endpoint}/_emulator/health`);
      await emulator.stop();
      const afterStop = await fetch(`${emulator.endpoint}/_emulator/health`).then(
        () => 'answered',
        () => 'refused',
      );

      // Assess
      expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(emulator.port).toBeGreaterThan(0);
      expect(health.status).toBe(200);
      expect(afterStop).toBe('refused');
    });
  });
});

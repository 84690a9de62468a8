import {
  ConcurrentLimitExceededException,
  ListChangedBlocksCommand,
  PutSnapshotBlockCommand,
  RequestThrottledException,
  ResourceNotFoundException,
  StartSnapshotCommand,
} from '@aws-sdk/client-ebs';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { FaultConfigError } from '../../../local/emulator/errors';
import {
  ebsClient,
  getBlock,
  listAllBlocks,
  listAllChanges,
  patternBlock,
  putBlock,
  rejectionOf,
  sha256Base64,
  startHarness,
  stopHarness,
  writeSnapshot,
  type EbsHarness,
} from './ebs-helpers';

describe('EBS emulator: quotas and faults', () => {
  let h: EbsHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterEach(() => {
    h.emulator.faults.reset();
  });
  afterAll(async () => {
    await stopHarness(h);
  });

  describe('quotas', () => {
    it('throttles StartSnapshot beyond its scaled account rate with ACCOUNT_THROTTLED', async () => {
      // Prepare: 10/s scaled by 0.01 = one StartSnapshot per 10 s (a bucket holds at least one).
      h.emulator.faults.update({ quotas: true, quotaScale: 0.01 });

      // Act
      const first = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 })));

      // Assess
      expect(first.Status).toBe('pending');
      expect(error).toBeInstanceOf(RequestThrottledException);
      expect(error.Reason).toBe('ACCOUNT_THROTTLED');
      expect(error.$metadata?.httpStatusCode).toBe(400);
    });

    it('throttles PutSnapshotBlock on one busy snapshot with RESOURCE_LEVEL_THROTTLE', async () => {
      // Prepare: 1,000/s scaled by 0.0001 = one put per 10 s on the snapshot (and in the account).
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      h.emulator.faults.update({ quotas: true, quotaScale: 0.0001 });
      const data = patternBlock(1);

      // Act
      const outcomes = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => putBlock(h.ebs, started.SnapshotId!, i, data)));

      // Assess
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(rejected).toHaveLength(3);
      for (const r of rejected) {
        expect(r.reason).toBeInstanceOf(RequestThrottledException);
        expect((r.reason as RequestThrottledException).Reason).toBe('RESOURCE_LEVEL_THROTTLE');
      }
    });

    it('lets the SDK retry a throttled call until it succeeds', async () => {
      // Prepare
      h.emulator.faults.update({ quotas: true, quotaScale: 0.1 });
      const retrying = ebsClient(h.emulator.endpoint, 5);
      await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Act
      const second = await retrying.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      retrying.destroy();

      // Assess
      expect(second.Status).toBe('pending');
      expect(second.$metadata.attempts).toBeGreaterThan(1);
    });

    it('refuses a StartSnapshot beyond the pending-snapshot limit', async () => {
      // Prepare
      const pending = h.emulator.store.listSnapshots().filter((s) => s.state === 'pending').length;
      h.emulator.faults.update({ quotas: true, pendingSnapshotLimit: pending + 1 });
      await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Act
      const error = await rejectionOf(h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 })));

      // Assess
      expect(error).toBeInstanceOf(ConcurrentLimitExceededException);
    });

    it('does not throttle when quotas are off', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Act
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => putBlock(h.ebs, started.SnapshotId!, i, patternBlock(2))));

      // Assess
      expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    });
  });

  describe('snapshot-does-not-exist window', () => {
    it('answers SNAPSHOT_NOT_FOUND to PutSnapshotBlock until the window has passed', async () => {
      // Prepare
      h.emulator.faults.update({ notFoundWindowMs: 120_000 });
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));

      // Act
      const early = await rejectionOf(putBlock(h.ebs, started.SnapshotId!, 0, patternBlock(0)));
      h.emulator.clock.advance(120_000);
      await putBlock(h.ebs, started.SnapshotId!, 0, patternBlock(0));

      // Assess
      expect(early).toBeInstanceOf(ResourceNotFoundException);
      expect(early.Reason).toBe('SNAPSHOT_NOT_FOUND');
      expect(h.emulator.stats.calls.PutSnapshotBlock).toBeGreaterThanOrEqual(2);
    });
  });

  describe('latency', () => {
    it('adds the configured latency to every request', async () => {
      // Prepare
      h.emulator.faults.update({ latencyMs: 150 });

      // Act
      const began = Date.now();
      await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const elapsed = Date.now() - began;

      // Assess
      expect(elapsed).toBeGreaterThanOrEqual(150);
    });
  });

  describe('corruptBlock', () => {
    it('changes one block of one snapshot silently, leaving shared content and listings alone', async () => {
      // Prepare: S0 and S1 share block 0; corrupt it in S1 only.
      const s0 = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(7)]]) });
      const s1 = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s0, blocks: new Map([[1, patternBlock(8)]]) });
      const twin = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(7)]]) });

      // Act
      await h.emulator.store.corruptBlock(s1, 0);
      const corrupted = await getBlock(h.ebs, s1, 0, (await listAllBlocks(h.ebs, s1)).get(0)!);
      const parent = await getBlock(h.ebs, s0, 0, (await listAllBlocks(h.ebs, s0)).get(0)!);
      const other = await getBlock(h.ebs, twin, 0, (await listAllBlocks(h.ebs, twin)).get(0)!);
      const changes = await listAllChanges(h.ebs, s0, s1);

      // Assess
      expect(corrupted.data.equals(patternBlock(7))).toBe(false);
      expect(corrupted.checksum).toBe(sha256Base64(corrupted.data));
      expect(parent.data.equals(patternBlock(7))).toBe(true);
      expect(other.data.equals(patternBlock(7))).toBe(true);
      expect(changes.map((c) => c.BlockIndex)).toEqual([1]);
    });
  });

  describe('control API', () => {
    it('switches faults, corrupts blocks and reports call counts over HTTP', async () => {
      // Prepare
      const snapshotId = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[3, patternBlock(3)]]) });
      await fetch(`${h.emulator.endpoint}/_emulator/stats`, { method: 'DELETE' });

      // Act
      const switched = await fetch(`${h.emulator.endpoint}/_emulator/faults`, {
        method: 'PUT',
        body: JSON.stringify({ quotas: true, quotaScale: 0.002 }),
      });
      await fetch(`${h.emulator.endpoint}/_emulator/corrupt`, { method: 'POST', body: JSON.stringify({ snapshotId, blockIndex: 3 }) });
      const read = await getBlock(h.ebs, snapshotId, 3, (await listAllBlocks(h.ebs, snapshotId)).get(3)!);
      // 50/s × 0.002 = one ListChangedBlocks per 10 s: the second call in a row is throttled.
      await h.ebs.send(new ListChangedBlocksCommand({ SecondSnapshotId: snapshotId }));
      const throttled = await rejectionOf(h.ebs.send(new ListChangedBlocksCommand({ SecondSnapshotId: snapshotId })));
      const bad = await fetch(`${h.emulator.endpoint}/_emulator/faults`, { method: 'PUT', body: JSON.stringify({ serverErrorRate: 2 }) });
      const stats = (await (await fetch(`${h.emulator.endpoint}/_emulator/stats`)).json()) as { calls: Record<string, number> };

      // Assess
      expect(((await switched.json()) as { quotaScale: number }).quotaScale).toBe(0.002);
      expect(read.data.equals(patternBlock(3))).toBe(false);
      expect(throttled).toBeInstanceOf(RequestThrottledException);
      expect(bad.status).toBe(400);
      expect(stats.calls).toEqual({ ListSnapshotBlocks: 1, GetSnapshotBlock: 1, ListChangedBlocks: 2 });
    });

    it('refuses an impossible switch in process with a typed error, keeping the previous switches', () => {
      // Prepare
      h.emulator.faults.update({ latencyMs: 5 });

      // Act
      const attempt = (): unknown => h.emulator.faults.update({ serverErrorRate: 2 });

      // Assess
      expect(attempt).toThrow(FaultConfigError);
      expect(h.emulator.faults.config.latencyMs).toBe(5);
      expect(h.emulator.faults.config.serverErrorRate).toBe(0);
    });

    it('moves the emulated clock forward over HTTP', async () => {
      // Prepare
      const before = h.emulator.clock.now();

      // Act
      const response = await fetch(`${h.emulator.endpoint}/_emulator/clock/advance`, {
        method: 'POST',
        body: JSON.stringify({ ms: 3_600_000 }),
      });

      // Assess
      expect(response.status).toBe(200);
      expect(h.emulator.clock.now() - before).toBeGreaterThanOrEqual(3_600_000);
    });

    it('rejects a request body that claims one length and carries another', async () => {
      // Prepare
      const started = await h.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const data = patternBlock(4);

      // Act
      const error = await rejectionOf(
        h.ebs.send(
          new PutSnapshotBlockCommand({
            SnapshotId: started.SnapshotId!,
            BlockIndex: 0,
            BlockData: data,
            DataLength: BLOCK_SIZE - 1,
            Checksum: sha256Base64(data),
            ChecksumAlgorithm: 'SHA256',
          }),
        ),
      );

      // Assess
      expect(error.name).toBe('ValidationException');
    });
  });
});

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
  readImage,
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

  /**
   * Damage at rest hits the stored version every snapshot sharing it reads:
   *
   * ```
   *  block:       0   1   2     own map
   *  S0:          a   b   .     {0,1}
   *  S1 (of S0):  ·   b'  ·     {1}      (b' = the same bytes as b, rewritten: another stored version)
   *  S2 (of S1):  ·   ·   c     {2}
   *  S3 (of S0):  ·   d   ·     {1}
   *  twin:        a   .   .     {0}      (another lineage; the content store keeps a once)
   * ```
   */
  describe('corruptBlock', () => {
    async function lineage(): Promise<{ s0: string; s1: string; s2: string; s3: string; twin: string }> {
      const s0 = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(7)], [1, patternBlock(1)]]) });
      const s1 = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s0, blocks: new Map([[1, patternBlock(1)]]) });
      const s2 = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s1, blocks: new Map([[2, patternBlock(2)]]) });
      const s3 = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: s0, blocks: new Map([[1, patternBlock(3)]]) });
      const twin = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(7)]]) });
      return { s0, s1, s2, s3, twin };
    }

    async function read(snapshotId: string, blockIndex: number): Promise<{ data: Buffer; checksum?: string }> {
      return getBlock(h.ebs, snapshotId, blockIndex, (await listAllBlocks(h.ebs, snapshotId)).get(blockIndex)!);
    }

    it('damages the version its writer stored: the writer and every descendant inheriting it read the same bad bytes', async () => {
      // Prepare
      const { s0, s1, s2, s3 } = await lineage();

      // Act: through the grandchild, which inherits block 0 from S0
      const result = await h.emulator.store.corruptBlock(s2, 0);
      const reads = await Promise.all([s0, s1, s2, s3].map((id) => read(id, 0)));
      const changes = await listAllChanges(h.ebs, s0, s2);

      // Assess
      expect(result).toEqual({ scope: 'stored', snapshotId: s2, blockIndex: 0, writerSnapshotId: s0, affectedSnapshotIds: [s0, s1, s3, s2] });
      const bad = reads[0].data;
      expect(bad.equals(patternBlock(7))).toBe(false);
      expect(bad.subarray(1).equals(patternBlock(7).subarray(1))).toBe(true);
      for (const { data, checksum } of reads) {
        expect(data.equals(bad)).toBe(true);
        expect(checksum).toBe(sha256Base64(bad));
      }
      // Listings are what they were: S1 and S2 wrote blocks 1 and 2, nobody wrote block 0 again.
      expect(changes.map((c) => c.BlockIndex)).toEqual([1, 2]);
      expect([...(await listAllBlocks(h.ebs, s2)).keys()]).toEqual([0, 1, 2]);
    });

    it('leaves alone a descendant that rewrote the block, even with identical bytes, and the writer’s ancestors', async () => {
      // Prepare
      const { s0, s1, s2, s3 } = await lineage();

      // Act: S2 inherits block 1 from S1, which rewrote S0's version with the same bytes
      const result = await h.emulator.store.corruptBlock(s2, 1);
      const [ofS0, ofS1, ofS2, ofS3] = await Promise.all([s0, s1, s2, s3].map((id) => read(id, 1)));

      // Assess
      expect(result).toMatchObject({ writerSnapshotId: s1, affectedSnapshotIds: [s1, s2] });
      expect(ofS1.data.equals(patternBlock(1))).toBe(false);
      expect(ofS2.data.equals(ofS1.data)).toBe(true);
      expect(ofS0.data.equals(patternBlock(1))).toBe(true);
      expect(ofS3.data.equals(patternBlock(3))).toBe(true);
    });

    it('leaves identical content of another lineage alone, though the content store keeps it once', async () => {
      // Prepare
      const { s0, twin } = await lineage();

      // Act
      const result = await h.emulator.store.corruptBlock(s0, 0);
      const ofTwin = await read(twin, 0);

      // Assess
      expect(result.affectedSnapshotIds).not.toContain(twin);
      expect(ofTwin.data.equals(patternBlock(7))).toBe(true);
      expect(ofTwin.checksum).toBe(sha256Base64(patternBlock(7)));
    });

    it('changes nothing when the same stored version is corrupted again, through any sharer', async () => {
      // Prepare
      const { s0, s1, s2 } = await lineage();
      await h.emulator.store.corruptBlock(s0, 0);
      const once = await read(s2, 0);

      // Act
      const again = await h.emulator.store.corruptBlock(s1, 0);
      const twice = await read(s2, 0);

      // Assess
      expect(again.writerSnapshotId).toBe(s0);
      expect(twice.data.equals(once.data)).toBe(true);
      expect(twice.data.equals(patternBlock(7))).toBe(false);
    });

    it("with scope 'snapshot' damages that snapshot's view only: its parent and its children read the stored version", async () => {
      // Prepare
      const { s0, s1, s2 } = await lineage();

      // Act
      const result = await h.emulator.store.corruptBlock(s1, 0, 'snapshot');
      const [ofS0, ofS1, ofS2] = await Promise.all([s0, s1, s2].map((id) => read(id, 0)));

      // Assess
      expect(result).toEqual({ scope: 'snapshot', snapshotId: s1, blockIndex: 0, writerSnapshotId: s0, affectedSnapshotIds: [s1] });
      expect(ofS1.data.equals(patternBlock(7))).toBe(false);
      expect(ofS1.checksum).toBe(sha256Base64(ofS1.data));
      expect(ofS0.data.equals(patternBlock(7))).toBe(true);
      expect(ofS2.data.equals(patternBlock(7))).toBe(true);
    });

    it('refuses a block no snapshot of the ancestry wrote, naming the block and the snapshot', async () => {
      // Prepare
      const { s2 } = await lineage();

      // Act
      const rejection = await rejectionOf(h.emulator.store.corruptBlock(s2, 5));

      // Assess
      expect(rejection).toMatchObject({ type: 'ValidationException', reason: 'INVALID_BLOCK', status: 400 });
      expect(rejection.message).toContain(`Block 5 is not allocated in '${s2}'`);
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

    it('corrupts a stored version over HTTP, or one snapshot’s view with scope snapshot, and refuses an unwritten block with 400', async () => {
      // Prepare
      const parent = await writeSnapshot(h.ebs, { volumeSize: 1, blocks: new Map([[3, patternBlock(3)], [4, patternBlock(4)]]) });
      const child = await writeSnapshot(h.ebs, { volumeSize: 1, parentSnapshotId: parent, blocks: new Map([[5, patternBlock(5)]]) });
      const corrupt = (body: unknown): Promise<Response> => fetch(`${h.emulator.endpoint}/_emulator/corrupt`, { method: 'POST', body: JSON.stringify(body) });

      // Act
      const stored = await corrupt({ snapshotId: child, blockIndex: 3 });
      const privately = await corrupt({ snapshotId: child, blockIndex: 4, scope: 'snapshot' });
      const unwritten = await corrupt({ snapshotId: child, blockIndex: 6 });
      const badScope = await corrupt({ snapshotId: child, blockIndex: 3, scope: 'volume' });
      const parentImage = await readImage(h.ebs, parent);

      // Assess
      expect(stored.status).toBe(200);
      expect(await stored.json()).toEqual({ scope: 'stored', snapshotId: child, blockIndex: 3, writerSnapshotId: parent, affectedSnapshotIds: [parent, child] });
      expect(await privately.json()).toEqual({ scope: 'snapshot', snapshotId: child, blockIndex: 4, writerSnapshotId: parent, affectedSnapshotIds: [child] });
      expect(unwritten.status).toBe(400);
      expect(((await unwritten.json()) as { message: string }).message).toContain(`Block 6 is not allocated in '${child}'`);
      expect(badScope.status).toBe(400);
      expect(parentImage.get(3)!.equals(patternBlock(3))).toBe(false);
      expect(parentImage.get(4)!.equals(patternBlock(4))).toBe(true);
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

/**
 * EbsSnapshotWriter and Ec2SnapshotWaiter against the local cloud over HTTP: idempotent start,
 * blocks with checksums, LINEAR completion, encrypted lineages, the "snapshot does not exist"
 * window, and snapshots that end in `error`.
 */
import { BlockDigests, sha256 } from '../../../shared/core/checksum';
import { ChecksumMismatchError, ClientTokenConflictError, EbsValidationError, SnapshotFailedError } from '../../../shared/core/ports/errors';
import { RateLimiter } from '../../../shared/aws/rate-limiter';
import { EbsSnapshotReader } from '../../../shared/aws/snapshot-reader';
import { Ec2SnapshotWaiter } from '../../../shared/aws/snapshot-waiter';
import { EbsSnapshotWriter } from '../../../shared/aws/snapshot-writer';
import { OWNER_TAG } from '../../../shared/core/tags';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import type { SnapshotJob } from '../../../shared/core/ports/snapshots';
import { patternBlock, rejectionOf, sha256Hex, startAdaptersHarness, stopAdaptersHarness, type AdaptersHarness } from './adapters-harness';

/** Polls fast: the emulator answers at once, and tests must stay quick. */
const POLL_INTERVAL_MS = 20;
const MS_PER_MINUTE = 60_000;

let jobSeq = 0;
function newJob(purpose = 'sync'): SnapshotJob {
  jobSeq++;
  return { volumeId: 'vol-writer', seq: jobSeq, purpose };
}

async function readAll(reader: EbsSnapshotReader, snapshotId: string): Promise<Map<number, string>> {
  const image = new Map<number, string>();
  for await (const { blockIndex, blockToken } of reader.listBlocks(snapshotId)) {
    image.set(blockIndex, sha256Hex(await reader.getBlock(snapshotId, blockIndex, blockToken)));
  }
  return image;
}

describe('EbsSnapshotWriter', () => {
  let harness: AdaptersHarness;
  let writer: EbsSnapshotWriter;
  let reader: EbsSnapshotReader;
  let waiter: Ec2SnapshotWaiter;

  beforeAll(async () => {
    harness = await startAdaptersHarness();
  });

  afterAll(async () => {
    await stopAdaptersHarness(harness);
  });

  beforeEach(() => {
    harness.emulator.faults.reset();
    harness.emulator.stats.reset();
    const limiter = new RateLimiter();
    writer = new EbsSnapshotWriter(harness.clients.ebs, { limiter });
    reader = new EbsSnapshotReader(harness.clients.ebs, { limiter });
    waiter = new Ec2SnapshotWaiter(harness.clients.ec2, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 50 });
  });

  describe('startSnapshot', () => {
    it('gives the same snapshot back to a re-run of the same job, tagged as ours', async () => {
      // Prepare
      const job = newJob();

      // Act
      const first = await writer.startSnapshot({ job, volumeSize: 1, tags: [{ key: 'ebs-cdp:seq', value: String(job.seq) }] });
      const again = await writer.startSnapshot({ job, volumeSize: 1, tags: [{ key: 'ebs-cdp:seq', value: String(job.seq) }] });

      // Assess
      expect(again.snapshotId).toBe(first.snapshotId);
      expect(first).toMatchObject({ state: 'pending', volumeSize: 1, encrypted: false });
      expect(harness.emulator.stats.calls.StartSnapshot).toBe(2);
      const status = await waiter.status(first.snapshotId);
      expect(status.tags).toEqual(expect.arrayContaining([OWNER_TAG, { key: 'ebs-cdp:seq', value: String(job.seq) }]));
    });

    it('refuses a re-run of the same job with other parameters, saying so', async () => {
      // Prepare
      const job = newJob();
      await writer.startSnapshot({ job, volumeSize: 1 });

      // Act
      const error = await rejectionOf(writer.startSnapshot({ job, volumeSize: 2 }));

      // Assess
      expect(error).toBeInstanceOf(ClientTokenConflictError);
      expect(error.message).toMatch(/earlier attempt of this step .* different parameters/);
      expect(harness.emulator.stats.calls.StartSnapshot).toBe(2);
    });
  });

  describe('putBlock and completeSnapshot', () => {
    it('writes blocks in parallel and completes with the LINEAR aggregate EBS checks', async () => {
      // Prepare
      const { snapshotId } = await writer.startSnapshot({ job: newJob(), volumeSize: 1 });
      const upload = writer.upload(snapshotId);
      const blocks = new Map([7, 0, 300, 2, 1_000].map((blockIndex) => [blockIndex, patternBlock(blockIndex + 10)]));

      // Act
      await Promise.all([...blocks].map(([blockIndex, data]) => upload.putBlock(blockIndex, data)));
      const state = await upload.complete();
      const completed = await waiter.waitUntilCompleted(snapshotId);

      // Assess
      expect(state).toBe('completed');
      expect(completed.state).toBe('completed');
      const image = await readAll(reader, snapshotId);
      expect([...image.keys()]).toEqual([0, 2, 7, 300, 1_000]);
      for (const [blockIndex, data] of blocks) expect(image.get(blockIndex)).toBe(sha256Hex(data));
    });

    it('surfaces a wrong aggregate as a validation error, without retrying it', async () => {
      // Prepare
      const { snapshotId } = await writer.startSnapshot({ job: newJob(), volumeSize: 1 });
      await writer.putBlock(snapshotId, 0, patternBlock(1));
      const lying = new BlockDigests();
      lying.record(0, sha256(patternBlock(2)));

      // Act
      const error = await rejectionOf(writer.completeSnapshot(snapshotId, lying));

      // Assess
      expect(error).toBeInstanceOf(EbsValidationError);
      expect((error as EbsValidationError).reason).toBe('INVALID_PARAMETER_VALUE');
      expect(error.message).toMatch(/retrying cannot help/);
      expect(harness.emulator.stats.calls.CompleteSnapshot).toBe(1);
    });

    it('refuses a block that is not exactly one block long before sending it', async () => {
      // Act
      const error = await rejectionOf(writer.putBlock('snap-0123456789abcdef0', 3, Buffer.alloc(BLOCK_SIZE - 1)));

      // Assess
      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect(harness.emulator.stats.calls.PutSnapshotBlock).toBeUndefined();
    });

    it('waits out the "snapshot does not exist" window after StartSnapshot', async () => {
      // Prepare
      harness.emulator.faults.update({ notFoundWindowMs: 700 });
      const { snapshotId } = await writer.startSnapshot({ job: newJob(), volumeSize: 1 });
      const upload = writer.upload(snapshotId);

      // Act
      await Promise.all([0, 1, 2, 3].map((blockIndex) => upload.putBlock(blockIndex, patternBlock(blockIndex))));
      const state = await upload.complete();

      // Assess
      expect(state).toBe('completed');
      expect(harness.emulator.stats.errors['ResourceNotFoundException:SNAPSHOT_NOT_FOUND']).toBeGreaterThan(0);
      expect((await readAll(reader, snapshotId)).size).toBe(4);
    });
  });

  describe('encrypted lineage', () => {
    it('writes zeros explicitly, and a child inherits the encryption without asking for it', async () => {
      // Prepare
      const base = await writer.startSnapshot({ job: newJob('baseline'), volumeSize: 1, encrypted: true });
      const baseUpload = writer.upload(base.snapshotId);
      await baseUpload.putBlock(0, patternBlock(5));
      await baseUpload.putBlock(1, patternBlock(6));
      await baseUpload.complete();
      await waiter.waitUntilCompleted(base.snapshotId);

      // Act: the child clears block 1 (zeros written, since unwritten blocks of an encrypted lineage are random).
      const child = await writer.startSnapshot({ job: newJob(), volumeSize: 1, parentSnapshotId: base.snapshotId });
      const childUpload = writer.upload(child.snapshotId);
      await childUpload.putZeroBlock(1);
      await childUpload.complete();
      await waiter.waitUntilCompleted(child.snapshotId);
      const mixed = await rejectionOf(
        writer.startSnapshot({ job: newJob(), volumeSize: 1, parentSnapshotId: base.snapshotId, encrypted: true }),
      );

      // Assess
      expect(base.encrypted).toBe(true);
      expect(child.encrypted).toBe(true);
      const image = await readAll(reader, child.snapshotId);
      expect(image.get(0)).toBe(sha256Hex(patternBlock(5)));
      expect(image.get(1)).toBe(sha256Hex(Buffer.alloc(BLOCK_SIZE)));
      expect(mixed).toBeInstanceOf(EbsValidationError);
      expect(mixed.message).toMatch(/inherits its encryption/);
    });
  });
});

describe('Ec2SnapshotWaiter', () => {
  let harness: AdaptersHarness;
  let writer: EbsSnapshotWriter;

  beforeAll(async () => {
    harness = await startAdaptersHarness();
    writer = new EbsSnapshotWriter(harness.clients.ebs, { limiter: new RateLimiter() });
  });

  afterAll(async () => {
    await stopAdaptersHarness(harness);
  });

  describe('waitUntilCompleted', () => {
    it('polls a snapshot that completes later until it is completed', async () => {
      // Prepare
      harness.emulator.faults.update({ completionDelayMs: 300 });
      const waiter = new Ec2SnapshotWaiter(harness.clients.ec2, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 100 });
      const { snapshotId } = await writer.startSnapshot({ job: newJob(), volumeSize: 1 });
      const upload = writer.upload(snapshotId);
      await upload.putBlock(0, patternBlock(9));

      // Act
      const state = await upload.complete();
      const status = await waiter.waitUntilCompleted(snapshotId);

      // Assess
      expect(state).toBe('pending');
      expect(status).toMatchObject({ snapshotId, state: 'completed', progress: 100 });
      expect(harness.emulator.stats.calls['EC2:DescribeSnapshots']).toBeGreaterThan(1);
    });

    it('surfaces a snapshot that went to error with its reason', async () => {
      // Prepare: a snapshot left pending past its StartSnapshot timeout.
      const waiter = new Ec2SnapshotWaiter(harness.clients.ec2, { pollIntervalMs: POLL_INTERVAL_MS, maxPolls: 5 });
      const { snapshotId } = await writer.startSnapshot({ job: newJob(), volumeSize: 1, timeoutMinutes: 10 });
      harness.emulator.clock.advance(11 * MS_PER_MINUTE);

      // Act
      const error = await rejectionOf(waiter.waitUntilCompleted(snapshotId));

      // Assess
      expect(error).toBeInstanceOf(SnapshotFailedError);
      expect(error).toMatchObject({ snapshotId, stateMessage: 'Snapshot was not completed before its timeout' });
      expect(error.message).toMatch(/is in state error \(Snapshot was not completed before its timeout\)/);
    });
  });
});

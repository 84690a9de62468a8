import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompleteSnapshotCommand, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import {
  getBlock,
  listAllBlocks,
  listAllChanges,
  patternBlock,
  putBlock,
  readImage,
  startHarness,
  stopHarness,
  writeSnapshot,
  type EbsHarness,
} from './ebs-helpers';

async function countBlockFiles(dataDir: string): Promise<number> {
  let count = 0;
  for (const fanout of await readdir(join(dataDir, 'blocks'))) {
    count += (await readdir(join(dataDir, 'blocks', fanout))).filter((f) => !f.endsWith('.tmp')).length;
  }
  return count;
}

describe('EBS emulator: persistence across restart', () => {
  let dataDir: string;
  let h: EbsHarness | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ebs-cdp-emulator-'));
    h = await startHarness({ dataDir });
  });
  afterEach(async () => {
    await stopHarness(h);
    h = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  async function restart(): Promise<EbsHarness> {
    await stopHarness(h);
    h = await startHarness({ dataDir });
    return h;
  }

  describe('completed snapshots', () => {
    it('keeps every snapshot, block, lineage and token of the previous run', async () => {
      // Prepare
      const s0 = await writeSnapshot(h!.ebs, { volumeSize: 1, blocks: new Map([[0, patternBlock(0)], [1, patternBlock(1)]]) });
      const s1 = await writeSnapshot(h!.ebs, { volumeSize: 1, parentSnapshotId: s0, blocks: new Map([[1, patternBlock(11)]]) });
      const tokenBefore = (await listAllBlocks(h!.ebs, s1)).get(1)!;

      // Act
      const after = await restart();
      const image = await readImage(after.ebs, s1);
      const changes = await listAllChanges(after.ebs, s0, s1);
      const viaOldToken = await getBlock(after.ebs, s1, 1, tokenBefore);

      // Assess
      expect([...image.keys()]).toEqual([0, 1]);
      expect(image.get(0)!.equals(patternBlock(0))).toBe(true);
      expect(image.get(1)!.equals(patternBlock(11))).toBe(true);
      expect(changes.map((c) => c.BlockIndex)).toEqual([1]);
      expect(viaOldToken.data.equals(patternBlock(11))).toBe(true);
      expect(after.emulator.store.getSnapshot(s1)?.parentSnapshotId).toBe(s0);
    });

    it('keeps a silent corruption of a stored version, which a child started after the restart inherits, and a private one', async () => {
      // Prepare: S1 inherits block 2 from S0; damage S0's stored version through S1, and S1's own view of block 3
      const s0 = await writeSnapshot(h!.ebs, { volumeSize: 1, blocks: new Map([[2, patternBlock(2)], [3, patternBlock(3)]]) });
      const s1 = await writeSnapshot(h!.ebs, { volumeSize: 1, parentSnapshotId: s0, blocks: new Map([[4, patternBlock(4)]]) });
      await h!.emulator.store.corruptBlock(s1, 2);
      await h!.emulator.store.corruptBlock(s1, 3, 'snapshot');
      const badBefore = (await readImage(h!.ebs, s1)).get(2)!;

      // Act
      const after = await restart();
      const s2 = await writeSnapshot(after.ebs, { volumeSize: 1, parentSnapshotId: s1, blocks: new Map([[5, patternBlock(5)]]) });
      const [ofS0, ofS1, ofS2] = await Promise.all([s0, s1, s2].map((id) => readImage(after.ebs, id)));

      // Assess
      expect(badBefore.equals(patternBlock(2))).toBe(false);
      for (const image of [ofS0, ofS1, ofS2]) expect(image.get(2)!.equals(badBefore)).toBe(true);
      expect(ofS1.get(3)!.equals(patternBlock(3))).toBe(false);
      expect(ofS0.get(3)!.equals(patternBlock(3))).toBe(true);
      expect(ofS2.get(3)!.equals(patternBlock(3))).toBe(true);
    });
  });

  describe('pending snapshots', () => {
    it('resumes a snapshot that was being written, ignoring a torn journal record', async () => {
      // Prepare
      const started = await h!.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      const snapshotId = started.SnapshotId!;
      await putBlock(h!.ebs, snapshotId, 0, patternBlock(0));
      await putBlock(h!.ebs, snapshotId, 5, patternBlock(5));
      await h!.emulator.stop();
      await appendFile(join(dataDir, 'journals', `${snapshotId}.log`), Buffer.alloc(10, 0xaa));

      // Act
      h!.ebs.destroy();
      h = await startHarness({ dataDir });
      await putBlock(h.ebs, snapshotId, 9, patternBlock(9));
      const completed = await h.ebs.send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: 3 }));

      // Assess
      expect(completed.Status).toBe('completed');
      expect([...(await listAllBlocks(h.ebs, snapshotId)).keys()]).toEqual([0, 5, 9]);
    });
  });

  describe('pending snapshots and shared content', () => {
    it('keeps content that a pending snapshot overwrote while another snapshot still holds it', async () => {
      // Prepare: several pending snapshots overwrite X with Y; a completed one keeps X.
      const x = patternBlock(70);
      const y = patternBlock(71);
      const pendingIds: string[] = [];
      for (let k = 0; k < 4; k++) {
        const started = await h!.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
        await putBlock(h!.ebs, started.SnapshotId!, 0, x);
        await putBlock(h!.ebs, started.SnapshotId!, 0, y);
        pendingIds.push(started.SnapshotId!);
      }
      const holder = await writeSnapshot(h!.ebs, { volumeSize: 1, blocks: new Map([[0, x]]) });

      // Act
      const after = await restart();
      const image = await readImage(after.ebs, holder);

      // Assess
      expect(image.get(0)!.equals(x)).toBe(true);
      expect(pendingIds.every((id) => after.emulator.store.getSnapshot(id)?.state === 'pending')).toBe(true);
    });
  });

  describe('content-addressed blocks', () => {
    it('stores identical blocks once and deletes content nobody references', async () => {
      // Prepare
      const shared = patternBlock(42);
      const a = await writeSnapshot(h!.ebs, { volumeSize: 1, blocks: new Map([[0, shared], [1, shared]]) });
      const b = await writeSnapshot(h!.ebs, { volumeSize: 1, blocks: new Map([[7, shared], [8, patternBlock(43)]]) });

      // Act
      const stored = await countBlockFiles(dataDir);
      await h!.emulator.store.deleteSnapshot(b);
      await h!.emulator.store.flush();
      const afterDeletingB = await countBlockFiles(dataDir);
      await h!.emulator.store.deleteSnapshot(a);
      await h!.emulator.store.flush();
      const afterDeletingBoth = await countBlockFiles(dataDir);

      // Assess
      expect(stored).toBe(2);
      expect(afterDeletingB).toBe(1);
      expect(afterDeletingBoth).toBe(0);
    });
  });
});

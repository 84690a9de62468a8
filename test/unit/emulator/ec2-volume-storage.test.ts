import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { FileVolumeStorage, KNOWN_CONTENT_MTIME_MS, MemoryVolumeStorage } from '../../../local/emulator/ec2/volume-storage';

/** A small volume: 16 blocks (8 MiB) keeps the zero scan instant. */
const VOLUME_BYTES = 16 * BLOCK_SIZE;

describe('MemoryVolumeStorage', () => {
  describe('write', () => {
    it('keeps only blocks holding data, so a zeroed block is no longer allocated', async () => {
      // Prepare
      const storage = new MemoryVolumeStorage();
      await storage.write(BLOCK_SIZE - 1, Buffer.from([7, 7]));

      // Act
      const afterWrite = await storage.nonZeroBlocks();
      await storage.write(BLOCK_SIZE - 1, Buffer.from([0, 0]));
      const afterClear = await storage.nonZeroBlocks();

      // Assess
      expect(afterWrite).toEqual([0, 1]);
      expect(afterClear).toEqual([]);
    });
  });
});

describe('FileVolumeStorage', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ebs-cdp-volume-'));
    file = path.join(dir, 'vol.img');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('open', () => {
    it('creates a sparse file of the full size marked as known content', async () => {
      // Act
      const storage = await FileVolumeStorage.open(file, VOLUME_BYTES);
      const info = await stat(file);
      const outside = await storage.writtenFromOutside();
      await storage.close();

      // Assess
      expect(info.size).toBe(VOLUME_BYTES);
      expect(info.mtimeMs).toBe(KNOWN_CONTENT_MTIME_MS);
      expect(outside).toBe(false);
    });
  });

  describe('writtenFromOutside', () => {
    it('reports a change of mtime by another writer', async () => {
      // Prepare
      const storage = await FileVolumeStorage.open(file, VOLUME_BYTES);
      const now = new Date();
      await utimes(file, now, now);

      // Act
      const outside = await storage.writtenFromOutside();
      await storage.close();

      // Assess
      expect(outside).toBe(true);
    });

    it('treats an own write as outside until the metadata covering it is saved (crash safety)', async () => {
      // Prepare
      const storage = await FileVolumeStorage.open(file, VOLUME_BYTES);
      await storage.write(3 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE, 1));
      const beforeSave = await storage.writtenFromOutside();
      await storage.close();

      // Act: a process that crashed before saving metadata leaves the file unmarked
      const reopened = await FileVolumeStorage.open(file, VOLUME_BYTES);
      const afterCrash = await reopened.writtenFromOutside();
      await reopened.write(4 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE, 2));
      await reopened.commitOwnWrites(reopened.writeGeneration());
      const stillOutside = await reopened.writtenFromOutside();
      await reopened.close();

      // Assess
      expect(beforeSave).toBe(false);
      expect(afterCrash).toBe(true);
      expect(stillOutside).toBe(true);
    });

    it('forgets own writes once committed, and outside writes once reconciled', async () => {
      // Prepare
      const storage = await FileVolumeStorage.open(file, VOLUME_BYTES);
      await storage.write(0, Buffer.alloc(BLOCK_SIZE, 1));
      await storage.commitOwnWrites(storage.writeGeneration());
      const afterCommit = await storage.writtenFromOutside();
      const now = new Date();
      await utimes(file, now, now);
      const since = await storage.stamp();

      // Act
      await storage.markReconciled(since);
      const afterReconcile = await storage.writtenFromOutside();
      await storage.close();

      // Assess
      expect(afterCommit).toBe(false);
      expect(afterReconcile).toBe(false);
    });
  });

  describe('nonZeroBlocks', () => {
    it('finds exactly the blocks holding a non-zero byte', async () => {
      // Prepare
      const storage = await FileVolumeStorage.open(file, VOLUME_BYTES);
      await storage.write(2 * BLOCK_SIZE + 17, Buffer.from([1]));
      await storage.write(15 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE, 9));
      await storage.write(8 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE));

      // Act
      const found = await storage.nonZeroBlocks();
      await storage.close();

      // Assess
      expect(found).toEqual([2, 15]);
    });
  });
});

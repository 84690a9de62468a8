import { promises as fsp, type Stats } from 'node:fs';
import { BLOCK_SIZE } from '../../../shared/core/constants';

/**
 * Where an emulated volume keeps its bytes: a sparse file a person can `dd` into, or (in
 * memory mode) a map of 512 KiB blocks. A block that reads all zeros counts as not allocated,
 * which is how TRIM/discard and a cleared block show up in snapshots.
 */
export interface VolumeStorage {
  /** Content of one block, always BLOCK_SIZE bytes (zeros where nothing was written). */
  readBlock(blockIndex: number): Promise<Buffer>;
  /** Writes `data` at byte `offset`. */
  write(offset: number, data: Buffer): Promise<void>;
  /** Makes one block read as zeros (not allocated). */
  zeroBlock(blockIndex: number): Promise<void>;
  /** Indexes of the blocks that hold any non-zero byte, ascending. */
  nonZeroBlocks(): Promise<number[]>;
  /**
   * True when a tool other than this emulator may have written the volume since the last
   * `markReconciled()` (only a file can be written from outside).
   */
  writtenFromOutside(): Promise<boolean>;
  /**
   * Records that the emulator knows the content again (after a full scan), unless the file
   * changed since `since` was taken.
   */
  markReconciled(since: FileStamp | undefined): Promise<void>;
  /** Counts the emulator's own writes, so a metadata save can say which writes it covers. */
  writeGeneration(): number;
  /**
   * Called once the metadata recording every write up to `generation` is saved: from then on
   * the emulator's own writes no longer look like outside writes.
   */
  commitOwnWrites(generation: number): Promise<void>;
  /** Identity of the current content as far as the file system tells (undefined in memory). */
  stamp(): Promise<FileStamp | undefined>;
  close(): Promise<void>;
  /** Closes and removes the data (DeleteVolume). */
  destroy(): Promise<void>;
}

/** What identifies a version of a volume file from outside: inode, size and mtime. */
export interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** One all-zero block to compare against: comparing is a memcmp, far cheaper than a loop. */
const ZERO_BLOCK = Buffer.alloc(BLOCK_SIZE);

/** True when `data[start, start + BLOCK_SIZE)` is all zeros. */
export function isZeroBlock(data: Buffer, start = 0): boolean {
  return data.compare(ZERO_BLOCK, 0, BLOCK_SIZE, start, start + BLOCK_SIZE) === 0;
}

/** In-memory volume: only blocks holding a non-zero byte are kept. */
export class MemoryVolumeStorage implements VolumeStorage {
  private readonly blocks = new Map<number, Buffer>();

  async readBlock(blockIndex: number): Promise<Buffer> {
    const block = this.blocks.get(blockIndex);
    return block === undefined ? Buffer.alloc(BLOCK_SIZE) : Buffer.from(block);
  }

  async write(offset: number, data: Buffer): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const position = offset + written;
      const blockIndex = Math.floor(position / BLOCK_SIZE);
      const inBlock = position - blockIndex * BLOCK_SIZE;
      const length = Math.min(BLOCK_SIZE - inBlock, data.length - written);
      const block = this.blocks.get(blockIndex) ?? Buffer.alloc(BLOCK_SIZE);
      data.copy(block, inBlock, written, written + length);
      if (isZeroBlock(block)) this.blocks.delete(blockIndex);
      else this.blocks.set(blockIndex, block);
      written += length;
    }
  }

  async zeroBlock(blockIndex: number): Promise<void> {
    this.blocks.delete(blockIndex);
  }

  async nonZeroBlocks(): Promise<number[]> {
    return [...this.blocks.keys()].sort((a, b) => a - b);
  }

  async writtenFromOutside(): Promise<boolean> {
    return false;
  }

  async markReconciled(): Promise<void> {}

  writeGeneration(): number {
    return 0;
  }

  async commitOwnWrites(): Promise<void> {}

  async stamp(): Promise<FileStamp | undefined> {
    return undefined;
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    this.blocks.clear();
  }
}

/**
 * The mtime the emulator gives a volume file while it knows every change to it. Any other
 * writer (dd, mkfs, a mounted file system) sets mtime to the current time, which can never
 * equal this one, so an outside write is noticed whatever the file system's timestamp
 * granularity (ext4 stamps writes with a coarse clock: comparing against the mtime of our own
 * last write would miss a `dd` that lands in the same tick). 2000-01-01T00:00:00Z.
 */
export const KNOWN_CONTENT_MTIME_MS = Date.UTC(2000, 0, 1);

/**
 * Bytes read per call by the zero scan: large reads amortise the syscall; 16 MiB measured
 * ≈3 GB/s on the development VM (holes cost a kernel memset, not disk I/O).
 */
export const ZERO_SCAN_CHUNK_BYTES = 32 * BLOCK_SIZE;

/** A sparse file of the volume's full size. */
export class FileVolumeStorage implements VolumeStorage {
  private generation = 0;
  /**
   * The file as our last own write left it, while the metadata that records that write is not
   * saved yet. Until then the mtime marker stays off, so a crash before the save makes the
   * next snapshot scan the file instead of trusting a dirty set that lost the write.
   */
  private unsavedOwnWrite: { stamp: FileStamp; generation: number } | undefined;

  private constructor(
    readonly path: string,
    private handle: fsp.FileHandle,
    private readonly sizeBytes: number,
  ) {}

  /** Opens the volume file, creating it (sparse, full size, known content) when absent. */
  static async open(path: string, sizeBytes: number): Promise<FileVolumeStorage> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      handle = await fsp.open(path, 'w+');
      await handle.truncate(sizeBytes);
      await setKnownContentMtime(handle);
    }
    return new FileVolumeStorage(path, handle, sizeBytes);
  }

  async readBlock(blockIndex: number): Promise<Buffer> {
    const block = Buffer.alloc(BLOCK_SIZE);
    await this.handle.read(block, 0, BLOCK_SIZE, blockIndex * BLOCK_SIZE);
    return block;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    // If someone else wrote since the last reconcile, the evidence (an mtime that is not the
    // marker and not our own last write) must survive this write: then it is never committed.
    const knownBefore = this.isKnown(await this.handle.stat());
    await this.handle.write(data, 0, data.length, offset);
    this.generation += 1;
    this.unsavedOwnWrite = knownBefore ? { stamp: await this.stamp(), generation: this.generation } : undefined;
  }

  writeGeneration(): number {
    return this.generation;
  }

  async commitOwnWrites(generation: number): Promise<void> {
    const pending = this.unsavedOwnWrite;
    if (pending === undefined || pending.generation !== generation) return;
    this.unsavedOwnWrite = undefined;
    if (sameStamp(pending.stamp, await this.stamp())) await setKnownContentMtime(this.handle);
  }

  async zeroBlock(blockIndex: number): Promise<void> {
    // Node has no fallocate(PUNCH_HOLE): write zeros, which read back as "not allocated".
    await this.write(blockIndex * BLOCK_SIZE, ZERO_BLOCK);
  }

  async nonZeroBlocks(): Promise<number[]> {
    const found: number[] = [];
    const chunk = Buffer.allocUnsafe(ZERO_SCAN_CHUNK_BYTES);
    for (let offset = 0; offset < this.sizeBytes; offset += ZERO_SCAN_CHUNK_BYTES) {
      const { bytesRead } = await this.handle.read(chunk, 0, ZERO_SCAN_CHUNK_BYTES, offset);
      // Past the end of a file shortened by a tool, everything reads as zeros.
      chunk.fill(0, bytesRead);
      for (let start = 0; start < ZERO_SCAN_CHUNK_BYTES; start += BLOCK_SIZE) {
        if (!isZeroBlock(chunk, start)) found.push((offset + start) / BLOCK_SIZE);
      }
    }
    return found;
  }

  async writtenFromOutside(): Promise<boolean> {
    if (await this.replaced()) {
      // A tool replaced the file (temp file + rename): read the new one from now on.
      await this.handle.close();
      this.handle = await fsp.open(this.path, 'r+');
      return true;
    }
    const stats = await this.handle.stat();
    return !this.isKnown(stats) || stats.size !== this.sizeBytes;
  }

  async markReconciled(since: FileStamp | undefined): Promise<void> {
    const now = await this.stamp();
    if (since !== undefined && !sameStamp(since, now)) return;
    this.unsavedOwnWrite = undefined;
    await setKnownContentMtime(this.handle);
  }

  async stamp(): Promise<FileStamp> {
    return toStamp(await this.handle.stat());
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  async destroy(): Promise<void> {
    await this.handle.close();
    await fsp.rm(this.path, { force: true });
  }

  /** Known content: the marker, or exactly what our own not-yet-saved write left. */
  private isKnown(stats: Stats): boolean {
    if (stats.mtimeMs === KNOWN_CONTENT_MTIME_MS) return true;
    const pending = this.unsavedOwnWrite;
    return pending !== undefined && sameStamp(pending.stamp, toStamp(stats));
  }

  /** A tool that replaced the file (write to a temp file + rename) leaves our handle on the old inode. */
  private async replaced(): Promise<boolean> {
    const [ours, onDisk] = await Promise.all([this.handle.stat(), fsp.stat(this.path).catch(() => undefined)]);
    return onDisk !== undefined && onDisk.ino !== ours.ino;
  }
}

function toStamp(stats: Stats): FileStamp {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

async function setKnownContentMtime(handle: fsp.FileHandle): Promise<void> {
  const known = new Date(KNOWN_CONTENT_MTIME_MS);
  await handle.utimes(known, known);
}

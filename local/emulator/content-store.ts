import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where block bytes live, addressed by the hex SHA-256 of their content: the same bytes written
 * to many snapshots (zero blocks, unchanged blocks of a child) are stored once.
 */
export interface ContentStore {
  put(hash: string, data: Buffer): Promise<void>;
  get(hash: string): Promise<Buffer>;
  delete(hash: string): Promise<void>;
}

/** In-memory content for tests: nothing touches the disk. */
export class MemoryContentStore implements ContentStore {
  private readonly blocks = new Map<string, Buffer>();

  async put(hash: string, data: Buffer): Promise<void> {
    if (!this.blocks.has(hash)) this.blocks.set(hash, Buffer.from(data));
  }

  async get(hash: string): Promise<Buffer> {
    const data = this.blocks.get(hash);
    if (data === undefined) throw new Error(`block content ${hash} is not stored`);
    return data;
  }

  async delete(hash: string): Promise<void> {
    this.blocks.delete(hash);
  }
}

/** Characters of the hash used as a fan-out directory, so no directory holds millions of files. */
const FANOUT_CHARS = 2;
/** Random bytes in a temporary file name: unique among concurrent writers of one block. */
const TMP_SUFFIX_BYTES = 6;

/**
 * Content under `<dataDir>/blocks/ab/<hex>`. Each block is written to a temporary name and renamed,
 * so a crash never leaves a torn block under its final (content-derived) name.
 */
export class FileContentStore implements ContentStore {
  private readonly root: string;
  /** Fan-out directories known to exist: a mkdir per block write cost a tenth of the put time. */
  private readonly madeDirs = new Set<string>();

  constructor(dataDir: string) {
    this.root = join(dataDir, 'blocks');
  }

  private pathOf(hash: string): string {
    return join(this.root, hash.slice(0, FANOUT_CHARS), hash);
  }

  async put(hash: string, data: Buffer): Promise<void> {
    const path = this.pathOf(hash);
    const dir = join(this.root, hash.slice(0, FANOUT_CHARS));
    if (!this.madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const tmp = `${path}.${randomBytes(TMP_SUFFIX_BYTES).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }

  async get(hash: string): Promise<Buffer> {
    return readFile(this.pathOf(hash));
  }

  async delete(hash: string): Promise<void> {
    await rm(this.pathOf(hash), { force: true });
  }
}

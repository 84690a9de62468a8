import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockTable, UNALLOCATED } from './block-table';
import type { SnapshotInfo } from './contracts';
import { EmulatorStateError } from './errors';

/** Bytes of a raw SHA-256 digest. */
export const DIGEST_BYTES = 32;

/** What survives a restart about one snapshot, besides its block map. */
export interface PersistedSnapshot {
  info: SnapshotInfo;
  /** Deleted by the user but kept because a child still inherits blocks through it. */
  deleted: boolean;
  /** When a pending snapshot goes to `error`: `timeoutMs` after its start or its last block write. */
  timeoutAt?: number;
  /** StartSnapshot `Timeout`, in ms. */
  timeoutMs?: number;
  completing?: boolean;
  completesAt?: number;
  notFoundUntil?: number;
  clientToken?: string;
  requestFingerprint?: string;
  /**
   * Blocks corrupted in this snapshot's private view only (`scope: 'snapshot'`):
   * [blockIndex, hex hash of the corrupted content].
   */
  corrupt: [number, string][];
  /**
   * Versions this snapshot's own block map wrote that are damaged at rest (`scope: 'stored'`):
   * every snapshot whose image resolves to that version reads the damage.
   * [blockIndex, hex hash of the damaged content]. Absent in data directories written before it.
   */
  storedCorrupt?: [number, string][];
}

/** Block map entries as hashes (the content ids of a running store are not stable across restarts). */
export interface PersistedMap {
  indexes: Uint32Array;
  /** Hex SHA-256 per entry, `undefined` for a block no longer allocated. */
  hashes: (string | undefined)[];
}

/** Everything a store reads back at start. */
export interface LoadedState {
  secret: Buffer;
  snapshots: PersistedSnapshot[];
  maps: Map<string, PersistedMap>;
  /** Writes of pending snapshots, in write order: later entries win. */
  journals: Map<string, { blockIndex: number; hash: string }[]>;
}

/** How the store keeps its metadata: on disk under a data directory, or nowhere (memory mode). */
export interface Persistence {
  load(): Promise<LoadedState>;
  saveSnapshot(record: PersistedSnapshot): Promise<void>;
  saveMap(snapshotId: string, map: PersistedMap): Promise<void>;
  appendJournal(snapshotId: string, blockIndex: number, hash: string): Promise<void>;
  deleteJournal(snapshotId: string): Promise<void>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  /** Releases open files; the store is not used afterwards. */
  close(): Promise<void>;
}

/** Secret bytes for token signatures. */
const SECRET_BYTES = 32;

/** Memory mode: a fresh secret, nothing saved. */
export class MemoryPersistence implements Persistence {
  async load(): Promise<LoadedState> {
    return { secret: randomBytes(SECRET_BYTES), snapshots: [], maps: new Map(), journals: new Map() };
  }
  async saveSnapshot(): Promise<void> {}
  async saveMap(): Promise<void> {}
  async appendJournal(): Promise<void> {}
  async deleteJournal(): Promise<void> {}
  async deleteSnapshot(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Block indexes are stored as uint32 LE (the largest volume has 2^27 blocks). */
const UINT32_BYTES = 4;
/** Map file header: magic, format version, entry count (uint32 LE each, at these offsets). */
const MAP_MAGIC = 0x4d534245; // "EBSM" little-endian
const MAP_VERSION = 1;
const MAP_MAGIC_AT = 0;
const MAP_VERSION_AT = 4;
const MAP_COUNT_AT = 8;
const MAP_HEADER_BYTES = 12;
/** Map entry: a block index (in the index section) and a raw digest (in the hash section). */
const MAP_ENTRY_BYTES = UINT32_BYTES + DIGEST_BYTES;
/** Journal record: block index, then the raw digest. */
const JOURNAL_RECORD_BYTES = UINT32_BYTES + DIGEST_BYTES;
/** Random bytes in a temporary file name: unique among concurrent writers of one target. */
const TMP_SUFFIX_BYTES = 6;
const ZERO_DIGEST = Buffer.alloc(DIGEST_BYTES);

/** Writes `data` under a temporary name, then renames: readers never see a torn file. */
async function writeAtomically(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.${randomBytes(TMP_SUFFIX_BYTES).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'ENOENT';
}

/**
 * Layout under the data directory:
 * `secret`, `snapshots/<id>.json` (metadata), `maps/<id>.map` (block map of a completed
 * snapshot), `journals/<id>.log` (writes of a pending snapshot, appended per PutSnapshotBlock),
 * and `blocks/` (content, see FileContentStore). Metadata and maps are replaced atomically.
 */
export class FilePersistence implements Persistence {
  private readonly dataDir: string;
  /** Metadata saves of one snapshot are chained so an older save never lands after a newer one. */
  private readonly saving = new Map<string, Promise<void>>();
  /** Journals of pending snapshots stay open for appending: opening one per block write was a tenth of the put time. */
  private readonly journalHandles = new Map<string, Promise<FileHandle>>();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  private dir(name: string): string {
    return join(this.dataDir, name);
  }

  async load(): Promise<LoadedState> {
    for (const name of ['snapshots', 'maps', 'journals', 'blocks']) await mkdir(this.dir(name), { recursive: true });
    const secret = await this.loadSecret();
    const snapshots: PersistedSnapshot[] = [];
    for (const file of await readdir(this.dir('snapshots'))) {
      if (!file.endsWith('.json')) continue;
      const text = await readFile(join(this.dir('snapshots'), file), 'utf8');
      try {
        snapshots.push(JSON.parse(text) as PersistedSnapshot);
      } catch (cause) {
        throw new EmulatorStateError(`snapshot metadata ${file} is not valid JSON`, { cause });
      }
    }
    const maps = new Map<string, PersistedMap>();
    const journals = new Map<string, { blockIndex: number; hash: string }[]>();
    for (const snapshot of snapshots) {
      const id = snapshot.info.snapshotId;
      const map = await this.loadMap(id);
      if (map !== undefined) maps.set(id, map);
      const journal = await this.loadJournal(id);
      if (journal !== undefined) journals.set(id, journal);
    }
    return { secret, snapshots, maps, journals };
  }

  private async loadSecret(): Promise<Buffer> {
    const path = join(this.dataDir, 'secret');
    try {
      return Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const secret = randomBytes(SECRET_BYTES);
      await writeAtomically(path, secret.toString('hex'));
      return secret;
    }
  }

  private async loadMap(snapshotId: string): Promise<PersistedMap | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(join(this.dir('maps'), `${snapshotId}.map`));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const count = buf.length >= MAP_HEADER_BYTES ? buf.readUInt32LE(MAP_COUNT_AT) : -1;
    if (
      count < 0 ||
      buf.readUInt32LE(MAP_MAGIC_AT) !== MAP_MAGIC ||
      buf.readUInt32LE(MAP_VERSION_AT) !== MAP_VERSION ||
      buf.length !== MAP_HEADER_BYTES + count * MAP_ENTRY_BYTES
    ) {
      throw new EmulatorStateError(`block map of ${snapshotId} is truncated or of an unknown format`, { snapshotId });
    }
    const indexes = new Uint32Array(count);
    const hashes: (string | undefined)[] = new Array<string | undefined>(count);
    const hashesAt = MAP_HEADER_BYTES + count * UINT32_BYTES;
    for (let i = 0; i < count; i++) {
      indexes[i] = buf.readUInt32LE(MAP_HEADER_BYTES + i * UINT32_BYTES);
      const digest = buf.subarray(hashesAt + i * DIGEST_BYTES, hashesAt + (i + 1) * DIGEST_BYTES);
      hashes[i] = digest.equals(ZERO_DIGEST) ? undefined : digest.toString('hex');
    }
    return { indexes, hashes };
  }

  private async loadJournal(snapshotId: string): Promise<{ blockIndex: number; hash: string }[] | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(join(this.dir('journals'), `${snapshotId}.log`));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    // A crash mid-append can leave a torn last record: whole records only.
    const records = Math.floor(buf.length / JOURNAL_RECORD_BYTES);
    const writes: { blockIndex: number; hash: string }[] = [];
    for (let r = 0; r < records; r++) {
      const at = r * JOURNAL_RECORD_BYTES;
      writes.push({ blockIndex: buf.readUInt32LE(at), hash: buf.subarray(at + UINT32_BYTES, at + JOURNAL_RECORD_BYTES).toString('hex') });
    }
    return writes;
  }

  async saveSnapshot(record: PersistedSnapshot): Promise<void> {
    const id = record.info.snapshotId;
    const text = JSON.stringify(record);
    const previous = this.saving.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => writeAtomically(join(this.dir('snapshots'), `${id}.json`), text));
    this.saving.set(id, next);
    try {
      await next;
    } finally {
      if (this.saving.get(id) === next) this.saving.delete(id);
    }
  }

  async saveMap(snapshotId: string, map: PersistedMap): Promise<void> {
    const count = map.indexes.length;
    const buf = Buffer.alloc(MAP_HEADER_BYTES + count * MAP_ENTRY_BYTES);
    buf.writeUInt32LE(MAP_MAGIC, MAP_MAGIC_AT);
    buf.writeUInt32LE(MAP_VERSION, MAP_VERSION_AT);
    buf.writeUInt32LE(count, MAP_COUNT_AT);
    const hashesAt = MAP_HEADER_BYTES + count * UINT32_BYTES;
    for (let i = 0; i < count; i++) {
      buf.writeUInt32LE(map.indexes[i], MAP_HEADER_BYTES + i * UINT32_BYTES);
      const hash = map.hashes[i];
      if (hash !== undefined) buf.write(hash, hashesAt + i * DIGEST_BYTES, 'hex');
    }
    await writeAtomically(join(this.dir('maps'), `${snapshotId}.map`), buf);
  }

  async appendJournal(snapshotId: string, blockIndex: number, hash: string): Promise<void> {
    const record = Buffer.alloc(JOURNAL_RECORD_BYTES);
    record.writeUInt32LE(blockIndex, 0);
    record.write(hash, UINT32_BYTES, 'hex');
    let handle = this.journalHandles.get(snapshotId);
    if (handle === undefined) {
      handle = open(join(this.dir('journals'), `${snapshotId}.log`), 'a');
      this.journalHandles.set(snapshotId, handle);
    }
    // One small O_APPEND write per record: concurrent appends never interleave within a record.
    await (await handle).write(record);
  }

  private async closeJournal(snapshotId: string): Promise<void> {
    const handle = this.journalHandles.get(snapshotId);
    if (handle === undefined) return;
    this.journalHandles.delete(snapshotId);
    await (await handle).close();
  }

  async deleteJournal(snapshotId: string): Promise<void> {
    await this.closeJournal(snapshotId);
    await rm(join(this.dir('journals'), `${snapshotId}.log`), { force: true });
  }

  async close(): Promise<void> {
    await Promise.all([...this.journalHandles.keys()].map((id) => this.closeJournal(id)));
    await Promise.all([...this.saving.values()].map((saving) => saving.catch(() => undefined)));
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    await this.saving.get(snapshotId)?.catch(() => undefined);
    await rm(join(this.dir('maps'), `${snapshotId}.map`), { force: true });
    await this.deleteJournal(snapshotId);
    await rm(join(this.dir('snapshots'), `${snapshotId}.json`), { force: true });
  }
}

/** Converts a table of content ids to its persisted form. */
export function toPersistedMap(table: BlockTable, hashOf: (contentId: number) => string): PersistedMap {
  const hashes: (string | undefined)[] = new Array<string | undefined>(table.size);
  for (let i = 0; i < table.size; i++) {
    const id = table.contentIds[i];
    hashes[i] = id === UNALLOCATED ? undefined : hashOf(id);
  }
  return { indexes: table.indexes, hashes };
}

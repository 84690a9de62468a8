/**
 * The snapshot store of the emulator, shared by the EBS direct APIs and the EC2 half. This
 * facade wires the parts together and keeps the one import path everybody uses:
 * - `rules.ts`: limits, parameter checks and error codes of the EBS direct APIs, paging;
 * - `lifecycle.ts`: start / put / complete, timeouts, delayed completion, deletion;
 * - `state.ts`: the snapshot records and what of them is saved and loaded;
 * - `lineage.ts`: images over ancestors and changed blocks between snapshots;
 * - `content-table.ts`: reference-counted block content.
 */
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { UNALLOCATED } from '../block-table';
import { FileContentStore, MemoryContentStore, type ContentStore } from '../content-store';
import type { BlockData, Clock, CreateSnapshotFromVolumeArgs, SnapshotInfo, SnapshotState, SnapshotStorePort, Tag } from '../contracts';
import { unwrittenEncryptedBlock } from '../encryption';
import { validationError } from '../errors';
import { sha256Hex } from '../../block-content';
import { FilePersistence, MemoryPersistence, type Persistence } from '../persistence';
import { BackgroundWork, ContentTable } from './content-table';
import { SnapshotLifecycle } from './lifecycle';
import { Lineage } from './lineage';
import {
  checkReadableIndex,
  checkSameLineage,
  pageOf,
  requireAllocated,
  type BlockListing,
  type ListingPage,
  type StartOptions,
  type StartSnapshotParams,
} from './rules';
import { SnapshotRecords } from './state';

export {
  DEFAULT_KMS_KEY_ARN,
  DIRECT_API_VOLUME_ID,
  IN_FIRST,
  IN_SECOND,
  MAX_TAGS,
  OWNER_ID,
  TIMEOUT_DEFAULT_MINUTES,
  TIMEOUT_MAX_MINUTES,
  TIMEOUT_MIN_MINUTES,
  type BlockListing,
  type ListingPage,
  type StartOptions,
  type StartSnapshotParams,
} from './rules';

/** Where `corruptBlock` puts the damage: the stored version every sharer reads, or one snapshot's view. */
export const CORRUPTION_SCOPES = ['stored', 'snapshot'] as const;
export type CorruptionScope = (typeof CORRUPTION_SCOPES)[number];

/** What `corruptBlock` did: who wrote the damaged version, and which snapshots now read damage. */
export interface CorruptionResult {
  scope: CorruptionScope;
  snapshotId: string;
  blockIndex: number;
  /** The snapshot (of `snapshotId`'s ancestry, possibly itself) whose own map wrote the version damaged. */
  writerSnapshotId: string;
  /** Completed snapshots whose reads of the block now return the damage (`scope: 'snapshot'`: `snapshotId` only). */
  affectedSnapshotIds: string[];
}

/** The snapshot store: every snapshot of the emulated account, its lineage and its block maps. */
export class SnapshotStore implements SnapshotStorePort {
  readonly clock: Clock;
  /** Secret that signs block and page tokens (persisted, so tokens survive a restart). */
  readonly secret: Buffer;
  private readonly persistence: Persistence;
  private readonly background = new BackgroundWork();
  private readonly content: ContentTable;
  private readonly records: SnapshotRecords;
  private readonly lineage: Lineage;
  private readonly lifecycle: SnapshotLifecycle;

  private constructor(clock: Clock, secret: Buffer, content: ContentStore, persistence: Persistence) {
    this.clock = clock;
    this.secret = secret;
    this.persistence = persistence;
    this.content = new ContentTable(content, this.background);
    this.records = new SnapshotRecords(persistence, this.content);
    this.lineage = new Lineage(this.records);
    this.lifecycle = new SnapshotLifecycle({
      clock,
      records: this.records,
      content: this.content,
      lineage: this.lineage,
      background: this.background,
    });
  }

  /**
   * Opens a store: file-backed under `dataDir` (everything persisted, reloaded here), or in
   * memory when `dataDir` is undefined.
   */
  static async open(options: { dataDir?: string; clock: Clock }): Promise<SnapshotStore> {
    const persistence = options.dataDir === undefined ? new MemoryPersistence() : new FilePersistence(options.dataDir);
    const content = options.dataDir === undefined ? new MemoryContentStore() : new FileContentStore(options.dataDir);
    const loaded = await persistence.load();
    const store = new SnapshotStore(options.clock, loaded.secret, content, persistence);
    store.records.restore(loaded, options.clock);
    return store;
  }

  /** Waits for background writes (state transitions noticed on read, content deletions). */
  flush(): Promise<void> {
    return this.background.flush();
  }

  /** Flushes and releases open files: the store is not used afterwards. */
  async close(): Promise<void> {
    await this.flush();
    await this.persistence.close();
  }

  // ---- EBS direct APIs -----------------------------------------------------------------------

  /** StartSnapshot: a new pending snapshot, or the original one for a repeated ClientToken. */
  startSnapshot(params: StartSnapshotParams, options: StartOptions): Promise<SnapshotInfo> {
    return this.lifecycle.startSnapshot(params, options);
  }

  /** PutSnapshotBlock: `hash` is the hex SHA-256 the server computed over the received body. */
  putSnapshotBlock(snapshotId: string, blockIndex: number, data: Buffer, hash: string, progress?: number): Promise<void> {
    return this.lifecycle.putSnapshotBlock(snapshotId, blockIndex, data, hash, progress);
  }

  /**
   * CompleteSnapshot: checks the block count and, when given, the LINEAR aggregate checksum (SHA-256
   * over the raw digests of the written blocks in ascending index), then seals the block map.
   */
  completeSnapshot(snapshotId: string, args: { changedBlocksCount: number; checksum?: string; completionDelayMs: number }): Promise<SnapshotState> {
    return this.lifecycle.completeSnapshot(snapshotId, args);
  }

  /** Throws what AWS answers when `snapshotId` is malformed, unknown or not completed. */
  requireCompleted(snapshotId: string): SnapshotInfo {
    return this.lifecycle.completed(snapshotId).info;
  }

  /** The snapshot's info, for the StartSnapshot response of a repeated ClientToken and for tests. */
  describe(snapshotId: string): SnapshotInfo {
    return this.lifecycle.live(snapshotId).info;
  }

  /** Allocated blocks of a completed snapshot (ListSnapshotBlocks), and its volume size. */
  snapshotBlocks(snapshotId: string): { listing: BlockListing; volumeSize: number } {
    const record = this.lifecycle.completed(snapshotId);
    return { listing: { indexes: this.lineage.imageOf(record).indexes }, volumeSize: record.info.volumeSize };
  }

  /**
   * Blocks that differ between two snapshots of one lineage (ListChangedBlocks): every block
   * written on the path between them through their nearest common ancestor, kept if either side
   * has it allocated. Without `firstSnapshotId`: every allocated block of the second.
   */
  changedBlocks(firstSnapshotId: string | undefined, secondSnapshotId: string): { listing: BlockListing; volumeSize: number } {
    const second = this.lifecycle.completed(secondSnapshotId);
    const volumeSize = second.info.volumeSize;
    const secondImage = this.lineage.imageOf(second);
    if (firstSnapshotId === undefined) return { listing: Lineage.allOf(secondImage), volumeSize };
    const first = this.lifecycle.completed(firstSnapshotId);
    checkSameLineage(first.info, second.info);
    return { listing: this.lineage.changesBetween(first, second, secondImage), volumeSize };
  }

  /** GetSnapshotBlock: content and base64 SHA-256 of an allocated block of a completed snapshot. */
  async getSnapshotBlock(snapshotId: string, blockIndex: number): Promise<{ data: Buffer; checksum: string }> {
    const record = this.lifecycle.completed(snapshotId);
    checkReadableIndex(record.info, blockIndex);
    const id = requireAllocated(this.lineage.readableId(record, blockIndex), snapshotId, blockIndex);
    const data = await this.content.contentOf(id);
    return { data, checksum: Buffer.from(this.content.hashOf(id), 'hex').toString('base64') };
  }

  /** A page of `listing` starting at the first block index ≥ `startBlockIndex`. */
  static page(listing: BlockListing, startBlockIndex: number, maxResults: number): ListingPage {
    return pageOf(listing, startBlockIndex, maxResults);
  }

  // ---- fault back door -----------------------------------------------------------------------

  /**
   * Silently corrupts one allocated block of a completed snapshot. Reads return different bytes
   * (the stored version with its first byte inverted) with their own, consistent checksum, as a
   * bad write would leave them; listings and block tokens are unchanged.
   *
   * - `scope: 'stored'` (default): damage at rest. The version of the block that `snapshotId`'s
   *   image resolves to was written by one snapshot of its ancestry (itself or the nearest
   *   ancestor whose own map holds the block); that stored version is damaged, so the writer and
   *   every descendant that did not rewrite the block read the damage. Other lineages holding
   *   identical bytes (the content store keeps them once) and descendants that rewrote the block
   *   are untouched.
   * - `scope: 'snapshot'`: only `snapshotId`'s own view of the block; its children do not inherit it.
   *
   * The damage is always derived from the undamaged stored version, so corrupting a block again
   * changes nothing.
   *
   * ```
   *  S0 {0:a, 1:b} ─► S1 {1:c} ─► S2 {}        corrupt(S2, 0): writer S0 → S0, S1, S2 read a✗
   *                                            corrupt(S2, 1): writer S1 → S1, S2 read c✗; S0 reads b
   * ```
   */
  async corruptBlock(snapshotId: string, blockIndex: number, scope: CorruptionScope = 'stored'): Promise<CorruptionResult> {
    const record = this.lifecycle.completed(snapshotId);
    const writer = this.lineage.writerOf(record, blockIndex);
    const storedId = writer?.own.lookup(blockIndex);
    if (writer === undefined || storedId === undefined || storedId === UNALLOCATED) {
      throw validationError(
        'INVALID_BLOCK',
        `Block ${blockIndex} is not allocated in '${snapshotId}': no snapshot of its ancestry stored a version of it to corrupt.`,
        { snapshotId, blockIndex },
      );
    }
    const data = Buffer.from(await this.content.contentOf(storedId));
    // Flip every bit of the first byte: the smallest change that still makes the block differ.
    data[0] ^= 0xff;
    const damagedId = await this.content.retain(sha256Hex(data), data);
    const writerSnapshotId = writer.info.snapshotId;
    if (scope === 'snapshot') {
      const previous = record.corruptIds.get(blockIndex);
      record.corruptIds.set(blockIndex, damagedId);
      if (previous !== undefined) this.content.release(previous);
      await this.records.save(record);
      return { scope, snapshotId, blockIndex, writerSnapshotId, affectedSnapshotIds: [snapshotId] };
    }
    const previous = this.records.setStoredCorruption(writer, blockIndex, damagedId);
    if (previous !== undefined) this.content.release(previous);
    await this.records.save(writer);
    const affected = this.lineage.sharersOf(writer, blockIndex).filter((r) => {
      this.lifecycle.refresh(r);
      // A snapshot with its own private corruption of the block keeps reading that.
      return r.info.state === 'completed' && !r.corruptIds.has(blockIndex);
    });
    return { scope, snapshotId, blockIndex, writerSnapshotId, affectedSnapshotIds: affected.map((r) => r.info.snapshotId) };
  }

  // ---- SnapshotStorePort (the EC2 half) ------------------------------------------------------

  createSnapshotFromVolume(args: CreateSnapshotFromVolumeArgs): Promise<SnapshotInfo> {
    return this.lifecycle.createSnapshotFromVolume(args);
  }

  getSnapshot(snapshotId: string): SnapshotInfo | undefined {
    const record = this.records.get(snapshotId);
    if (record === undefined || record.deleted) return undefined;
    this.lifecycle.refresh(record);
    return record.info;
  }

  listSnapshots(): SnapshotInfo[] {
    const infos: SnapshotInfo[] = [];
    for (const record of this.records.values()) {
      if (record.deleted) continue;
      this.lifecycle.refresh(record);
      infos.push(record.info);
    }
    return infos;
  }

  /**
   * Hides the snapshot. Its block map stays while a child still inherits through it, so
   * deleting a parent never changes what its children read or list.
   */
  deleteSnapshot(snapshotId: string): Promise<void> {
    return this.lifecycle.deleteSnapshot(snapshotId);
  }

  async setTags(snapshotId: string, tags: Tag[]): Promise<void> {
    const record = this.lifecycle.live(snapshotId);
    const merged = new Map(record.info.tags.map((t) => [t.Key, t.Value]));
    for (const tag of tags) merged.set(tag.Key, tag.Value);
    record.info.tags = [...merged].map(([Key, Value]) => ({ Key, Value }));
    await this.records.save(record);
  }

  async deleteTags(snapshotId: string, keys: string[]): Promise<void> {
    const record = this.lifecycle.live(snapshotId);
    record.info.tags = record.info.tags.filter((t) => !keys.includes(t.Key));
    await this.records.save(record);
  }

  listBlockIndexes(snapshotId: string): number[] {
    return Array.from(this.lineage.imageOf(this.lifecycle.completed(snapshotId)).indexes);
  }

  async readBlock(snapshotId: string, blockIndex: number): Promise<BlockData | undefined> {
    const id = this.lineage.readableId(this.lifecycle.completed(snapshotId), blockIndex);
    return id === undefined || id === UNALLOCATED ? undefined : this.content.contentOf(id);
  }

  /**
   * What a block of a completed snapshot reads as on a restored volume: its content, else zeros,
   * or for an encrypted snapshot the random bytes EBS returns for a never-written block.
   */
  async readImageBlock(snapshotId: string, blockIndex: number): Promise<BlockData> {
    const data = await this.readBlock(snapshotId, blockIndex);
    if (data !== undefined) return data;
    const info = this.lifecycle.completed(snapshotId).info;
    return info.encrypted ? unwrittenEncryptedBlock(info.lineageId, blockIndex) : Buffer.alloc(BLOCK_SIZE);
  }
}

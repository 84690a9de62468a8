import { createHash, randomBytes } from 'node:crypto';
import { BLOCK_SIZE, MAX_VOLUME_SIZE_GIB, volumeBlocks } from '../../../shared/core/constants';
import { BlockTable, overlay, UNALLOCATED, unionIndexes } from '../block-table';
import { FileContentStore, MemoryContentStore, type ContentStore } from '../content-store';
import type { BlockData, Clock, SnapshotInfo, SnapshotState, SnapshotStorePort, Tag } from '../contracts';
import { unwrittenEncryptedBlock } from '../encryption';
import { EbsApiError, EmulatorStateError, snapshotNotFound, validationError } from '../errors';
import {
  FilePersistence,
  MemoryPersistence,
  toPersistedMap,
  type Persistence,
  type PersistedSnapshot,
} from '../persistence';

/** Account every emulated resource belongs to (the AWS documentation's example account). */
export const OWNER_ID = '111122223333';
/** Volume id AWS reports for snapshots created through the direct APIs. */
export const DIRECT_API_VOLUME_ID = 'vol-ffffffff';
/** The account's default EBS key: what `Encrypted` without `KmsKeyArn` uses. */
export const DEFAULT_KMS_KEY_ARN = `arn:aws:kms:us-east-1:${OWNER_ID}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0`;

/** StartSnapshot `Timeout` bounds and default, in minutes (EBS-FACTS.md). */
export const TIMEOUT_MIN_MINUTES = 10;
export const TIMEOUT_MAX_MINUTES = 4_320;
export const TIMEOUT_DEFAULT_MINUTES = 60;
/** StartSnapshot accepts at most this many tags. */
export const MAX_TAGS = 50;
const MS_PER_MINUTE = 60_000;
/** Flattened images kept in memory: the head of a lineage and its recent neighbours are what gets read. */
const IMAGE_CACHE_ENTRIES = 16;
/** ListChangedBlocks results kept between pages of one listing. */
const CHANGES_CACHE_ENTRIES = 8;
/** Snapshot ids: `snap-` and 17 hex digits, like AWS's long ids. */
const SNAPSHOT_ID_HEX_DIGITS = 17;
const SNAPSHOT_ID_PATTERN = /^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
/** Flag bits of a changed block: present in the first and/or second snapshot. */
export const IN_FIRST = 1;
export const IN_SECOND = 2;

/** Parameters of StartSnapshot, already parsed from the request. */
export interface StartSnapshotParams {
  volumeSize: number;
  parentSnapshotId?: string;
  tags: Tag[];
  description?: string;
  clientToken?: string;
  encrypted: boolean;
  kmsKeyArn?: string;
  timeoutMinutes?: number;
}

/** Behaviour the fault switches add to StartSnapshot and CompleteSnapshot. */
export interface StartOptions {
  /** PutSnapshotBlock answers SNAPSHOT_NOT_FOUND for this long after the start (0 = never). */
  notFoundWindowMs: number;
  /** StartSnapshot fails with ConcurrentLimitExceededException beyond this many pending snapshots. */
  pendingSnapshotLimit?: number;
}

/** Sorted block indexes with, for changed-block listings, the IN_FIRST/IN_SECOND flags of each. */
export interface BlockListing {
  indexes: Uint32Array;
  flags?: Uint8Array;
}

/** A page of a listing: the entries and the block index the next page starts at, if any. */
export interface ListingPage {
  indexes: number[];
  flags: number[];
  nextBlockIndex?: number;
}

interface SnapshotRecord extends PersistedSnapshot {
  own: BlockTable;
  pending?: Map<number, number>;
  corruptIds: Map<number, number>;
}

/** Hex SHA-256 of `data`. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The snapshot store: every snapshot of the emulated account, its lineage and its block maps. */
export class SnapshotStore implements SnapshotStorePort {
  readonly clock: Clock;
  /** Secret that signs block and page tokens (persisted, so tokens survive a restart). */
  readonly secret: Buffer;
  private readonly content: ContentStore;
  private readonly persistence: Persistence;
  private readonly records = new Map<string, SnapshotRecord>();
  private readonly byClientToken = new Map<string, string>();
  // Content table: id → hash and reference count; hash → id. Ids are dense small integers so
  // block maps can hold them in an Int32Array.
  private readonly hashById: string[] = [];
  private readonly refs: number[] = [];
  private readonly idByHash = new Map<string, number>();
  private readonly freeIds: number[] = [];
  private readonly contentWrites = new Map<number, Promise<void>>();
  /** Deletions in flight by hash: a new write of the same bytes must land after the deletion, not before. */
  private readonly contentDeletes = new Map<string, Promise<void>>();
  private readonly imageCache = new Map<string, BlockTable>();
  private readonly changesCache = new Map<string, BlockListing>();
  private readonly background = new Set<Promise<void>>();
  /** `snapshotId|blockIndex` of PutSnapshotBlock calls being stored: a second one is a conflict. */
  private readonly writesInFlight = new Set<string>();

  private constructor(clock: Clock, secret: Buffer, content: ContentStore, persistence: Persistence) {
    this.clock = clock;
    this.secret = secret;
    this.content = content;
    this.persistence = persistence;
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
    for (const persisted of loaded.snapshots) {
      const id = persisted.info.snapshotId;
      const record: SnapshotRecord = { ...persisted, own: BlockTable.empty(), corruptIds: new Map() };
      const map = loaded.maps.get(id);
      if (persisted.info.state === 'completed' || persisted.completing === true) {
        if (map === undefined) throw new EmulatorStateError(`completed snapshot ${id} has no block map`, { snapshotId: id });
        const ids = new Int32Array(map.indexes.length);
        map.hashes.forEach((hash, i) => (ids[i] = hash === undefined ? UNALLOCATED : store.adopt(hash)));
        record.own = new BlockTable(map.indexes, ids);
      } else if (persisted.info.state === 'pending') {
        // Last write of each block wins. Resolve that before taking references: releasing an
        // overwritten block mid-load could delete content a snapshot loaded later still needs.
        const lastWrites = new Map<number, string>();
        for (const write of loaded.journals.get(id) ?? []) lastWrites.set(write.blockIndex, write.hash);
        record.pending = new Map([...lastWrites].map(([blockIndex, hash]) => [blockIndex, store.adopt(hash)]));
        if (lastWrites.size > 0 && record.timeoutMs !== undefined) {
          record.timeoutAt = Math.max(record.timeoutAt ?? 0, options.clock.now() + record.timeoutMs);
        }
      }
      for (const [blockIndex, hash] of persisted.corrupt) record.corruptIds.set(blockIndex, store.adopt(hash));
      store.records.set(id, record);
      if (record.clientToken !== undefined) store.byClientToken.set(record.clientToken, id);
    }
    return store;
  }

  // ---- content table -------------------------------------------------------------------------

  /** Registers one more reference to content already on disk (used while loading). */
  private adopt(hash: string): number {
    const known = this.idByHash.get(hash);
    if (known !== undefined) {
      this.refs[known]++;
      return known;
    }
    const id = this.freeIds.pop() ?? this.hashById.length;
    this.hashById[id] = hash;
    this.refs[id] = 1;
    this.idByHash.set(hash, id);
    return id;
  }

  /** Takes a reference to `data` (whose hex SHA-256 is `hash`), storing it if it is new. */
  private async retain(hash: string, data: Buffer): Promise<number> {
    const known = this.idByHash.get(hash);
    if (known !== undefined) {
      this.refs[known]++;
      await this.contentWrites.get(known);
      return known;
    }
    const id = this.adopt(hash);
    const deleting = this.contentDeletes.get(hash);
    const write = deleting === undefined ? this.content.put(hash, data) : deleting.then(() => this.content.put(hash, data));
    this.contentWrites.set(id, write);
    try {
      await write;
    } catch (error) {
      this.release(id);
      throw error;
    } finally {
      this.contentWrites.delete(id);
    }
    return id;
  }

  /** Drops one reference; content nobody references any more is deleted. */
  private release(id: number): void {
    if (id === UNALLOCATED) return;
    this.refs[id]--;
    if (this.refs[id] > 0) return;
    const hash = this.hashById[id];
    this.idByHash.delete(hash);
    this.freeIds.push(id);
    const deletion = this.content.delete(hash).finally(() => {
      if (this.contentDeletes.get(hash) === deletion) this.contentDeletes.delete(hash);
    });
    this.contentDeletes.set(hash, deletion);
    this.track(deletion);
  }

  private hashOf = (id: number): string => this.hashById[id];

  private async contentOf(id: number): Promise<Buffer> {
    await this.contentWrites.get(id);
    return this.content.get(this.hashById[id]);
  }

  /** Keeps a fire-and-forget write visible to `flush`. */
  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      console.error('ebs-cdp emulator: background write failed', error);
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** Waits for background writes (state transitions noticed on read, content deletions). */
  async flush(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Flushes and releases open files: the store is not used afterwards. */
  async close(): Promise<void> {
    await this.flush();
    await this.persistence.close();
  }

  // ---- records and state ---------------------------------------------------------------------

  private persisted(record: SnapshotRecord): PersistedSnapshot {
    return {
      info: record.info,
      deleted: record.deleted,
      timeoutAt: record.timeoutAt,
      timeoutMs: record.timeoutMs,
      completing: record.completing,
      completesAt: record.completesAt,
      notFoundUntil: record.notFoundUntil,
      clientToken: record.clientToken,
      requestFingerprint: record.requestFingerprint,
      corrupt: [...record.corruptIds].map(([blockIndex, id]) => [blockIndex, this.hashById[id]]),
    };
  }

  private save(record: SnapshotRecord): Promise<void> {
    return this.persistence.saveSnapshot(this.persisted(record));
  }

  /**
   * Applies transitions that are due by the clock: a completion delayed by the fault switch
   * becomes `completed`; an unfinished snapshot past its `Timeout` goes to `error`.
   */
  private refresh(record: SnapshotRecord): void {
    if (record.info.state !== 'pending') return;
    const now = this.clock.now();
    if (record.completing === true) {
      if (now >= (record.completesAt ?? now)) {
        record.info.state = 'completed';
        record.info.progress = 100;
        this.track(this.save(record));
      }
    } else if (record.timeoutAt !== undefined && now >= record.timeoutAt) {
      record.info.state = 'error';
      record.info.stateMessage = 'Snapshot was not completed before its timeout';
      for (const id of record.pending?.values() ?? []) this.release(id);
      record.pending = undefined;
      this.track(this.save(record).then(() => this.persistence.deleteJournal(record.info.snapshotId)));
    }
  }

  private live(snapshotId: string): SnapshotRecord {
    if (!SNAPSHOT_ID_PATTERN.test(snapshotId)) {
      throw validationError('INVALID_SNAPSHOT_ID', `The snapshot ID '${snapshotId}' is malformed.`, { snapshotId });
    }
    const record = this.records.get(snapshotId);
    if (record === undefined || record.deleted) throw snapshotNotFound(snapshotId);
    this.refresh(record);
    return record;
  }

  private completed(snapshotId: string): SnapshotRecord {
    const record = this.live(snapshotId);
    if (record.info.state !== 'completed') {
      throw validationError('INVALID_SNAPSHOT_ID', `The snapshot '${snapshotId}' is not completed (${record.info.state}).`, {
        snapshotId,
      });
    }
    return record;
  }

  private newSnapshotId(): string {
    for (;;) {
      const id = `snap-${randomBytes(SNAPSHOT_ID_HEX_DIGITS).toString('hex').slice(0, SNAPSHOT_ID_HEX_DIGITS)}`;
      if (!this.records.has(id)) return id;
    }
  }

  private parentOf(record: SnapshotRecord): SnapshotRecord | undefined {
    const parentId = record.info.parentSnapshotId;
    return parentId === undefined ? undefined : this.records.get(parentId);
  }

  /** Full image of a completed snapshot (allocated blocks only): its own map over its ancestors'. */
  private imageOf(record: SnapshotRecord): BlockTable {
    const chain: SnapshotRecord[] = [];
    let base = BlockTable.empty();
    for (let r: SnapshotRecord | undefined = record; r !== undefined; r = this.parentOf(r)) {
      const cached = this.imageCache.get(r.info.snapshotId);
      if (cached !== undefined) {
        base = cached;
        break;
      }
      chain.push(r);
    }
    for (let k = chain.length - 1; k >= 0; k--) {
      base = overlay(base, chain[k].own);
      this.remember(this.imageCache, chain[k].info.snapshotId, base, IMAGE_CACHE_ENTRIES);
    }
    return base;
  }

  private remember<T>(cache: Map<string, T>, key: string, value: T, limit: number): void {
    cache.delete(key);
    cache.set(key, value);
    while (cache.size > limit) {
      const oldest = cache.keys().next();
      if (oldest.done === true) break;
      cache.delete(oldest.value);
    }
  }

  /** Content id of a block as reads see it: a silent corruption first, then the image. */
  private readableId(record: SnapshotRecord, blockIndex: number): number | undefined {
    return record.corruptIds.get(blockIndex) ?? this.imageOf(record).lookup(blockIndex);
  }

  // ---- EBS direct APIs -----------------------------------------------------------------------

  /** StartSnapshot: a new pending snapshot, or the original one for a repeated ClientToken. */
  async startSnapshot(params: StartSnapshotParams, options: StartOptions): Promise<SnapshotInfo> {
    const fingerprint = JSON.stringify([
      params.volumeSize,
      params.parentSnapshotId ?? null,
      params.tags,
      params.description ?? null,
      params.encrypted,
      params.kmsKeyArn ?? null,
      params.timeoutMinutes ?? null,
    ]);
    if (params.clientToken !== undefined) {
      const existingId = this.byClientToken.get(params.clientToken);
      const existing = existingId === undefined ? undefined : this.records.get(existingId);
      if (existing !== undefined) {
        if (existing.requestFingerprint !== fingerprint) {
          throw new EbsApiError('ConflictException', undefined, 'The ClientToken was already used with different parameters.', {
            snapshotId: existing.info.snapshotId,
          });
        }
        this.refresh(existing);
        return existing.info;
      }
    }
    if (!Number.isInteger(params.volumeSize) || params.volumeSize < 1 || params.volumeSize > MAX_VOLUME_SIZE_GIB) {
      throw validationError('INVALID_VOLUME_SIZE', `VolumeSize must be 1–${MAX_VOLUME_SIZE_GIB} GiB.`);
    }
    const timeoutMinutes = params.timeoutMinutes ?? TIMEOUT_DEFAULT_MINUTES;
    if (!Number.isInteger(timeoutMinutes) || timeoutMinutes < TIMEOUT_MIN_MINUTES || timeoutMinutes > TIMEOUT_MAX_MINUTES) {
      throw validationError('INVALID_PARAMETER_VALUE', `Timeout must be ${TIMEOUT_MIN_MINUTES}–${TIMEOUT_MAX_MINUTES} minutes.`);
    }
    if (params.tags.length > MAX_TAGS) throw validationError('INVALID_TAG', `At most ${MAX_TAGS} tags are allowed.`);
    if (params.encrypted && params.parentSnapshotId !== undefined) {
      throw validationError(
        'INVALID_PARAMETER_VALUE',
        'Encrypted cannot be set together with ParentSnapshotId: the child inherits the encryption of its parent.',
      );
    }
    let parent: SnapshotRecord | undefined;
    if (params.parentSnapshotId !== undefined) {
      parent = this.completed(params.parentSnapshotId);
      if (params.volumeSize < parent.info.volumeSize) {
        throw validationError(
          'INVALID_VOLUME_SIZE',
          `VolumeSize ${params.volumeSize} is smaller than the parent's ${parent.info.volumeSize} GiB.`,
          { snapshotId: parent.info.snapshotId },
        );
      }
      if (params.kmsKeyArn !== undefined && params.kmsKeyArn !== parent.info.kmsKeyId) {
        throw validationError('INVALID_CUSTOMER_KEY', 'A child snapshot uses the KMS key of its parent.');
      }
    }
    if (options.pendingSnapshotLimit !== undefined) {
      const pending = [...this.records.values()].filter((r) => !r.deleted && (this.refresh(r), r.info.state === 'pending'));
      if (pending.length >= options.pendingSnapshotLimit) {
        throw new EbsApiError(
          'ConcurrentLimitExceededException',
          undefined,
          `You have reached the limit of ${options.pendingSnapshotLimit} pending snapshots.`,
        );
      }
    }
    const now = this.clock.now();
    const snapshotId = this.newSnapshotId();
    const encrypted = parent?.info.encrypted ?? params.encrypted;
    const info: SnapshotInfo = {
      snapshotId,
      volumeId: DIRECT_API_VOLUME_ID,
      volumeSize: params.volumeSize,
      state: 'pending',
      progress: 0,
      startTime: new Date(now).toISOString(),
      description: params.description,
      tags: params.tags,
      encrypted,
      kmsKeyId: encrypted ? (parent?.info.kmsKeyId ?? params.kmsKeyArn ?? DEFAULT_KMS_KEY_ARN) : undefined,
      parentSnapshotId: parent?.info.snapshotId,
      lineageId: parent?.info.lineageId ?? snapshotId,
      ownerId: OWNER_ID,
    };
    const record: SnapshotRecord = {
      info,
      deleted: false,
      timeoutAt: now + timeoutMinutes * MS_PER_MINUTE,
      timeoutMs: timeoutMinutes * MS_PER_MINUTE,
      notFoundUntil: options.notFoundWindowMs > 0 ? now + options.notFoundWindowMs : undefined,
      clientToken: params.clientToken,
      requestFingerprint: fingerprint,
      corrupt: [],
      own: BlockTable.empty(),
      pending: new Map(),
      corruptIds: new Map(),
    };
    this.records.set(snapshotId, record);
    if (params.clientToken !== undefined) this.byClientToken.set(params.clientToken, snapshotId);
    await this.save(record);
    return info;
  }

  /** PutSnapshotBlock: `hash` is the hex SHA-256 the server computed over the received body. */
  async putSnapshotBlock(snapshotId: string, blockIndex: number, data: Buffer, hash: string, progress?: number): Promise<void> {
    const record = this.live(snapshotId);
    if (record.notFoundUntil !== undefined && this.clock.now() < record.notFoundUntil) throw snapshotNotFound(snapshotId);
    const pending = record.pending;
    if (record.info.state !== 'pending' || record.completing === true || pending === undefined) {
      throw validationError('INVALID_SNAPSHOT_ID', `The snapshot '${snapshotId}' is ${record.info.state}: it takes no more blocks.`, {
        snapshotId,
        blockIndex,
      });
    }
    if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex >= volumeBlocks(record.info.volumeSize)) {
      throw validationError('INVALID_BLOCK', `Block index ${blockIndex} is outside the ${record.info.volumeSize} GiB volume.`, {
        snapshotId,
        blockIndex,
      });
    }
    const key = `${snapshotId}|${blockIndex}`;
    if (this.writesInFlight.has(key)) {
      throw validationError('CONFLICTING_BLOCK_UPDATE', `Block ${blockIndex} of '${snapshotId}' is being written by another request.`, {
        snapshotId,
        blockIndex,
      });
    }
    this.writesInFlight.add(key);
    let id: number;
    try {
      id = await this.retain(hash, data);
      try {
        await this.persistence.appendJournal(snapshotId, blockIndex, hash);
      } catch (error) {
        this.release(id);
        throw error;
      }
    } finally {
      this.writesInFlight.delete(key);
    }
    if (record.pending !== pending) {
      // Timed out while the block was being stored: the write is lost, as on AWS (and the
      // append may have re-created the journal the timeout removed).
      this.release(id);
      await this.persistence.deleteJournal(snapshotId);
      throw validationError('INVALID_SNAPSHOT_ID', `The snapshot '${snapshotId}' is ${record.info.state}.`, { snapshotId, blockIndex });
    }
    const previous = pending.get(blockIndex);
    pending.set(blockIndex, id);
    if (previous !== undefined) this.release(previous);
    // AWS cancels a snapshot after `Timeout` without writes, not `Timeout` after its start. Kept in
    // memory only (a metadata write per block would halve the put rate); a restart counts as a write.
    if (record.timeoutMs !== undefined) record.timeoutAt = this.clock.now() + record.timeoutMs;
    if (progress !== undefined) record.info.progress = progress;
  }

  /**
   * CompleteSnapshot: checks the block count and, when given, the LINEAR aggregate checksum (SHA-256
   * over the raw digests of the written blocks in ascending index), then seals the block map.
   */
  async completeSnapshot(
    snapshotId: string,
    args: { changedBlocksCount: number; checksum?: string; completionDelayMs: number },
  ): Promise<SnapshotState> {
    const record = this.live(snapshotId);
    const pending = record.pending;
    if (record.info.state !== 'pending' || record.completing === true || pending === undefined) return record.info.state;
    if (args.changedBlocksCount !== pending.size) {
      throw validationError(
        'INVALID_PARAMETER_VALUE',
        `ChangedBlocksCount ${args.changedBlocksCount} does not match the ${pending.size} blocks written.`,
        { snapshotId },
      );
    }
    const table = BlockTable.fromMap(pending);
    if (args.checksum !== undefined) {
      const aggregate = createHash('sha256');
      for (let i = 0; i < table.size; i++) aggregate.update(Buffer.from(this.hashById[table.contentIds[i]], 'hex'));
      if (aggregate.digest('base64') !== args.checksum) {
        throw validationError('INVALID_PARAMETER_VALUE', 'The aggregate checksum does not match the blocks written.', { snapshotId });
      }
    }
    await this.persistence.saveMap(snapshotId, toPersistedMap(table, this.hashOf));
    record.own = table;
    record.pending = undefined;
    record.completing = true;
    record.completesAt = this.clock.now() + args.completionDelayMs;
    this.imageCache.delete(snapshotId);
    this.refresh(record);
    await this.save(record);
    await this.persistence.deleteJournal(snapshotId);
    return record.info.state;
  }

  /** Throws what AWS answers when `snapshotId` is malformed, unknown or not completed. */
  requireCompleted(snapshotId: string): SnapshotInfo {
    return this.completed(snapshotId).info;
  }

  /** The snapshot's info, for the StartSnapshot response of a repeated ClientToken and for tests. */
  describe(snapshotId: string): SnapshotInfo {
    return this.live(snapshotId).info;
  }

  /** Allocated blocks of a completed snapshot (ListSnapshotBlocks), and its volume size. */
  snapshotBlocks(snapshotId: string): { listing: BlockListing; volumeSize: number } {
    const record = this.completed(snapshotId);
    return { listing: { indexes: this.imageOf(record).indexes }, volumeSize: record.info.volumeSize };
  }

  /**
   * Blocks that differ between two snapshots of one lineage (ListChangedBlocks): every block
   * written on the path between them through their nearest common ancestor, kept if either side
   * has it allocated. Without `firstSnapshotId`: every allocated block of the second.
   */
  changedBlocks(firstSnapshotId: string | undefined, secondSnapshotId: string): { listing: BlockListing; volumeSize: number } {
    const second = this.completed(secondSnapshotId);
    const volumeSize = second.info.volumeSize;
    const secondImage = this.imageOf(second);
    if (firstSnapshotId === undefined) {
      return { listing: { indexes: secondImage.indexes, flags: new Uint8Array(secondImage.size).fill(IN_SECOND) }, volumeSize };
    }
    const first = this.completed(firstSnapshotId);
    if (first.info.lineageId !== second.info.lineageId) {
      throw validationError('UNRELATED_SNAPSHOTS', 'The snapshots are not of the same lineage.', { snapshotId: secondSnapshotId });
    }
    const key = `${firstSnapshotId}|${secondSnapshotId}`;
    const cached = this.changesCache.get(key);
    if (cached !== undefined) return { listing: cached, volumeSize };
    const firstImage = this.imageOf(first);
    const ancestorsOfFirst = new Map<string, SnapshotRecord>();
    for (let r: SnapshotRecord | undefined = first; r !== undefined; r = this.parentOf(r)) ancestorsOfFirst.set(r.info.snapshotId, r);
    const path: BlockTable[] = [];
    let common: SnapshotRecord | undefined;
    for (let r: SnapshotRecord | undefined = second; r !== undefined; r = this.parentOf(r)) {
      if (ancestorsOfFirst.has(r.info.snapshotId)) {
        common = r;
        break;
      }
      path.push(r.own);
    }
    let candidates: Uint32Array;
    if (common === undefined) {
      // Same lineage but no shared ancestor left (e.g. an EC2 lineage whose link was deleted): compare contents.
      candidates = unionIndexes([firstImage, secondImage]);
    } else {
      for (let r: SnapshotRecord | undefined = first; r !== undefined && r !== common; r = this.parentOf(r)) path.push(r.own);
      candidates = unionIndexes(path);
    }
    const indexes = new Uint32Array(candidates.length);
    const flags = new Uint8Array(candidates.length);
    let n = 0;
    for (const blockIndex of candidates) {
      const inFirst = firstImage.lookup(blockIndex);
      const inSecond = secondImage.lookup(blockIndex);
      if (inFirst === undefined && inSecond === undefined) continue;
      if (common === undefined && inFirst === inSecond) continue;
      indexes[n] = blockIndex;
      flags[n] = (inFirst === undefined ? 0 : IN_FIRST) | (inSecond === undefined ? 0 : IN_SECOND);
      n++;
    }
    const listing = { indexes: indexes.slice(0, n), flags: flags.slice(0, n) };
    this.remember(this.changesCache, key, listing, CHANGES_CACHE_ENTRIES);
    return { listing, volumeSize };
  }

  /** GetSnapshotBlock: content and base64 SHA-256 of an allocated block of a completed snapshot. */
  async getSnapshotBlock(snapshotId: string, blockIndex: number): Promise<{ data: Buffer; checksum: string }> {
    const record = this.completed(snapshotId);
    if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex >= volumeBlocks(record.info.volumeSize)) {
      throw validationError('INVALID_BLOCK', `Block index ${blockIndex} is outside the volume.`, { snapshotId, blockIndex });
    }
    const id = this.readableId(record, blockIndex);
    if (id === undefined || id === UNALLOCATED) {
      throw validationError('INVALID_BLOCK', `Block ${blockIndex} is not allocated in '${snapshotId}'.`, { snapshotId, blockIndex });
    }
    const data = await this.contentOf(id);
    return { data, checksum: Buffer.from(this.hashById[id], 'hex').toString('base64') };
  }

  /** A page of `listing` starting at the first block index ≥ `startBlockIndex`. */
  static page(listing: BlockListing, startBlockIndex: number, maxResults: number): ListingPage {
    let lo = 0;
    let hi = listing.indexes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (listing.indexes[mid] < startBlockIndex) lo = mid + 1;
      else hi = mid;
    }
    const end = Math.min(lo + maxResults, listing.indexes.length);
    return {
      indexes: Array.from(listing.indexes.subarray(lo, end)),
      flags: listing.flags === undefined ? [] : Array.from(listing.flags.subarray(lo, end)),
      nextBlockIndex: end < listing.indexes.length ? listing.indexes[end] : undefined,
    };
  }

  // ---- fault back door -----------------------------------------------------------------------

  /**
   * Silently corrupts one allocated block of one completed snapshot: reads of that block of that
   * snapshot return different bytes (with their own, consistent checksum, as a bad write would
   * leave them); other snapshots sharing the content and every listing are unaffected.
   */
  async corruptBlock(snapshotId: string, blockIndex: number): Promise<void> {
    const record = this.completed(snapshotId);
    const id = this.readableId(record, blockIndex);
    if (id === undefined || id === UNALLOCATED) {
      throw validationError('INVALID_BLOCK', `Block ${blockIndex} is not allocated in '${snapshotId}'.`, { snapshotId, blockIndex });
    }
    const data = Buffer.from(await this.contentOf(id));
    // Flip every bit of the first byte: the smallest change that still makes the block differ.
    data[0] ^= 0xff;
    const corruptId = await this.retain(sha256Hex(data), data);
    const previous = record.corruptIds.get(blockIndex);
    record.corruptIds.set(blockIndex, corruptId);
    if (previous !== undefined) this.release(previous);
    await this.save(record);
  }

  // ---- SnapshotStorePort (the EC2 half) ------------------------------------------------------

  async createSnapshotFromVolume(args: {
    volumeId: string;
    volumeSize: number;
    parentSnapshotId?: string;
    changed: Map<number, BlockData | null>;
    description?: string;
    tags: Tag[];
    encrypted: boolean;
    kmsKeyId?: string;
  }): Promise<SnapshotInfo> {
    const parent = args.parentSnapshotId === undefined ? undefined : this.records.get(args.parentSnapshotId);
    if (args.parentSnapshotId !== undefined && parent === undefined) throw snapshotNotFound(args.parentSnapshotId);
    const ids = new Map<number, number>();
    // Callers often pass one Buffer for many blocks (a shared zero block): hash each Buffer once.
    const hashes = new Map<Buffer, string>();
    try {
      for (const [blockIndex, data] of args.changed) {
        if (data === null) {
          ids.set(blockIndex, UNALLOCATED);
          continue;
        }
        if (data.length !== BLOCK_SIZE) {
          throw validationError('INVALID_BLOCK', `Block ${blockIndex} holds ${data.length} bytes, not ${BLOCK_SIZE}.`, { blockIndex });
        }
        let hash = hashes.get(data);
        if (hash === undefined) {
          hash = sha256Hex(data);
          hashes.set(data, hash);
        }
        ids.set(blockIndex, await this.retain(hash, data));
      }
    } catch (error) {
      for (const id of ids.values()) this.release(id);
      throw error;
    }
    const snapshotId = this.newSnapshotId();
    const info: SnapshotInfo = {
      snapshotId,
      volumeId: args.volumeId,
      volumeSize: args.volumeSize,
      state: 'completed',
      progress: 100,
      startTime: new Date(this.clock.now()).toISOString(),
      description: args.description,
      tags: args.tags,
      encrypted: args.encrypted,
      kmsKeyId: args.encrypted ? (args.kmsKeyId ?? DEFAULT_KMS_KEY_ARN) : undefined,
      parentSnapshotId: parent?.info.snapshotId,
      lineageId: parent?.info.lineageId ?? args.volumeId,
      ownerId: OWNER_ID,
    };
    const record: SnapshotRecord = {
      info,
      deleted: false,
      corrupt: [],
      own: BlockTable.fromMap(ids),
      corruptIds: new Map(),
    };
    await this.persistence.saveMap(snapshotId, toPersistedMap(record.own, this.hashOf));
    this.records.set(snapshotId, record);
    await this.save(record);
    return info;
  }

  getSnapshot(snapshotId: string): SnapshotInfo | undefined {
    const record = this.records.get(snapshotId);
    if (record === undefined || record.deleted) return undefined;
    this.refresh(record);
    return record.info;
  }

  listSnapshots(): SnapshotInfo[] {
    const infos: SnapshotInfo[] = [];
    for (const record of this.records.values()) {
      if (record.deleted) continue;
      this.refresh(record);
      infos.push(record.info);
    }
    return infos;
  }

  /**
   * Hides the snapshot. Its block map stays while a child still inherits through it, so
   * deleting a parent never changes what its children read or list.
   */
  async deleteSnapshot(snapshotId: string): Promise<void> {
    const record = this.live(snapshotId);
    record.deleted = true;
    if (record.clientToken !== undefined) this.byClientToken.delete(record.clientToken);
    await this.save(record);
    await this.purge(record);
  }

  /** Drops a deleted snapshot nobody inherits from, then its deleted ancestors that became childless. */
  private async purge(record: SnapshotRecord): Promise<void> {
    for (let r: SnapshotRecord | undefined = record; r !== undefined && r.deleted; ) {
      const id = r.info.snapshotId;
      const hasChild = [...this.records.values()].some((c) => c.info.parentSnapshotId === id);
      if (hasChild) return;
      const parent = this.parentOf(r);
      this.records.delete(id);
      this.imageCache.delete(id);
      this.changesCache.clear();
      for (const contentId of r.own.contentIds) this.release(contentId);
      for (const contentId of r.pending?.values() ?? []) this.release(contentId);
      for (const contentId of r.corruptIds.values()) this.release(contentId);
      await this.persistence.deleteSnapshot(id);
      r = parent;
    }
  }

  async setTags(snapshotId: string, tags: Tag[]): Promise<void> {
    const record = this.live(snapshotId);
    const merged = new Map(record.info.tags.map((t) => [t.Key, t.Value]));
    for (const tag of tags) merged.set(tag.Key, tag.Value);
    record.info.tags = [...merged].map(([Key, Value]) => ({ Key, Value }));
    await this.save(record);
  }

  async deleteTags(snapshotId: string, keys: string[]): Promise<void> {
    const record = this.live(snapshotId);
    record.info.tags = record.info.tags.filter((t) => !keys.includes(t.Key));
    await this.save(record);
  }

  listBlockIndexes(snapshotId: string): number[] {
    return Array.from(this.imageOf(this.completed(snapshotId)).indexes);
  }

  async readBlock(snapshotId: string, blockIndex: number): Promise<BlockData | undefined> {
    const id = this.readableId(this.completed(snapshotId), blockIndex);
    return id === undefined || id === UNALLOCATED ? undefined : this.contentOf(id);
  }

  /**
   * What a block of a completed snapshot reads as on a restored volume: its content, else zeros,
   * or for an encrypted snapshot the random bytes EBS returns for a never-written block.
   */
  async readImageBlock(snapshotId: string, blockIndex: number): Promise<BlockData> {
    const data = await this.readBlock(snapshotId, blockIndex);
    if (data !== undefined) return data;
    const info = this.completed(snapshotId).info;
    return info.encrypted ? unwrittenEncryptedBlock(info.lineageId, blockIndex) : Buffer.alloc(BLOCK_SIZE);
  }
}

/**
 * The snapshot lifecycle: StartSnapshot → PutSnapshotBlock… → CompleteSnapshot (pending →
 * completed, or error after `Timeout` without a write), EC2 snapshots that are born completed,
 * and deletion (hide, then purge once no child inherits through the snapshot).
 */
import { sha256Hex } from '../../block-content';
import { BlockTable, UNALLOCATED } from '../block-table';
import type { Clock, CreateSnapshotFromVolumeArgs, SnapshotInfo, SnapshotState } from '../contracts';
import { snapshotNotFound, validationError } from '../errors';
import type { BackgroundWork, ContentTable } from './content-table';
import type { Lineage } from './lineage';
import {
  checkAggregateChecksum,
  checkBlockLength,
  checkChangedBlocksCount,
  checkChildOf,
  checkCompleted,
  checkPendingLimit,
  checkSameRequest,
  checkSnapshotIdFormat,
  checkStartParams,
  checkWritableIndex,
  conflictingBlockUpdate,
  DEFAULT_KMS_KEY_ARN,
  DIRECT_API_VOLUME_ID,
  MS_PER_MINUTE,
  noMoreBlocks,
  OWNER_ID,
  requestFingerprint,
  type StartOptions,
  type StartSnapshotParams,
} from './rules';
import type { SnapshotRecord, SnapshotRecords } from './state';

/** The parts of the store the lifecycle moves snapshots through. */
export interface LifecycleParts {
  clock: Clock;
  records: SnapshotRecords;
  content: ContentTable;
  lineage: Lineage;
  background: BackgroundWork;
}

/** State transitions of snapshots, and the lookups that apply the ones that are due first. */
export class SnapshotLifecycle {
  /** `snapshotId|blockIndex` of PutSnapshotBlock calls being stored: a second one is a conflict. */
  private readonly writesInFlight = new Set<string>();

  constructor(private readonly parts: LifecycleParts) {}

  /**
   * Applies transitions that are due by the clock: a completion delayed by the fault switch
   * becomes `completed`; an unfinished snapshot past its `Timeout` goes to `error`.
   */
  refresh(record: SnapshotRecord): void {
    if (record.info.state !== 'pending') return;
    const { clock, records, content, background } = this.parts;
    const now = clock.now();
    if (record.completing === true) {
      if (now >= (record.completesAt ?? now)) {
        record.info.state = 'completed';
        record.info.progress = 100;
        background.track(records.save(record));
      }
    } else if (record.timeoutAt !== undefined && now >= record.timeoutAt) {
      record.info.state = 'error';
      record.info.stateMessage = 'Snapshot was not completed before its timeout';
      for (const id of record.pending?.values() ?? []) content.release(id);
      record.pending = undefined;
      background.track(records.save(record).then(() => records.persistence.deleteJournal(record.info.snapshotId)));
    }
  }

  /** A snapshot that is not deleted, transitions applied; errors as AWS answers them. */
  live(snapshotId: string): SnapshotRecord {
    checkSnapshotIdFormat(snapshotId);
    const record = this.parts.records.get(snapshotId);
    if (record === undefined || record.deleted) throw snapshotNotFound(snapshotId);
    this.refresh(record);
    return record;
  }

  /** Like {@link live}, and the snapshot must be completed. */
  completed(snapshotId: string): SnapshotRecord {
    const record = this.live(snapshotId);
    checkCompleted(record.info);
    return record;
  }

  /** StartSnapshot: a new pending snapshot, or the original one for a repeated ClientToken. */
  async startSnapshot(params: StartSnapshotParams, options: StartOptions): Promise<SnapshotInfo> {
    const { clock, records } = this.parts;
    const fingerprint = requestFingerprint(params);
    if (params.clientToken !== undefined) {
      const existing = records.byToken(params.clientToken);
      if (existing !== undefined) {
        checkSameRequest(existing, fingerprint);
        this.refresh(existing);
        return existing.info;
      }
    }
    const timeoutMinutes = checkStartParams(params);
    let parent: SnapshotRecord | undefined;
    if (params.parentSnapshotId !== undefined) {
      parent = this.completed(params.parentSnapshotId);
      checkChildOf(params, parent.info);
    }
    if (options.pendingSnapshotLimit !== undefined) {
      const pending = [...records.values()].filter((r) => !r.deleted && (this.refresh(r), r.info.state === 'pending'));
      checkPendingLimit(pending.length, options.pendingSnapshotLimit);
    }
    const now = clock.now();
    const snapshotId = records.newSnapshotId();
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
      storedCorruptIds: new Map(),
    };
    records.add(record);
    await records.save(record);
    return info;
  }

  /** PutSnapshotBlock: `hash` is the hex SHA-256 the server computed over the received body. */
  async putSnapshotBlock(snapshotId: string, blockIndex: number, data: Buffer, hash: string, progress?: number): Promise<void> {
    const { clock, records, content } = this.parts;
    const record = this.live(snapshotId);
    if (record.notFoundUntil !== undefined && clock.now() < record.notFoundUntil) throw snapshotNotFound(snapshotId);
    const pending = record.pending;
    if (record.info.state !== 'pending' || record.completing === true || pending === undefined) throw noMoreBlocks(record.info, blockIndex);
    checkWritableIndex(record.info, blockIndex);
    const key = `${snapshotId}|${blockIndex}`;
    if (this.writesInFlight.has(key)) throw conflictingBlockUpdate(snapshotId, blockIndex);
    this.writesInFlight.add(key);
    let id: number;
    try {
      id = await content.retain(hash, data);
      try {
        await records.persistence.appendJournal(snapshotId, blockIndex, hash);
      } catch (error) {
        content.release(id);
        throw error;
      }
    } finally {
      this.writesInFlight.delete(key);
    }
    if (record.pending !== pending) {
      // Timed out while the block was being stored: the write is lost, as on AWS (and the
      // append may have re-created the journal the timeout removed).
      content.release(id);
      await records.persistence.deleteJournal(snapshotId);
      throw validationError('INVALID_SNAPSHOT_ID', `The snapshot '${snapshotId}' is ${record.info.state}.`, { snapshotId, blockIndex });
    }
    const previous = pending.get(blockIndex);
    pending.set(blockIndex, id);
    if (previous !== undefined) content.release(previous);
    // AWS cancels a snapshot after `Timeout` without writes, not `Timeout` after its start. Kept in
    // memory only (a metadata write per block would halve the put rate); a restart counts as a write.
    if (record.timeoutMs !== undefined) record.timeoutAt = clock.now() + record.timeoutMs;
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
    const { clock, records, content, lineage } = this.parts;
    const record = this.live(snapshotId);
    const pending = record.pending;
    if (record.info.state !== 'pending' || record.completing === true || pending === undefined) return record.info.state;
    checkChangedBlocksCount(snapshotId, args.changedBlocksCount, pending.size);
    const table = BlockTable.fromMap(pending);
    if (args.checksum !== undefined) {
      checkAggregateChecksum(snapshotId, Array.from(table.contentIds, content.hashOf), args.checksum);
    }
    await records.saveMap(snapshotId, table);
    record.own = table;
    record.pending = undefined;
    record.completing = true;
    record.completesAt = clock.now() + args.completionDelayMs;
    lineage.forgetImage(snapshotId);
    this.refresh(record);
    await records.save(record);
    await records.persistence.deleteJournal(snapshotId);
    return record.info.state;
  }

  /** The EC2 half's CreateSnapshot: a completed snapshot, incremental against its parent (see SnapshotStorePort). */
  async createSnapshotFromVolume(args: CreateSnapshotFromVolumeArgs): Promise<SnapshotInfo> {
    const { clock, records, content } = this.parts;
    const parent = args.parentSnapshotId === undefined ? undefined : records.get(args.parentSnapshotId);
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
        checkBlockLength(data, blockIndex);
        let hash = hashes.get(data);
        if (hash === undefined) {
          hash = sha256Hex(data);
          hashes.set(data, hash);
        }
        ids.set(blockIndex, await content.retain(hash, data));
      }
    } catch (error) {
      for (const id of ids.values()) content.release(id);
      throw error;
    }
    const snapshotId = records.newSnapshotId();
    const info: SnapshotInfo = {
      snapshotId,
      volumeId: args.volumeId,
      volumeSize: args.volumeSize,
      state: 'completed',
      progress: 100,
      startTime: new Date(clock.now()).toISOString(),
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
      storedCorruptIds: new Map(),
    };
    await records.saveMap(snapshotId, record.own);
    records.add(record);
    await records.save(record);
    return info;
  }

  /**
   * Hides the snapshot. Its block map stays while a child still inherits through it, so
   * deleting a parent never changes what its children read or list.
   */
  async deleteSnapshot(snapshotId: string): Promise<void> {
    const { records } = this.parts;
    const record = this.live(snapshotId);
    record.deleted = true;
    records.forgetClientToken(record);
    await records.save(record);
    await this.purge(record);
  }

  /** Drops a deleted snapshot nobody inherits from, then its deleted ancestors that became childless. */
  private async purge(record: SnapshotRecord): Promise<void> {
    const { records, content, lineage } = this.parts;
    for (let r: SnapshotRecord | undefined = record; r !== undefined && r.deleted; ) {
      const id = r.info.snapshotId;
      const hasChild = [...records.values()].some((c) => c.info.parentSnapshotId === id);
      if (hasChild) return;
      const parent = records.parentOf(r);
      records.remove(id);
      lineage.forgetSnapshot(id);
      for (const contentId of r.own.contentIds) content.release(contentId);
      for (const contentId of r.pending?.values() ?? []) content.release(contentId);
      for (const contentId of r.corruptIds.values()) content.release(contentId);
      for (const contentId of r.storedCorruptIds.values()) content.release(contentId);
      await records.persistence.deleteSnapshot(id);
      r = parent;
    }
  }
}

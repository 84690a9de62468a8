/**
 * The snapshot store's state and what of it survives a restart: the records of every snapshot,
 * the ClientToken index, and their round trip through {@link Persistence} (metadata, block maps,
 * journals of pending snapshots).
 */
import { randomBytes } from 'node:crypto';
import { BlockTable, UNALLOCATED } from '../block-table';
import type { Clock } from '../contracts';
import { EmulatorStateError } from '../errors';
import { toPersistedMap, type LoadedState, type Persistence, type PersistedSnapshot } from '../persistence';
import type { ContentTable } from './content-table';
import { SNAPSHOT_ID_HEX_DIGITS } from './rules';

/** One snapshot as the running store holds it: the persisted fields plus its blocks as content ids. */
export interface SnapshotRecord extends PersistedSnapshot {
  /** The snapshot's own blocks (a completed snapshot inherits the rest from its ancestors). */
  own: BlockTable;
  /** Blocks written so far, while the snapshot is pending: block index → content id. */
  pending?: Map<number, number>;
  /** This snapshot's private view of corrupted blocks (`scope: 'snapshot'`): block index → content id. */
  corruptIds: Map<number, number>;
  /**
   * Damage at rest of versions this snapshot's own map wrote (`scope: 'stored'`): block index →
   * content id of the damaged bytes, read by every snapshot whose image resolves to that version.
   */
  storedCorruptIds: Map<number, number>;
}

/** Every snapshot of the emulated account by id (deleted ones too while a child inherits through them). */
export class SnapshotRecords {
  private readonly byId = new Map<string, SnapshotRecord>();
  private readonly byClientToken = new Map<string, string>();
  /** Stored versions damaged per block index: reads of other blocks skip the walk to the writer. */
  private readonly storedCorruptions = new Map<number, number>();

  constructor(
    readonly persistence: Persistence,
    private readonly content: ContentTable,
  ) {}

  /**
   * Rebuilds the records from what `persistence.load()` read, taking a content reference for
   * every block they hold.
   */
  restore(loaded: LoadedState, clock: Clock): void {
    for (const persisted of loaded.snapshots) {
      const id = persisted.info.snapshotId;
      const record: SnapshotRecord = { ...persisted, own: BlockTable.empty(), corruptIds: new Map(), storedCorruptIds: new Map() };
      const map = loaded.maps.get(id);
      if (persisted.info.state === 'completed' || persisted.completing === true) {
        if (map === undefined) throw new EmulatorStateError(`completed snapshot ${id} has no block map`, { snapshotId: id });
        const ids = new Int32Array(map.indexes.length);
        map.hashes.forEach((hash, i) => (ids[i] = hash === undefined ? UNALLOCATED : this.content.adopt(hash)));
        record.own = new BlockTable(map.indexes, ids);
      } else if (persisted.info.state === 'pending') {
        // Last write of each block wins. Resolve that before taking references: releasing an
        // overwritten block mid-load could delete content a snapshot loaded later still needs.
        const lastWrites = new Map<number, string>();
        for (const write of loaded.journals.get(id) ?? []) lastWrites.set(write.blockIndex, write.hash);
        record.pending = new Map([...lastWrites].map(([blockIndex, hash]) => [blockIndex, this.content.adopt(hash)]));
        // A restart counts as a write: the Timeout runs again from now (see putSnapshotBlock).
        if (lastWrites.size > 0 && record.timeoutMs !== undefined) {
          record.timeoutAt = Math.max(record.timeoutAt ?? 0, clock.now() + record.timeoutMs);
        }
      }
      for (const [blockIndex, hash] of persisted.corrupt) record.corruptIds.set(blockIndex, this.content.adopt(hash));
      for (const [blockIndex, hash] of persisted.storedCorrupt ?? []) this.setStoredCorruption(record, blockIndex, this.content.adopt(hash));
      this.byId.set(id, record);
      if (record.clientToken !== undefined) this.byClientToken.set(record.clientToken, id);
    }
  }

  /** The record, deleted or not; `undefined` if the store never had it or purged it. */
  get(snapshotId: string): SnapshotRecord | undefined {
    return this.byId.get(snapshotId);
  }

  /** The snapshot a ClientToken created, while that snapshot is not deleted. */
  byToken(clientToken: string): SnapshotRecord | undefined {
    const id = this.byClientToken.get(clientToken);
    return id === undefined ? undefined : this.byId.get(id);
  }

  values(): IterableIterator<SnapshotRecord> {
    return this.byId.values();
  }

  /** Adds a new record (and its ClientToken); the caller saves it. */
  add(record: SnapshotRecord): void {
    this.byId.set(record.info.snapshotId, record);
    if (record.clientToken !== undefined) this.byClientToken.set(record.clientToken, record.info.snapshotId);
  }

  /** A deleted snapshot's ClientToken is free again. */
  forgetClientToken(record: SnapshotRecord): void {
    if (record.clientToken !== undefined) this.byClientToken.delete(record.clientToken);
  }

  /** Drops a purged record from memory (its files and content references are the caller's). */
  remove(snapshotId: string): void {
    const record = this.byId.get(snapshotId);
    for (const blockIndex of record?.storedCorruptIds.keys() ?? []) this.countStoredCorruption(blockIndex, -1);
    this.byId.delete(snapshotId);
  }

  /**
   * Records damage at rest of the version of `blockIndex` that `writer`'s own map holds, and
   * returns the content id of the damage it replaces (the caller releases it), if any.
   */
  setStoredCorruption(writer: SnapshotRecord, blockIndex: number, contentId: number): number | undefined {
    const previous = writer.storedCorruptIds.get(blockIndex);
    writer.storedCorruptIds.set(blockIndex, contentId);
    if (previous === undefined) this.countStoredCorruption(blockIndex, 1);
    return previous;
  }

  /** Whether any stored version of `blockIndex` is damaged (in any snapshot). */
  hasStoredCorruptionAt(blockIndex: number): boolean {
    return this.storedCorruptions.has(blockIndex);
  }

  private countStoredCorruption(blockIndex: number, delta: number): void {
    const count = (this.storedCorruptions.get(blockIndex) ?? 0) + delta;
    if (count > 0) this.storedCorruptions.set(blockIndex, count);
    else this.storedCorruptions.delete(blockIndex);
  }

  parentOf(record: SnapshotRecord): SnapshotRecord | undefined {
    const parentId = record.info.parentSnapshotId;
    return parentId === undefined ? undefined : this.byId.get(parentId);
  }

  /** A fresh id no record has. */
  newSnapshotId(): string {
    for (;;) {
      const id = `snap-${randomBytes(SNAPSHOT_ID_HEX_DIGITS).toString('hex').slice(0, SNAPSHOT_ID_HEX_DIGITS)}`;
      if (!this.byId.has(id)) return id;
    }
  }

  /** Saves the record's metadata (block content and maps are saved separately). */
  save(record: SnapshotRecord): Promise<void> {
    return this.persistence.saveSnapshot(this.persisted(record));
  }

  /** Saves a block map, content ids as hashes (ids are not stable across restarts). */
  saveMap(snapshotId: string, table: BlockTable): Promise<void> {
    return this.persistence.saveMap(snapshotId, toPersistedMap(table, this.content.hashOf));
  }

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
      corrupt: [...record.corruptIds].map(([blockIndex, id]) => [blockIndex, this.content.hashOf(id)]),
      storedCorrupt:
        record.storedCorruptIds.size === 0 ? undefined : [...record.storedCorruptIds].map(([blockIndex, id]) => [blockIndex, this.content.hashOf(id)]),
    };
  }
}

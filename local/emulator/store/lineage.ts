/**
 * Reading through a lineage: a completed snapshot's image is its own block map over its
 * ancestors', flattened on demand and cached; changed blocks are found on the path between two
 * snapshots through their nearest common ancestor.
 */
import { BlockTable, overlay, unionIndexes } from '../block-table';
import { IN_FIRST, IN_SECOND, type BlockListing } from './rules';
import type { SnapshotRecord, SnapshotRecords } from './state';

/** Flattened images kept in memory: the head of a lineage and its recent neighbours are what gets read. */
const IMAGE_CACHE_ENTRIES = 16;
/** ListChangedBlocks results kept between pages of one listing. */
const CHANGES_CACHE_ENTRIES = 8;

/** Images and changed-block listings of completed snapshots, with their caches. */
export class Lineage {
  private readonly imageCache = new Map<string, BlockTable>();
  private readonly changesCache = new Map<string, BlockListing>();

  constructor(private readonly records: SnapshotRecords) {}

  /** Full image of a completed snapshot (allocated blocks only): its own map over its ancestors'. */
  imageOf(record: SnapshotRecord): BlockTable {
    const chain: SnapshotRecord[] = [];
    let base = BlockTable.empty();
    for (let r: SnapshotRecord | undefined = record; r !== undefined; r = this.records.parentOf(r)) {
      const cached = this.imageCache.get(r.info.snapshotId);
      if (cached !== undefined) {
        base = cached;
        break;
      }
      chain.push(r);
    }
    for (let k = chain.length - 1; k >= 0; k--) {
      base = overlay(base, chain[k].own);
      remember(this.imageCache, chain[k].info.snapshotId, base, IMAGE_CACHE_ENTRIES);
    }
    return base;
  }

  /**
   * Content id of a block as reads see it: the snapshot's private corruption first, then the
   * version its image resolves to, damaged if that stored version is damaged at rest.
   */
  readableId(record: SnapshotRecord, blockIndex: number): number | undefined {
    const privateCorruption = record.corruptIds.get(blockIndex);
    if (privateCorruption !== undefined) return privateCorruption;
    if (this.records.hasStoredCorruptionAt(blockIndex)) {
      const damaged = this.writerOf(record, blockIndex)?.storedCorruptIds.get(blockIndex);
      if (damaged !== undefined) return damaged;
    }
    return this.imageOf(record).lookup(blockIndex);
  }

  /**
   * The snapshot whose own map wrote the version of `blockIndex` that `record`'s image resolves
   * to: `record` itself or its nearest ancestor with an entry for the block (possibly an
   * UNALLOCATED one, a trim). `undefined` when no snapshot of the ancestry ever wrote it.
   */
  writerOf(record: SnapshotRecord, blockIndex: number): SnapshotRecord | undefined {
    for (let r: SnapshotRecord | undefined = record; r !== undefined; r = this.records.parentOf(r)) {
      if (r.own.lookup(blockIndex) !== undefined) return r;
    }
    return undefined;
  }

  /**
   * Snapshots (deleted ones aside) whose image resolves to the version of `blockIndex` that
   * `writer` wrote: the writer and its descendants through every child that did not rewrite the
   * block, breadth first from the writer. Pending children are included: they inherit the
   * version once they complete.
   */
  sharersOf(writer: SnapshotRecord, blockIndex: number): SnapshotRecord[] {
    const children = new Map<string, SnapshotRecord[]>();
    for (const r of this.records.values()) {
      const parentId = r.info.parentSnapshotId;
      if (parentId === undefined) continue;
      const siblings = children.get(parentId);
      if (siblings === undefined) children.set(parentId, [r]);
      else siblings.push(r);
    }
    const sharers: SnapshotRecord[] = [];
    const queue = [writer];
    for (let at = 0; at < queue.length; at++) {
      const r = queue[at];
      if (r !== writer && r.own.lookup(blockIndex) !== undefined) continue;
      if (!r.deleted) sharers.push(r);
      queue.push(...(children.get(r.info.snapshotId) ?? []));
    }
    return sharers;
  }

  /** Every allocated block of `second`, flagged IN_SECOND (ListChangedBlocks without a first snapshot). */
  static allOf(secondImage: BlockTable): BlockListing {
    return { indexes: secondImage.indexes, flags: new Uint8Array(secondImage.size).fill(IN_SECOND) };
  }

  /**
   * Blocks that differ between two completed snapshots of one lineage: every block written on
   * the path between them through their nearest common ancestor, kept if either side has it
   * allocated. `secondImage` is `imageOf(second)`, already computed by the caller.
   */
  changesBetween(first: SnapshotRecord, second: SnapshotRecord, secondImage: BlockTable): BlockListing {
    const key = `${first.info.snapshotId}|${second.info.snapshotId}`;
    const cached = this.changesCache.get(key);
    if (cached !== undefined) return cached;
    const firstImage = this.imageOf(first);
    const ancestorsOfFirst = new Map<string, SnapshotRecord>();
    for (let r: SnapshotRecord | undefined = first; r !== undefined; r = this.records.parentOf(r)) ancestorsOfFirst.set(r.info.snapshotId, r);
    const path: BlockTable[] = [];
    let common: SnapshotRecord | undefined;
    for (let r: SnapshotRecord | undefined = second; r !== undefined; r = this.records.parentOf(r)) {
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
      for (let r: SnapshotRecord | undefined = first; r !== undefined && r !== common; r = this.records.parentOf(r)) path.push(r.own);
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
    remember(this.changesCache, key, listing, CHANGES_CACHE_ENTRIES);
    return listing;
  }

  /** A snapshot's own map changed (it was sealed): its cached image is stale. */
  forgetImage(snapshotId: string): void {
    this.imageCache.delete(snapshotId);
  }

  /** A snapshot was purged: drop its image and every cached listing (any may run through it). */
  forgetSnapshot(snapshotId: string): void {
    this.imageCache.delete(snapshotId);
    this.changesCache.clear();
  }
}

/** Inserts `key` as the most recent entry of an LRU `cache` of at most `limit` entries. */
function remember<T>(cache: Map<string, T>, key: string, value: T, limit: number): void {
  cache.delete(key);
  cache.set(key, value);
  while (cache.size > limit) {
    const oldest = cache.keys().next();
    if (oldest.done === true) break;
    cache.delete(oldest.value);
  }
}

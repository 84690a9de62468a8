/**
 * The `DeltaMapChain` family on the chain table: `ENTRY#` items (an entry without its delta map),
 * their `MAP#` shards, and the `DRL#` shards of the entry in flight, all made visible by META.
 *
 * ```
 *   shards ──► ENTRY#n ──► META{headSeq:n, version:v+1 if version=v} ──► garbage clean-up
 *   ╰──── invisible until META points at them ────╯  commit point        (harmless if it crashes)
 * ```
 */
import { isDeepStrictEqual } from 'node:util';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type BadVersions, type EntryStep, imageBadBlocks, oldestBadWriter } from '../../core/bad-versions';
import type { ChainEntry } from '../../core/chain-entry';
import { volumeBlocks } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import { ChainInvariantError, RestorePointNotFoundError } from '../../core/errors';
import type {
  DeltaMapChain,
  DirtyRegionLog,
  Fence,
  PruneEntryResult,
  ReadChainOptions,
} from '../../core/ports/chain-store';
import { drlSk, entrySk, MAX_SEQ, mapSk, mapSkPrefix, SORT_KEY_PREFIX, volumePk } from '../../core/table-keys';
import { ChainStoreCorruptError, ChainStoreInputError, ConcurrentUpdateError } from '../../core/ports/errors';
import { BadVersionItems } from './bad-versions';
import { ChainPruner } from './chain-prune';
import { checkedFence, checkFence, checkId, checkMapSize, checkNextEntry, checkSeq } from './checks';
import {
  checkChecksum,
  type EntryItem,
  entrySchema,
  type InFlightItem,
  type Key,
  parseItem,
  shardChecksum,
  shardSchema,
  toChainEntry,
  withoutUndefined,
} from './items';
import { type ChainTableClient, itemKey } from './table';

/** Entries per Query page: small enough to stream, large enough to keep round trips few. */
const DEFAULT_ENTRY_PAGE_SIZE = 100;

/**
 * Most delta-map shards held at once while streaming the chain (≤ 8.2 KB each: ~3.3 MB), so a
 * page of entries of a huge volume does not load gigabytes.
 */
const SHARD_FETCH_BUDGET = 400;

/** An entry in flight whose secondary snapshot was not started yet shows this as `S_seq`. */
export const SECONDARY_NOT_STARTED = '';

export interface DeltaMapChainOptions {
  /** Entries per Query page (default 100). */
  readonly pageSize?: number;
}

/** The delta-map chain of every protected volume, on the chain table. */
export class DynamoDbDeltaMapChain implements DeltaMapChain {
  private readonly table: ChainTableClient;
  private readonly pageSize: number;
  private readonly pruner: ChainPruner;
  private readonly badVersions: BadVersionItems;

  constructor(table: ChainTableClient, options: DeltaMapChainOptions = {}) {
    this.table = table;
    this.pageSize = options.pageSize ?? DEFAULT_ENTRY_PAGE_SIZE;
    this.badVersions = new BadVersionItems(table);
    this.pruner = new ChainPruner(table, this.badVersions);
  }

  // ── dirty region log ───────────────────────────────────────────────────────────────────

  async writeDirtyRegionLog(volumeId: string, log: DirtyRegionLog, fence: Fence): Promise<void> {
    checkId(log.runId, 'runId');
    checkMapSize(volumeId, log.seq, log.deltaMap, log.volumeSize);
    const shards = log.deltaMap.split();
    // Without undefined fields, so that it compares equal to what DynamoDB hands back.
    const inFlight: InFlightItem = withoutUndefined({
      runId: log.runId,
      seq: log.seq,
      kind: log.kind,
      primarySnapshotId: log.primarySnapshotId,
      secondarySnapshotId: log.secondarySnapshotId,
      volumeSize: log.volumeSize,
      pointInTime: log.pointInTime,
      segments: [...shards.keys()],
      checksum: shardChecksum(shards),
    });
    const meta = await this.table.readMeta(volumeId);
    checkFence(meta, fence);
    checkNextEntry(meta, volumeId, inFlight.seq, inFlight.kind, inFlight.volumeSize);
    const live = meta.inFlight;
    if (live !== undefined && live.runId !== log.runId) {
      throw new ChainInvariantError(
        `volume ${volumeId}: run ${live.runId} left entry ${live.seq} in flight; recover it (adopt or ` +
          'discard its secondary snapshot) and clear its dirty region log before starting another',
        { volumeId, seq: live.seq },
      );
    }
    if (live !== undefined && live.checksum === inFlight.checksum && isDeepStrictEqual(live.segments, inFlight.segments)) {
      // Same blocks: only the description may change (e.g. the secondary snapshot id is now known).
      await this.table.updateMeta(volumeId, (current) => {
        checkFence(current, fence);
        return isDeepStrictEqual(current.inFlight, inFlight) ? undefined : { ...current, inFlight };
      }, meta);
      return;
    }
    if (live !== undefined) {
      // Other blocks for the same run: unlink the old log first, so that rewriting its shards
      // never shows a mix of old and new under the old pointer.
      await this.table.updateMeta(volumeId, (current) => ({ ...checkedFence(current, fence), inFlight: undefined }), meta);
    }
    await this.table.batchWrite([...shards].map(([segment, bytes]) => ({
      ...itemKey(volumeId, drlSk(segment)), segment, bytes, runId: log.runId, seq: log.seq,
    })));
    await this.table.updateMeta(volumeId, (current) => {
      checkFence(current, fence);
      if (current.inFlight !== undefined && current.inFlight.runId !== log.runId) {
        throw new ConcurrentUpdateError(
          `volume ${volumeId}: run ${current.inFlight.runId} wrote a dirty region log meanwhile; retry the step`,
          { volumeId },
        );
      }
      checkNextEntry(current, volumeId, inFlight.seq, inFlight.kind, inFlight.volumeSize);
      return { ...current, inFlight };
    });
  }

  async readDirtyRegionLog(volumeId: string): Promise<DirtyRegionLog | undefined> {
    const meta = await this.table.readMeta(volumeId);
    return meta.inFlight === undefined ? undefined : this.loadDirtyRegionLog(volumeId, meta.inFlight);
  }

  async clearDirtyRegionLog(volumeId: string, fence: Fence): Promise<void> {
    let cleared: InFlightItem | undefined;
    await this.table.updateMeta(volumeId, (current) => {
      checkFence(current, fence);
      cleared = current.inFlight;
      return cleared === undefined ? undefined : { ...current, inFlight: undefined };
    });
    if (cleared !== undefined) await this.deleteStaleDirtyRegionShards(volumeId, cleared.seq);
  }

  // ── chain entries ──────────────────────────────────────────────────────────────────────

  commitEntry(volumeId: string, entry: ChainEntry, fence: Fence): Promise<void> {
    if (entry.kind === 'fixup') {
      return Promise.reject(new ChainInvariantError(
        `volume ${volumeId}: entry ${entry.seq} is a fix-up; append it with appendFixup`, { volumeId, seq: entry.seq }));
    }
    return this.commit(volumeId, entry, fence);
  }

  appendFixup(volumeId: string, entry: ChainEntry, fence: Fence): Promise<void> {
    if (entry.kind !== 'fixup') {
      return Promise.reject(new ChainInvariantError(
        `volume ${volumeId}: entry ${entry.seq} is a ${entry.kind}, not a fix-up; commit it with commitEntry`,
        { volumeId, seq: entry.seq }));
    }
    return this.commit(volumeId, entry, fence);
  }

  async recordBadVersions(volumeId: string, versions: BadVersions, fence: Fence): Promise<void> {
    const meta = await this.table.readMeta(volumeId);
    checkFence(meta, fence);
    for (const [writer, blocks] of versions) {
      checkSeq(writer);
      if (meta.headSeq === undefined || writer > meta.headSeq) {
        throw new RestorePointNotFoundError(
          `volume ${volumeId}: restore point ${writer} is not committed, so no copy it wrote can be recorded bad`,
          { volumeId, seq: writer });
      }
      // The map may be sized to a larger P0 (the volume grew since the head); its blocks may not.
      const limit = volumeBlocks(meta.volumeSize);
      const beyond = blocks.toArray().find((blockIndex) => blockIndex >= limit);
      if (beyond !== undefined) {
        throw new ChainStoreInputError(
          `volume ${volumeId}: entry ${writer} cannot have written block ${beyond}: the chain's volume has ${limit} blocks`,
          { volumeId, seq: writer });
      }
    }
    await this.badVersions.add(volumeId, versions);
    // A holder superseded while it recorded learns it here; what it recorded stands, being true findings.
    await this.table.updateMeta(volumeId, (current) => ({ ...checkedFence(current, fence) }), meta);
  }

  async readBadVersions(volumeId: string): Promise<Map<number, DeltaMap>> {
    const meta = await this.table.readMeta(volumeId);
    return this.badVersions.read(volumeId, meta.volumeSize);
  }

  async *readChain(volumeId: string, options: ReadChainOptions = {}): AsyncIterable<ChainEntry> {
    const meta = await this.table.readMeta(volumeId);
    const fromSeq = options.fromSeq ?? 0;
    const toSeq = options.toSeq ?? MAX_SEQ;
    const descending = options.order === 'descending';
    const pending = options.includePending === true && meta.inFlight !== undefined
      && meta.inFlight.seq >= fromSeq && meta.inFlight.seq <= toSeq ? meta.inFlight : undefined;
    if (pending !== undefined && descending) yield await this.pendingEntry(volumeId, pending);
    const lastSeq = Math.min(toSeq, meta.headSeq ?? -1);
    const badBlocks = fromSeq <= lastSeq ? await this.derivedBadBlocks(volumeId, meta.volumeSize, lastSeq) : new Map<number, DeltaMap>();
    const derived = (entry: ChainEntry): ChainEntry => {
      const count = badBlocks.get(entry.seq)?.size ?? 0;
      return count === 0 ? entry : { ...entry, trust: 'suspect', suspectBlocks: count };
    };
    if (fromSeq <= lastSeq) {
      let startKey: Key | undefined;
      do {
        const page = await this.table.doc.send(new QueryCommand({
          TableName: this.table.name,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': volumePk(volumeId), ':from': entrySk(fromSeq), ':to': entrySk(lastSeq) },
          ScanIndexForward: !descending,
          ConsistentRead: true,
          Limit: this.pageSize,
          ExclusiveStartKey: startKey,
        }));
        const entries = (page.Items ?? []).map((item) => parseItem(entrySchema, item, volumeId));
        for (const group of shardBudgetGroups(entries)) {
          const shards = await this.table.batchGet(group.flatMap((entry) =>
            entry.segments.map((segment) => itemKey(volumeId, mapSk(entry.seq, segment, entry.mapGeneration)))));
          for (const entry of group) yield derived(toChainEntry(volumeId, entry, shards));
        }
        startKey = page.LastEvaluatedKey as Key | undefined;
      } while (startKey !== undefined);
    }
    if (pending !== undefined && !descending) yield await this.pendingEntry(volumeId, pending);
  }

  async getEntry(volumeId: string, seq: number): Promise<ChainEntry> {
    checkSeq(seq);
    for await (const entry of this.readChain(volumeId, { fromSeq: seq, toSeq: seq, includePending: true })) return entry;
    throw new RestorePointNotFoundError(
      `volume ${volumeId} has no restore point ${seq}: list them with ebs-cdp points ${volumeId}`, { volumeId, seq });
  }

  pruneEntry(volumeId: string, seq: number, fence: Fence): Promise<PruneEntryResult> {
    return this.pruner.pruneEntry(volumeId, seq, fence);
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

  /**
   * The bad blocks of every image up to `lastSeq`, derived from the bad versions. Nothing is read
   * but one Query when the volume has none (the usual case); otherwise the entries from the oldest
   * bad writer on, with only the delta-map shards of segments that hold a bad version.
   */
  private async derivedBadBlocks(volumeId: string, volumeSize: number, lastSeq: number): Promise<Map<number, DeltaMap>> {
    const bad = await this.badVersions.read(volumeId, volumeSize);
    const oldest = oldestBadWriter(bad);
    if (oldest === undefined || oldest > lastSeq) return new Map();
    const badSegments = new Set<number>();
    for (const blocks of bad.values()) for (const segment of blocks.segmentIndexes()) badSegments.add(segment);
    const steps: EntryStep[] = [];
    for await (const raw of this.table.queryPrefix(volumeId, SORT_KEY_PREFIX.entry)) {
      const entry = parseItem(entrySchema, raw, volumeId);
      if (entry.seq < oldest || entry.seq > lastSeq) continue;
      const wanted = entry.segments.filter((segment) => badSegments.has(segment));
      const found = await this.table.batchGet(wanted.map((segment) => itemKey(volumeId, mapSk(entry.seq, segment, entry.mapGeneration))));
      const shards: Array<[number, Uint8Array]> = [];
      for (const segment of wanted) {
        const shard = found.get(mapSk(entry.seq, segment, entry.mapGeneration));
        if (shard === undefined) {
          throw new ChainStoreCorruptError(
            `volume ${volumeId}: restore point ${entry.seq} lacks its delta-map shard for segment ${segment}; the table ` +
              'was changed outside ebs-cdp: restore it from a DynamoDB backup', { volumeId, seq: entry.seq, segment });
        }
        shards.push([segment, shard.bytes]);
      }
      steps.push({ seq: entry.seq, deltaMap: DeltaMap.join(volumeBlocks(entry.volumeSize), shards) });
    }
    return imageBadBlocks(steps, bad);
  }

  /**
   * shards ──► ENTRY#seq ──► META (commit point) ──► clean-up. Idempotent: once META covers
   * `seq`, a retry only checks that it carries the same entry and finishes the clean-up.
   */
  private async commit(volumeId: string, entry: ChainEntry, fence: Fence): Promise<void> {
    checkSeq(entry.seq);
    if (entry.status !== 'committed' || entry.committedAt === undefined) {
      throw new ChainInvariantError(
        `volume ${volumeId}: entry ${entry.seq} must be committed with committedAt set before the store commits it`,
        { volumeId, seq: entry.seq });
    }
    checkMapSize(volumeId, entry.seq, entry.deltaMap, entry.volumeSize);
    const shards = entry.deltaMap.split();
    const item: EntryItem = {
      seq: entry.seq,
      kind: entry.kind,
      primarySnapshotId: entry.primarySnapshotId,
      secondarySnapshotId: entry.secondarySnapshotId,
      volumeSize: entry.volumeSize,
      pointInTime: entry.pointInTime,
      committedAt: entry.committedAt,
      manifest: entry.manifestLayers === undefined ? undefined : [...entry.manifestLayers],
      segments: [...shards.keys()],
      shardCount: shards.size,
      checksum: shardChecksum(shards),
    };
    const meta = await this.table.readMeta(volumeId);
    checkFence(meta, fence);
    if (meta.headSeq !== undefined && entry.seq <= meta.headSeq) {
      await this.checkAlreadyCommitted(volumeId, item);
      await this.cleanUpAfterCommit(volumeId, item);
      return;
    }
    checkNextEntry(meta, volumeId, entry.seq, entry.kind, entry.volumeSize);
    await this.table.batchWrite([...shards].map(([segment, bytes]) => ({
      ...itemKey(volumeId, mapSk(entry.seq, segment)), segment, bytes,
    })));
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: withoutUndefined({ ...itemKey(volumeId, entrySk(entry.seq)), ...item }) }));
    let alreadyCommitted = false;
    await this.table.updateMeta(volumeId, (current) => {
      checkFence(current, fence);
      if (current.headSeq !== undefined && entry.seq <= current.headSeq) {
        alreadyCommitted = true; // a concurrent retry of this very commit got there first
        return undefined;
      }
      checkNextEntry(current, volumeId, entry.seq, entry.kind, entry.volumeSize);
      return {
        ...current,
        headSeq: entry.seq,
        basePrimarySnapshotId: entry.primarySnapshotId,
        volumeSize: Math.max(current.volumeSize, entry.volumeSize),
        inFlight: undefined,
      };
    }, meta);
    if (alreadyCommitted) await this.checkAlreadyCommitted(volumeId, item);
    await this.cleanUpAfterCommit(volumeId, item);
  }

  private async checkAlreadyCommitted(volumeId: string, item: EntryItem): Promise<void> {
    const { Item } = await this.table.doc.send(new GetCommand({
      TableName: this.table.name, Key: itemKey(volumeId, entrySk(item.seq)), ConsistentRead: true,
    }));
    const stored = Item === undefined ? undefined : parseItem(entrySchema, Item, volumeId);
    const same = stored !== undefined && stored.kind === item.kind
      && stored.primarySnapshotId === item.primarySnapshotId
      && stored.secondarySnapshotId === item.secondarySnapshotId
      && stored.volumeSize === item.volumeSize
      && stored.pointInTime === item.pointInTime
      && stored.checksum === item.checksum
      && isDeepStrictEqual(stored.segments, item.segments);
    if (!same) {
      throw new ChainInvariantError(
        `volume ${volumeId}: restore point ${item.seq} is already committed with other content; ` +
          'this run worked from a stale chain: stop it and start a new one',
        { volumeId, seq: item.seq });
    }
  }

  /** Deletes what the commit made garbage: shards of `seq` it does not list, and the spent DRL. */
  private async cleanUpAfterCommit(volumeId: string, item: EntryItem): Promise<void> {
    const listed = new Set(item.segments.map((segment) => mapSk(item.seq, segment)));
    const orphans: Key[] = [];
    for await (const shard of this.table.queryPrefix(volumeId, mapSkPrefix(item.seq), true)) {
      const sk = String(shard.sk);
      if (!listed.has(sk)) orphans.push(itemKey(volumeId, sk));
    }
    await this.table.batchWrite([], orphans);
    await this.deleteStaleDirtyRegionShards(volumeId, item.seq);
  }

  /**
   * DRL shards of entries up to `seq` are spent. Each delete is conditional on that stamp, so a
   * DRL the next run is writing meanwhile survives.
   */
  private async deleteStaleDirtyRegionShards(volumeId: string, seq: number): Promise<void> {
    for await (const raw of this.table.queryPrefix(volumeId, SORT_KEY_PREFIX.dirtyRegion, true)) {
      const shard = parseItem(shardSchema.pick({ sk: true, seq: true }), raw, volumeId);
      if (shard.seq !== undefined && shard.seq > seq) continue;
      try {
        await this.table.doc.send(new DeleteCommand({
          TableName: this.table.name,
          Key: itemKey(volumeId, shard.sk),
          ConditionExpression: 'attribute_not_exists(seq) OR seq <= :seq',
          ExpressionAttributeValues: { ':seq': seq },
        }));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  private async loadDirtyRegionLog(volumeId: string, inFlight: InFlightItem): Promise<DirtyRegionLog> {
    const keys = inFlight.segments.map((segment) => itemKey(volumeId, drlSk(segment)));
    const found = await this.table.batchGet(keys);
    const shards = new Map<number, Uint8Array>();
    for (const segment of inFlight.segments) {
      const shard = found.get(drlSk(segment));
      if (shard === undefined || shard.runId !== inFlight.runId || shard.seq !== inFlight.seq) {
        throw new ChainStoreCorruptError(
          `volume ${volumeId}: the dirty region log of run ${inFlight.runId} lacks segment ${segment}; ` +
            'the table was changed outside ebs-cdp: clear the DRL and run a full verify',
          { volumeId, segment, seq: inFlight.seq });
      }
      shards.set(segment, shard.bytes);
    }
    checkChecksum(volumeId, inFlight.seq, shards, inFlight.checksum, 'dirty region log');
    const { segments: _segments, checksum: _checksum, ...entry } = inFlight;
    return { ...entry, deltaMap: DeltaMap.join(volumeBlocks(inFlight.volumeSize), shards) };
  }

  private async pendingEntry(volumeId: string, inFlight: InFlightItem): Promise<ChainEntry> {
    const log = await this.loadDirtyRegionLog(volumeId, inFlight);
    return {
      seq: log.seq,
      kind: log.kind,
      deltaMap: log.deltaMap,
      primarySnapshotId: log.primarySnapshotId,
      secondarySnapshotId: log.secondarySnapshotId ?? SECONDARY_NOT_STARTED,
      volumeSize: log.volumeSize,
      status: 'pending',
      trust: 'trusted',
      suspectBlocks: 0,
      pointInTime: log.pointInTime,
    };
  }
}

/** Splits a page of entries so that no group needs more than SHARD_FETCH_BUDGET shards at once. */
function shardBudgetGroups(entries: EntryItem[]): EntryItem[][] {
  const groups: EntryItem[][] = [];
  let group: EntryItem[] = [];
  let shards = 0;
  for (const entry of entries) {
    if (group.length > 0 && shards + entry.segments.length > SHARD_FETCH_BUDGET) {
      groups.push(group);
      group = [];
      shards = 0;
    }
    group.push(entry);
    shards += entry.segments.length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * The `ChainStore` port on one DynamoDB table (ARCHITECTURE.md, "Data"). Items of a volume share
 * `pk = VOL#<volumeId>`:
 *
 * | sk                          | holds                                                          |
 * |-----------------------------|----------------------------------------------------------------|
 * | `META`                      | config, headSeq, base primary snapshot, lease, in-flight entry, version |
 * | `ENTRY#<seq:10>`            | a committed chain entry without its delta map: segments + checksum |
 * | `MAP#<seq:10>#<segment:4>`  | one delta-map shard (`DeltaMap.encodeSegment` bytes)           |
 * | `DRL#<segment:4>`           | one dirty-region-log shard, stamped with its runId and seq     |
 * | `RUN#<runId>`               | a verify run                                                   |
 * | `CMP#<runId>#<segment:4>`   | one compare-map shard of that run                              |
 *
 * There are no transactions (DynamoDB's cost 2× and dynalite has none), so every mutation is a
 * sequence whose last write, a version-conditional put of META, is the commit point:
 *
 * ```
 *   shards ──► ENTRY#n ──► META{headSeq:n, version:v+1 if version=v} ──► garbage clean-up
 *   ╰──── invisible until META points at them ────╯  commit point        (harmless if it crashes)
 * ```
 *
 * Readers trust only what META points at: entries up to `headSeq`, the shards an entry lists,
 * the DRL shards `META.inFlight` lists. A crash before the commit point leaves orphans nobody
 * reads, which the retry overwrites; a crash after it leaves garbage that the next commit of the
 * same or a later entry deletes.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { ChainEntry, EntryKind } from '../../core/chain-entry';
import { MAX_VOLUME_BLOCKS, MAX_VOLUME_SIZE_GIB, segmentCount, volumeBlocks } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import { ChainInvariantError, EbsCdpError, RestorePointNotFoundError, RetentionError } from '../../core/errors';
import type {
  ChainStore,
  CompareMapState,
  DirtyRegionLog,
  Fence,
  InFlightEntry,
  JobRecord,
  LeaseGrant,
  LeaseRequest,
  ProtectedVolume,
  ProtectRequest,
  PruneEntryResult,
  ReadChainOptions,
  RenewRequest,
  RunMapState,
  SegmentDigests,
  SuspectMark,
  UnprotectRequest,
  UnprotectResult,
  VerifyRun,
} from '../../core/ports/chain-store';
import {
  BatchRetryExhaustedError,
  ChainStoreCorruptError,
  ChainStoreInputError,
  ConcurrentUpdateError,
  LeaseLostError,
  SyncInFlightError,
  TooManyRestorePointsError,
  VerifyRunNotFoundError,
  VolumeAlreadyProtectedError,
  VolumeBusyError,
  VolumeNotProtectedError,
} from '../errors';
import {
  CHAIN_TABLE_KEY,
  cmpSk,
  cmpSkPrefix,
  digestSk,
  digestSkPrefix,
  drlSk,
  entrySk,
  jobSk,
  MAX_SEQ,
  mapSk,
  mapSkPrefix,
  META_SORT_KEY,
  runMapSk,
  runMapSkPrefix,
  runSk,
  SORT_KEY_PREFIX,
  volumePk,
} from '../../core/table-keys';
import { systemTimer, type Timer } from '../timer';

// Re-exported for importers of the adapter's old home of the key names.
export { CHAIN_TABLE_KEY } from '../../core/table-keys';

/** DynamoDB's cap on one BatchWriteItem. */
const BATCH_WRITE_MAX_ITEMS = 25;

/** DynamoDB's cap on one BatchGetItem. */
const BATCH_GET_MAX_KEYS = 100;

/**
 * Attempts at a batch whose items keep coming back unprocessed (throttling). With the backoff
 * below the last retry waits ~2.5 s, ~5 s in all: long enough to ride out a throttling burst,
 * short enough that a Lambda fails visibly and Step Functions retries the task.
 */
const BATCH_MAX_ATTEMPTS = 8;

/** First backoff delay; doubled each attempt (full jitter, as AWS recommends for batches). */
const BATCH_BASE_DELAY_MS = 20;
const BATCH_MAX_DELAY_MS = 2_560;

/**
 * Rounds of read-check-write on META before giving up. META changes only under the lease,
 * plus lease renewals, so more than a couple of lost races means something is wrong.
 */
const META_UPDATE_MAX_ATTEMPTS = 5;

/** Bytes of one SHA-256 digest. */
const DIGEST_BYTES = 32;

/** Digests per DIG# item: 10,000 × 32 = 320 KB, under DynamoDB's 400 KB item limit with room for keys. */
const DIGESTS_PER_ITEM = 10_000;

/** Entries per Query page: small enough to stream, large enough to keep round trips few. */
const DEFAULT_ENTRY_PAGE_SIZE = 100;

/**
 * Most delta-map shards held at once while streaming the chain (≤ 8.2 KB each: ~3.3 MB), so a
 * page of entries of a huge volume does not load gigabytes.
 */
const SHARD_FETCH_BUDGET = 400;

/** An entry in flight whose secondary snapshot was not started yet shows this as `S_seq`. */
export const SECONDARY_NOT_STARTED = '';

/**
 * Most snapshot ids `unprotectVolume` records in META for the caller to delete: ≈25 bytes each
 * (`snap-` + 17 hex digits, list overhead), so 12,000 take ≈300 KB of DynamoDB's 400 KB item.
 */
export const UNPROTECT_MAX_RECORDED_SNAPSHOTS = 12_000;

/** Ids become key parts joined by `#`, so they must not hold one. */
const ID_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,256}$/;

export interface DynamoDbChainStoreOptions {
  /** An SDK client (endpoint, region, credentials already set): tests point it at dynalite. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Entries per Query page (default 100). */
  readonly pageSize?: number;
  /** Clock for lease times (when the caller passes no `now`) and batch backoff; tests inject one that never waits. */
  readonly timer?: Timer;
}

// ── stored item shapes (validated on every read: a missing field is a typed error) ─────────

const leaseSchema = z.object({
  holder: z.string(),
  runId: z.string(),
  expiresAt: z.number(),
  fencingToken: z.number().int(),
});

const inFlightSchema = z.object({
  runId: z.string(),
  seq: z.number().int().nonnegative(),
  kind: z.enum(['baseline', 'sync', 'fixup']),
  primarySnapshotId: z.string(),
  secondarySnapshotId: z.string().optional(),
  volumeSize: z.number().int().positive(),
  pointInTime: z.string(),
  segments: z.array(z.number().int().nonnegative()),
  checksum: z.string(),
});

const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]));

const metaSchema = z.object({
  volumeId: z.string(),
  volumeSize: z.number().int().positive(),
  config: z.record(z.string(), jsonValue),
  headSeq: z.number().int().nonnegative().optional(),
  basePrimarySnapshotId: z.string().optional(),
  lease: leaseSchema.optional(),
  /** Last fencing token granted; survives release so tokens never repeat. */
  fencingCounter: z.number().int().nonnegative(),
  inFlight: inFlightSchema.optional(),
  version: z.number().int().nonnegative(),
  unprotecting: z.object({
    at: z.string(),
    restorePoints: z.number().int().nonnegative(),
    /** Recorded only when the caller deletes them: a re-run after a crash must hand every one back. */
    secondarySnapshotIds: z.array(z.string()).optional(),
    basePrimarySnapshotId: z.string().optional(),
  }).optional(),
});

const entrySchema = z.object({
  seq: z.number().int().nonnegative(),
  kind: z.enum(['baseline', 'sync', 'fixup']),
  primarySnapshotId: z.string(),
  secondarySnapshotId: z.string(),
  volumeSize: z.number().int().positive(),
  trust: z.enum(['trusted', 'suspect']),
  suspectBlocks: z.number().int().nonnegative().optional(),
  pointInTime: z.string(),
  committedAt: z.string().optional(),
  segments: z.array(z.number().int().nonnegative()),
  shardCount: z.number().int().nonnegative(),
  checksum: z.string(),
  /** Bumped when pruning merges a predecessor's map in: the merged shards live under new keys. */
  mapGeneration: z.number().int().positive().optional(),
});

const shardSchema = z.object({
  sk: z.string(),
  segment: z.number().int().nonnegative(),
  bytes: z.instanceof(Uint8Array),
  runId: z.string().optional(),
  seq: z.number().int().nonnegative().optional(),
});

const verifyRunSchema = z.object({
  runId: z.string(),
  t0: z.string(),
  p0: z.string(),
  headSeqAtT0: z.number().int(),
  quick: z.boolean(),
  status: z.enum(['scanning', 'fixing', 'walking', 'clean', 'repaired', 'failed']),
  counts: z.record(z.string(), z.number()),
  result: jsonValue.optional(),
});

const digestSchema = z.object({
  segment: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
  chunks: z.number().int().positive(),
  checksum: z.string(),
  bytes: z.instanceof(Uint8Array),
});

const jobRecordSchema = z.object({
  runId: z.string(),
  job: z.enum(['sync', 'verify', 'restore', 'prune']),
  status: z.enum(['succeeded', 'failed']),
  at: z.string(),
  errorName: z.string().optional(),
  message: z.string().optional(),
  summary: jsonValue.optional(),
});

type MetaItem = z.infer<typeof metaSchema>;
type EntryItem = z.infer<typeof entrySchema>;
type InFlightItem = z.infer<typeof inFlightSchema>;
type Key = Record<string, string>;
type Item = Record<string, unknown>;

/**
 * The chain store on DynamoDB.
 *
 * @example
 * const store = new DynamoDbChainStore({ client: new DynamoDBClient({}), tableName: 'ebs-cdp-chain' });
 * const { fencingToken } = await store.acquireLease('vol-1', { holder: 'exec-1', runId: 'sync-42', ttlMs: 900_000 });
 * await store.commitEntry('vol-1', entry, { fencingToken });
 */
export class DynamoDbChainStore implements ChainStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly pageSize: number;
  private readonly timer: Timer;

  constructor(options: DynamoDbChainStoreOptions) {
    // Items are stripped of undefined values here rather than with `removeUndefinedValues`:
    // DocumentClient.from() stores its options on the shared SDK client's config, so whoever wraps
    // the same client last decides them for everyone.
    this.doc = DynamoDBDocumentClient.from(options.client);
    this.tableName = options.tableName;
    this.pageSize = options.pageSize ?? DEFAULT_ENTRY_PAGE_SIZE;
    this.timer = options.timer ?? systemTimer;
  }

  // ── protected volumes ──────────────────────────────────────────────────────────────────

  async protectVolume(volumeId: string, request: ProtectRequest): Promise<ProtectedVolume> {
    checkId(volumeId, 'volumeId');
    if (!Number.isInteger(request.volumeSize) || request.volumeSize < 1 || request.volumeSize > MAX_VOLUME_SIZE_GIB) {
      throw new ChainStoreInputError(
        `volume ${volumeId}: size ${request.volumeSize} GiB is not a whole number from 1 to ${MAX_VOLUME_SIZE_GIB}`,
        { volumeId },
      );
    }
    const meta: MetaItem = {
      volumeId, volumeSize: request.volumeSize, config: { ...request.config }, fencingCounter: 0, version: 0,
    };
    try {
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: withoutUndefined({ ...metaKey(volumeId), ...meta }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return toVolume(meta);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.readMeta(volumeId);
    if (existing.unprotecting !== undefined) {
      throw new VolumeAlreadyProtectedError(
        `volume ${volumeId} is being unprotected (started ${existing.unprotecting.at}): finish it with ` +
          `ebs-cdp unprotect ${volumeId}, then protect it again`, { volumeId });
    }
    if (existing.volumeSize === request.volumeSize && isDeepStrictEqual(existing.config, request.config)) {
      return toVolume(existing);
    }
    throw new VolumeAlreadyProtectedError(
      `volume ${volumeId} is already protected (${existing.volumeSize} GiB) with other settings: ` +
        'change its settings instead of protecting it again',
      { volumeId },
    );
  }

  async getVolume(volumeId: string): Promise<ProtectedVolume> {
    return toVolume(await this.readMeta(volumeId));
  }

  // ── lease ──────────────────────────────────────────────────────────────────────────────

  async acquireLease(volumeId: string, request: LeaseRequest): Promise<LeaseGrant> {
    checkId(request.runId, 'runId');
    checkTtl(request.ttlMs);
    const now = request.now ?? this.timer.now();
    const meta = await this.updateMeta(volumeId, (current) => {
      if (current.unprotecting !== undefined) throw beingUnprotected(volumeId);
      const lease = current.lease;
      const ours = lease?.runId === request.runId;
      if (lease !== undefined && !ours && lease.expiresAt > now) throw new VolumeBusyError(volumeId, lease);
      // Re-acquiring our own lease keeps its token: nobody took it over in between, or it would not be ours.
      const fencingToken = ours ? lease.fencingToken : current.fencingCounter + 1;
      return {
        ...current,
        fencingCounter: Math.max(current.fencingCounter, fencingToken),
        lease: { holder: request.holder, runId: request.runId, expiresAt: now + request.ttlMs, fencingToken },
      };
    });
    return grantOf(meta);
  }

  async renewLease(volumeId: string, request: RenewRequest): Promise<LeaseGrant> {
    checkTtl(request.ttlMs);
    const now = request.now ?? this.timer.now();
    const meta = await this.updateMeta(volumeId, (current) => {
      const lease = checkFence(current, request);
      return { ...current, lease: { ...lease, expiresAt: now + request.ttlMs } };
    });
    return grantOf(meta);
  }

  async releaseLease(volumeId: string, fence: Fence): Promise<void> {
    await this.updateMeta(volumeId, (current) => {
      // Released already, or taken over: either way it is not ours to free.
      if (current.lease?.fencingToken !== fence.fencingToken) return undefined;
      return { ...current, lease: undefined };
    });
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
    const meta = await this.readMeta(volumeId);
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
      await this.updateMeta(volumeId, (current) => {
        checkFence(current, fence);
        return isDeepStrictEqual(current.inFlight, inFlight) ? undefined : { ...current, inFlight };
      }, meta);
      return;
    }
    if (live !== undefined) {
      // Other blocks for the same run: unlink the old log first, so that rewriting its shards
      // never shows a mix of old and new under the old pointer.
      await this.updateMeta(volumeId, (current) => ({ ...checkedFence(current, fence), inFlight: undefined }), meta);
    }
    await this.batchWrite([...shards].map(([segment, bytes]) => ({
      ...itemKey(volumeId, drlSk(segment)), segment, bytes, runId: log.runId, seq: log.seq,
    })));
    await this.updateMeta(volumeId, (current) => {
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
    const meta = await this.readMeta(volumeId);
    return meta.inFlight === undefined ? undefined : this.loadDirtyRegionLog(volumeId, meta.inFlight);
  }

  async clearDirtyRegionLog(volumeId: string, fence: Fence): Promise<void> {
    let cleared: InFlightItem | undefined;
    await this.updateMeta(volumeId, (current) => {
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

  async markSuspect(volumeId: string, marks: readonly SuspectMark[], fence: Fence): Promise<void> {
    const meta = await this.readMeta(volumeId);
    checkFence(meta, fence);
    for (const mark of marks) {
      if (!Number.isInteger(mark.suspectBlocks) || mark.suspectBlocks < 1) {
        throw new ChainStoreInputError(
          `volume ${volumeId}: a suspect mark needs a positive block count; got ${mark.suspectBlocks} for entry ${mark.seq}`,
          { volumeId, seq: mark.seq });
      }
      if (meta.headSeq === undefined || mark.seq > meta.headSeq) {
        throw new RestorePointNotFoundError(
          `volume ${volumeId}: restore point ${mark.seq} is not committed, so it cannot be marked suspect`,
          { volumeId, seq: mark.seq });
      }
    }
    for (const mark of marks) {
      try {
        // The largest count wins: an image's bad blocks never heal, so a later walk that saw
        // fewer (it started from a smaller compare map) must not lower what an earlier one found.
        await this.doc.send(new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey(volumeId, entrySk(mark.seq)),
          UpdateExpression: 'SET trust = :suspect, suspectBlocks = :blocks',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(suspectBlocks) OR suspectBlocks < :blocks)',
          ExpressionAttributeValues: { ':suspect': 'suspect', ':blocks': mark.suspectBlocks },
        }));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    // A holder superseded during the walk learns it here; its marks stand, being true findings.
    await this.updateMeta(volumeId, (current) => ({ ...checkedFence(current, fence) }), meta);
  }

  async *readChain(volumeId: string, options: ReadChainOptions = {}): AsyncIterable<ChainEntry> {
    const meta = await this.readMeta(volumeId);
    const fromSeq = options.fromSeq ?? 0;
    const toSeq = options.toSeq ?? MAX_SEQ;
    const descending = options.order === 'descending';
    const pending = options.includePending === true && meta.inFlight !== undefined
      && meta.inFlight.seq >= fromSeq && meta.inFlight.seq <= toSeq ? meta.inFlight : undefined;
    if (pending !== undefined && descending) yield await this.pendingEntry(volumeId, pending);
    const lastSeq = Math.min(toSeq, meta.headSeq ?? -1);
    if (fromSeq <= lastSeq) {
      let startKey: Key | undefined;
      do {
        const page = await this.doc.send(new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': volumePk(volumeId), ':from': entrySk(fromSeq), ':to': entrySk(lastSeq) },
          ScanIndexForward: !descending,
          ConsistentRead: true,
          Limit: this.pageSize,
          ExclusiveStartKey: startKey,
        }));
        const entries = (page.Items ?? []).map((item) => parseItem(entrySchema, item, volumeId));
        for (const group of shardBudgetGroups(entries)) {
          const shards = await this.batchGet(group.flatMap((entry) =>
            entry.segments.map((segment) => itemKey(volumeId, mapSk(entry.seq, segment, entry.mapGeneration)))));
          for (const entry of group) yield toChainEntry(volumeId, entry, shards);
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

  // ── verify runs ────────────────────────────────────────────────────────────────────────

  async putVerifyRun(volumeId: string, run: VerifyRun): Promise<void> {
    checkId(run.runId, 'runId');
    await this.readMeta(volumeId);
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: withoutUndefined({ ...itemKey(volumeId, runSk(run.runId)), ...run }) }));
  }

  async getVerifyRun(volumeId: string, runId: string): Promise<VerifyRun> {
    checkId(runId, 'runId');
    const { Item } = await this.doc.send(new GetCommand({
      TableName: this.tableName, Key: itemKey(volumeId, runSk(runId)), ConsistentRead: true,
    }));
    if (Item === undefined) {
      throw new VerifyRunNotFoundError(
        `volume ${volumeId} has no verify run ${runId}: start one with ebs-cdp verify ${volumeId}`, { volumeId });
    }
    return parseItem(verifyRunSchema, Item, volumeId) as VerifyRun;
  }

  async putCompareSegment(volumeId: string, runId: string, segment: number, compareMap: DeltaMap): Promise<void> {
    checkId(runId, 'runId');
    checkSegment(segment, compareMap.volumeBlocks);
    await this.doc.send(new PutCommand({
      TableName: this.tableName,
      Item: {
        ...itemKey(volumeId, cmpSk(runId, segment)),
        runId,
        segment,
        bytes: compareMap.encodeSegment(segment),
        blocks: compareMap.segmentSize(segment),
      },
    }));
  }

  async readCompareMap(volumeId: string, runId: string, blocks: number): Promise<CompareMapState> {
    checkId(runId, 'runId');
    const shards: Array<[number, Uint8Array]> = [];
    for await (const item of this.queryPrefix(volumeId, cmpSkPrefix(runId))) {
      const shard = parseItem(shardSchema, item, volumeId);
      shards.push([shard.segment, shard.bytes]);
    }
    return { deltaMap: DeltaMap.join(blocks, shards), scannedSegments: shards.map(([segment]) => segment) };
  }

  // ── appended for the engine: block digests, run maps, pruning, job records ─────────────

  async putBlockDigests(volumeId: string, runId: string, segment: number, digests: Uint8Array): Promise<void> {
    checkId(runId, 'runId');
    checkSegment(segment, MAX_VOLUME_BLOCKS);
    if (digests.length % DIGEST_BYTES !== 0) {
      throw new ChainStoreInputError(`digests come in ${DIGEST_BYTES}-byte records; got ${digests.length} bytes`, { volumeId, segment });
    }
    const count = digests.length / DIGEST_BYTES;
    const chunks = Math.max(1, Math.ceil(count / DIGESTS_PER_ITEM));
    // Every chunk carries the hash of the whole segment's digests, so a reader detects a mix of
    // chunks from two attempts (a crash between puts) instead of completing with a wrong aggregate.
    const checksum = createHash('sha256').update(digests).digest('base64');
    for (let chunk = 0; chunk < chunks; chunk++) {
      const bytes = digests.subarray(chunk * DIGESTS_PER_ITEM * DIGEST_BYTES, (chunk + 1) * DIGESTS_PER_ITEM * DIGEST_BYTES);
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...itemKey(volumeId, digestSk(runId, segment, chunk)), segment, chunk, chunks, count, checksum, bytes },
      }));
    }
    const stale: Key[] = [];
    for await (const item of this.queryPrefix(volumeId, digestSkPrefix(runId, segment), true)) {
      const sk = String(item.sk);
      if (Number(sk.slice(sk.lastIndexOf('#') + 1)) >= chunks) stale.push(itemKey(volumeId, sk));
    }
    await this.batchWrite([], stale);
  }

  async *readBlockDigests(volumeId: string, runId: string): AsyncIterable<SegmentDigests> {
    checkId(runId, 'runId');
    let current: { segment: number; chunks: number; checksum: string; parts: Uint8Array[]; mixed: boolean } | undefined;
    const finish = (done: NonNullable<typeof current>): SegmentDigests => {
      const digests = Buffer.concat(done.parts);
      if (done.mixed || done.parts.length !== done.chunks || createHash('sha256').update(digests).digest('base64') !== done.checksum) {
        throw new ChainStoreCorruptError(
          `volume ${volumeId}: the block digests run ${runId} stored for segment ${done.segment} are incomplete or mixed ` +
            'from two attempts; copy that segment again before completing the snapshot', { volumeId, segment: done.segment });
      }
      return { segment: done.segment, digests };
    };
    // Sort keys pad segment and chunk, so the query returns ascending segment, then chunk.
    for await (const raw of this.queryPrefix(volumeId, digestSkPrefix(runId))) {
      const item = parseItem(digestSchema, raw, volumeId);
      if (current !== undefined && current.segment !== item.segment) {
        yield finish(current);
        current = undefined;
      }
      current ??= { segment: item.segment, chunks: item.chunks, checksum: item.checksum, parts: [], mixed: false };
      if (item.chunk !== current.parts.length || item.checksum !== current.checksum || item.chunks !== current.chunks) current.mixed = true;
      current.parts.push(item.bytes);
    }
    if (current !== undefined) yield finish(current);
  }

  async putRunMap(volumeId: string, runId: string, name: string, segment: number, deltaMap: DeltaMap): Promise<void> {
    checkId(runId, 'runId');
    checkMapName(name);
    checkSegment(segment, deltaMap.volumeBlocks);
    await this.doc.send(new PutCommand({
      TableName: this.tableName,
      Item: {
        ...itemKey(volumeId, runMapSk(runId, name, segment)),
        runId,
        segment,
        bytes: deltaMap.encodeSegment(segment),
        blocks: deltaMap.segmentSize(segment),
      },
    }));
  }

  async readRunMap(volumeId: string, runId: string, name: string, segment: number, blocks: number): Promise<DeltaMap> {
    checkId(runId, 'runId');
    checkMapName(name);
    checkSegment(segment, blocks);
    const { Item } = await this.doc.send(new GetCommand({
      TableName: this.tableName, Key: itemKey(volumeId, runMapSk(runId, name, segment)), ConsistentRead: true,
    }));
    if (Item === undefined) return DeltaMap.empty(blocks);
    const shard = parseItem(shardSchema, Item, volumeId);
    return DeltaMap.decodeSegment(blocks, segment, shard.bytes);
  }

  async readRunMapSegments(volumeId: string, runId: string, name: string, blocks: number): Promise<RunMapState> {
    checkId(runId, 'runId');
    checkMapName(name);
    const shards: Array<[number, Uint8Array]> = [];
    for await (const item of this.queryPrefix(volumeId, runMapSkPrefix(runId, name))) {
      const shard = parseItem(shardSchema, item, volumeId);
      shards.push([shard.segment, shard.bytes]);
    }
    return { deltaMap: DeltaMap.join(blocks, shards), segments: shards.map(([segment]) => segment) };
  }

  async deleteRunItems(volumeId: string, runId: string): Promise<void> {
    checkId(runId, 'runId');
    const keys: Key[] = [];
    for (const prefix of [digestSkPrefix(runId), runMapSkPrefix(runId)]) {
      for await (const item of this.queryPrefix(volumeId, prefix, true)) keys.push(itemKey(volumeId, String(item.sk)));
    }
    await this.batchWrite([], keys);
  }

  /**
   * ```
   *  MAP#succ#…#g(n+1) ─► ENTRY#succ{gen n+1, if checksum unchanged} ─► delete ENTRY#k ─► succ.kind=baseline (if k was first) ─► garbage
   *  ╰── invisible ──╯    commit point of the merge: D_succ ⊇ D_k                         ╰────── a retry finishes these ──────╯
   * ```
   */
  async pruneEntry(volumeId: string, seq: number, fence: Fence): Promise<PruneEntryResult> {
    checkSeq(seq);
    const meta = await this.readMeta(volumeId);
    checkFence(meta, fence);
    if (meta.inFlight?.seq === seq) {
      throw new RetentionError(`volume ${volumeId}: entry ${seq} is still in flight, not a restore point; it cannot be pruned`, { volumeId, seq });
    }
    if (meta.headSeq === undefined || seq >= meta.headSeq) {
      throw new RetentionError(
        seq === meta.headSeq
          ? `volume ${volumeId}: restore point ${seq} is the head, the parent of the next sync; it is never pruned`
          : `volume ${volumeId} has no restore point ${seq} to prune`,
        { volumeId, seq });
    }
    const [entry, successor] = await this.entryItems(volumeId, seq, meta.headSeq, 2);
    if (entry === undefined || entry.seq !== seq || successor === undefined) {
      // Pruned already; a crash may have stopped it before the successor became the baseline.
      await this.promoteFirstToBaseline(volumeId);
      return { pruned: false };
    }
    const [before] = seq === 0 ? [] : await this.entryItems(volumeId, 0, seq - 1, 1);
    const shards = await this.batchGet([entry, successor].flatMap((item) =>
      item.segments.map((segment) => itemKey(volumeId, mapSk(item.seq, segment, item.mapGeneration)))));
    const pruned = toChainEntry(volumeId, entry, shards);
    const next = toChainEntry(volumeId, successor, shards);
    const merged = pruned.deltaMap.union(next.deltaMap).resize(volumeBlocks(successor.volumeSize));
    if (!merged.equals(next.deltaMap)) {
      const generation = (successor.mapGeneration ?? 0) + 1;
      const mergedShards = merged.split();
      await this.batchWrite([...mergedShards].map(([segment, bytes]) => ({
        ...itemKey(volumeId, mapSk(successor.seq, segment, generation)), segment, bytes,
      })));
      const item: EntryItem = {
        ...successor,
        segments: [...mergedShards.keys()],
        shardCount: mergedShards.size,
        checksum: shardChecksum(mergedShards),
        mapGeneration: generation,
      };
      try {
        await this.doc.send(new PutCommand({
          TableName: this.tableName,
          Item: withoutUndefined({ ...itemKey(volumeId, entrySk(successor.seq)), ...item }),
          ConditionExpression: 'checksum = :checksum',
          ExpressionAttributeValues: { ':checksum': successor.checksum },
        }));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        throw new ConcurrentUpdateError(
          `volume ${volumeId}: restore point ${successor.seq} changed while pruning ${seq} into it; retry the prune`,
          { volumeId, seq, cause: error });
      }
      await this.batchWrite([], successor.segments.map((segment) => itemKey(volumeId, mapSk(successor.seq, segment, successor.mapGeneration))));
    }
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: itemKey(volumeId, entrySk(seq)) }));
    if (before === undefined) await this.promoteFirstToBaseline(volumeId);
    const garbage: Key[] = [];
    for await (const shard of this.queryPrefix(volumeId, mapSkPrefix(seq), true)) garbage.push(itemKey(volumeId, String(shard.sk)));
    await this.batchWrite([], garbage);
    // A holder superseded meanwhile learns it here, as markSuspect's does.
    await this.updateMeta(volumeId, (current) => ({ ...checkedFence(current, fence) }));
    return { pruned: true, successorSeq: successor.seq, secondarySnapshotId: entry.secondarySnapshotId };
  }

  async putJobRecord(volumeId: string, record: JobRecord): Promise<void> {
    checkId(record.runId, 'runId');
    await this.doc.send(new PutCommand({
      TableName: this.tableName, Item: withoutUndefined({ ...itemKey(volumeId, jobSk(record.runId)), ...record }),
    }));
  }

  async listJobRecords(volumeId: string): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    for await (const item of this.queryPrefix(volumeId, SORT_KEY_PREFIX.job)) records.push(parseItem(jobRecordSchema, item, volumeId) as JobRecord);
    return records.sort((a, b) => b.at.localeCompare(a.at));
  }

  /**
   * ```
   *  META{unprotecting, lease: none} ──► delete every other item (batches) ──► delete META
   *  commit point: jobs refused,         a crash here leaves a protected      the volume is gone
   *  snapshot ids recorded               volume a re-run finishes removing
   * ```
   * The mark clears an expired lease, so a holder still running past its expiry fails its next
   * fenced write with LeaseLostError instead of committing into a half-removed chain.
   */
  async unprotectVolume(volumeId: string, request: UnprotectRequest = {}): Promise<UnprotectResult> {
    checkId(volumeId, 'volumeId');
    const now = request.now ?? this.timer.now();
    const deleting = request.deleteRestorePoints === true;
    let meta: MetaItem;
    try {
      meta = await this.readMeta(volumeId);
    } catch (error) {
      if (error instanceof VolumeNotProtectedError) return { removed: false, restorePoints: 0, secondarySnapshotIds: [] };
      throw error;
    }
    // Read before anything is removed: a re-run whose mark recorded no ids only finds what is left.
    const secondarySnapshotIds = (await this.committedEntryItems(volumeId, meta)).map((entry) => entry.secondarySnapshotId);
    if (meta.unprotecting === undefined) {
      const refusal = unprotectRefusal(meta, now);
      if (refusal !== undefined) throw refusal;
      if (deleting && secondarySnapshotIds.length > UNPROTECT_MAX_RECORDED_SNAPSHOTS) {
        throw new TooManyRestorePointsError(
          `volume ${volumeId} has ${secondarySnapshotIds.length} restore points, more than the ${UNPROTECT_MAX_RECORDED_SNAPSHOTS} ` +
            'whose snapshots unprotect can track for deletion: prune it first (ebs-cdp prune, or a tighter --retention), ' +
            'or unprotect without deleting the restore points', { volumeId });
      }
      const headSeq = meta.headSeq;
      meta = await this.updateMeta(volumeId, (current) => {
        if (current.unprotecting !== undefined) return undefined; // a concurrent unprotect marked it first
        const raced = unprotectRefusal(current, now);
        if (raced !== undefined) throw raced;
        if (current.headSeq !== headSeq) {
          throw new ConcurrentUpdateError(
            `volume ${volumeId}: a restore point was committed while unprotect read the chain; run unprotect again`, { volumeId });
        }
        return {
          ...current,
          lease: undefined,
          unprotecting: {
            at: new Date(now).toISOString(),
            restorePoints: secondarySnapshotIds.length,
            secondarySnapshotIds: deleting ? secondarySnapshotIds : undefined,
            basePrimarySnapshotId: current.basePrimarySnapshotId,
          },
        };
      }, meta);
    }
    const mark = meta.unprotecting;
    if (mark === undefined) {
      throw new ChainStoreCorruptError(`volume ${volumeId}: the unprotect mark vanished while writing it; run unprotect again`, { volumeId });
    }
    const garbage: Key[] = [];
    for await (const item of this.queryVolumeKeys(volumeId)) {
      const sk = String(item.sk);
      if (sk !== META_SORT_KEY) garbage.push(itemKey(volumeId, sk));
    }
    await this.batchWrite([], garbage);
    try {
      await this.doc.send(new DeleteCommand({
        TableName: this.tableName,
        Key: metaKey(volumeId),
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':version': meta.version },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new ConcurrentUpdateError(
        `volume ${volumeId}: its record changed while unprotect removed it; run unprotect again to finish`, { volumeId, cause: error });
    }
    return {
      removed: true,
      restorePoints: mark.restorePoints,
      secondarySnapshotIds: mark.secondarySnapshotIds ?? secondarySnapshotIds,
      basePrimarySnapshotId: mark.basePrimarySnapshotId,
    };
  }

  /** Every committed entry item (seq ≤ head), ascending, without its map. */
  private async committedEntryItems(volumeId: string, meta: MetaItem): Promise<EntryItem[]> {
    const headSeq = meta.headSeq;
    if (headSeq === undefined) return [];
    const entries: EntryItem[] = [];
    for await (const item of this.queryPrefix(volumeId, SORT_KEY_PREFIX.entry)) {
      const entry = parseItem(entrySchema, item, volumeId);
      // An ENTRY above the head is a crashed commit's, never visible: not a restore point.
      if (entry.seq <= headSeq) entries.push(entry);
    }
    return entries;
  }

  /** The keys of every item of the volume's partition. */
  private async *queryVolumeKeys(volumeId: string): AsyncIterable<Item> {
    let startKey: Key | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': volumePk(volumeId) },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey as Key | undefined;
    } while (startKey !== undefined);
  }

  /** Up to `limit` committed entry items with seq in [from, to], ascending, without their maps. */
  private async entryItems(volumeId: string, fromSeq: number, toSeq: number, limit: number): Promise<EntryItem[]> {
    const page = await this.doc.send(new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': volumePk(volumeId), ':from': entrySk(fromSeq), ':to': entrySk(toSeq) },
      ConsistentRead: true,
      Limit: limit,
    }));
    return (page.Items ?? []).map((item) => parseItem(entrySchema, item, volumeId));
  }

  /** The chain's first entry must be the baseline: finishes a prune of the baseline a crash cut short. */
  private async promoteFirstToBaseline(volumeId: string): Promise<void> {
    const [first] = await this.entryItems(volumeId, 0, MAX_SEQ, 1);
    if (first === undefined || first.kind === 'baseline') return;
    await this.doc.send(new UpdateCommand({
      TableName: this.tableName,
      Key: itemKey(volumeId, entrySk(first.seq)),
      UpdateExpression: 'SET kind = :baseline',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':baseline': 'baseline' },
    }));
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

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
      trust: entry.trust,
      suspectBlocks: entry.trust === 'suspect' ? entry.suspectBlocks : undefined,
      pointInTime: entry.pointInTime,
      committedAt: entry.committedAt,
      segments: [...shards.keys()],
      shardCount: shards.size,
      checksum: shardChecksum(shards),
    };
    const meta = await this.readMeta(volumeId);
    checkFence(meta, fence);
    if (meta.headSeq !== undefined && entry.seq <= meta.headSeq) {
      await this.checkAlreadyCommitted(volumeId, item);
      await this.cleanUpAfterCommit(volumeId, item);
      return;
    }
    checkNextEntry(meta, volumeId, entry.seq, entry.kind, entry.volumeSize);
    await this.batchWrite([...shards].map(([segment, bytes]) => ({
      ...itemKey(volumeId, mapSk(entry.seq, segment)), segment, bytes,
    })));
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: withoutUndefined({ ...itemKey(volumeId, entrySk(entry.seq)), ...item }) }));
    let alreadyCommitted = false;
    await this.updateMeta(volumeId, (current) => {
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
    const { Item } = await this.doc.send(new GetCommand({
      TableName: this.tableName, Key: itemKey(volumeId, entrySk(item.seq)), ConsistentRead: true,
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
    for await (const shard of this.queryPrefix(volumeId, mapSkPrefix(item.seq), true)) {
      const sk = String(shard.sk);
      if (!listed.has(sk)) orphans.push(itemKey(volumeId, sk));
    }
    await this.batchWrite([], orphans);
    await this.deleteStaleDirtyRegionShards(volumeId, item.seq);
  }

  /**
   * DRL shards of entries up to `seq` are spent. Each delete is conditional on that stamp, so a
   * DRL the next run is writing meanwhile survives.
   */
  private async deleteStaleDirtyRegionShards(volumeId: string, seq: number): Promise<void> {
    for await (const raw of this.queryPrefix(volumeId, SORT_KEY_PREFIX.dirtyRegion, true)) {
      const shard = parseItem(shardSchema.pick({ sk: true, seq: true }), raw, volumeId);
      if (shard.seq !== undefined && shard.seq > seq) continue;
      try {
        await this.doc.send(new DeleteCommand({
          TableName: this.tableName,
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
    const found = await this.batchGet(keys);
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

  private async readMeta(volumeId: string): Promise<MetaItem> {
    checkId(volumeId, 'volumeId');
    const { Item } = await this.doc.send(new GetCommand({
      TableName: this.tableName, Key: metaKey(volumeId), ConsistentRead: true,
    }));
    if (Item === undefined) {
      throw new VolumeNotProtectedError(
        `volume ${volumeId} is not protected: protect it first: ebs-cdp protect ${volumeId}`, { volumeId });
    }
    return parseItem(metaSchema, Item, volumeId);
  }

  /**
   * Read, change, and put META back if nobody changed it meanwhile (optimistic `version`).
   * `change` returns undefined to leave META as is; it may throw to abort. `first` saves the
   * first read when the caller has just read META.
   */
  private async updateMeta(
    volumeId: string,
    change: (current: MetaItem) => MetaItem | undefined,
    first?: MetaItem,
  ): Promise<MetaItem> {
    let current = first ?? await this.readMeta(volumeId);
    for (let attempt = 1; ; attempt++) {
      const next = change(current);
      if (next === undefined) return current;
      const written: MetaItem = { ...next, version: current.version + 1 };
      try {
        await this.doc.send(new PutCommand({
          TableName: this.tableName,
          Item: withoutUndefined({ ...metaKey(volumeId), ...written }),
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':version': current.version },
        }));
        return written;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (attempt >= META_UPDATE_MAX_ATTEMPTS) {
          throw new ConcurrentUpdateError(
            `volume ${volumeId}: its record kept changing under ${META_UPDATE_MAX_ATTEMPTS} attempts to update it; ` +
              'another process is writing it: check that only one deployment protects this volume, then retry',
            { volumeId, cause: error });
        }
      }
      current = await this.readMeta(volumeId);
    }
  }

  /** BatchWriteItem in chunks of 25, each retried until DynamoDB processed all of it. */
  private async batchWrite(puts: Item[], deletes: Key[] = []): Promise<void> {
    const requests = [
      ...puts.map((Item) => ({ PutRequest: { Item } })),
      ...deletes.map((Key) => ({ DeleteRequest: { Key } })),
    ];
    for (let start = 0; start < requests.length; start += BATCH_WRITE_MAX_ITEMS) {
      let pending = requests.slice(start, start + BATCH_WRITE_MAX_ITEMS);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > BATCH_MAX_ATTEMPTS) {
          throw new BatchRetryExhaustedError(
            `BatchWriteItem left ${pending.length} items unprocessed after ${BATCH_MAX_ATTEMPTS} attempts: ` +
              `table ${this.tableName} is throttled; retry the step later (nothing was committed)`);
        }
        if (attempt > 1) await this.backoff(attempt);
        const { UnprocessedItems } = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = (UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      }
    }
  }

  /** BatchGetItem in chunks of 100, retrying unprocessed keys; items keyed by `sk`. */
  private async batchGet(keys: Key[]): Promise<Map<string, z.infer<typeof shardSchema>>> {
    const found = new Map<string, z.infer<typeof shardSchema>>();
    for (let start = 0; start < keys.length; start += BATCH_GET_MAX_KEYS) {
      let pending = keys.slice(start, start + BATCH_GET_MAX_KEYS);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > BATCH_MAX_ATTEMPTS) {
          throw new BatchRetryExhaustedError(
            `BatchGetItem left ${pending.length} keys unprocessed after ${BATCH_MAX_ATTEMPTS} attempts: ` +
              `table ${this.tableName} is throttled; retry later`);
        }
        if (attempt > 1) await this.backoff(attempt);
        const { Responses, UnprocessedKeys } = await this.doc.send(new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
        }));
        for (const item of Responses?.[this.tableName] ?? []) {
          const shard = parseItem(shardSchema, item, undefined);
          found.set(shard.sk, shard);
        }
        pending = (UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Key[];
      }
    }
    return found;
  }

  private async *queryPrefix(volumeId: string, prefix: string, keysOnly = false): AsyncIterable<Item> {
    let startKey: Key | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': volumePk(volumeId), ':prefix': prefix },
        ProjectionExpression: keysOnly ? 'pk, sk, seq' : undefined,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey as Key | undefined;
    } while (startKey !== undefined);
  }

  private backoff(attempt: number): Promise<void> {
    const ceiling = Math.min(BATCH_MAX_DELAY_MS, BATCH_BASE_DELAY_MS * 2 ** (attempt - 1));
    return this.timer.sleep(Math.random() * ceiling);
  }
}

// ── keys ─────────────────────────────────────────────────────────────────────────────────

function itemKey(volumeId: string, sk: string): Key {
  return { [CHAIN_TABLE_KEY.partitionKey]: volumePk(volumeId), [CHAIN_TABLE_KEY.sortKey]: sk };
}

function metaKey(volumeId: string): Key {
  return itemKey(volumeId, META_SORT_KEY);
}

/** Run-map names become key parts; `#` would let one name's prefix cover another's. */
const MAP_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function checkMapName(name: string): void {
  if (!MAP_NAME_PATTERN.test(name)) {
    throw new ChainStoreInputError(`run map name '${name}' must be 1 to 64 letters, digits or ._- (no '#')`);
  }
}

// ── checks ───────────────────────────────────────────────────────────────────────────────

function checkId(id: string, what: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new ChainStoreInputError(`${what} '${id}' must be 1 to 256 letters, digits or ._:@/+=- (no '#')`);
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new ChainStoreInputError(`a lease lasts a positive whole number of milliseconds; got ${ttlMs}`);
  }
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) {
    throw new ChainStoreInputError(`seq ${seq} must be a whole number from 0 to ${MAX_SEQ}`, { seq });
  }
}

function checkSegment(segment: number, blocks: number): void {
  if (!Number.isInteger(segment) || segment < 0 || segment >= segmentCount(blocks)) {
    throw new ChainStoreInputError(
      `segment ${segment} does not exist in a volume of ${blocks} blocks (${segmentCount(blocks)} segments)`, { segment });
  }
}

function checkMapSize(volumeId: string, seq: number, deltaMap: DeltaMap, volumeSize: number): void {
  checkSeq(seq);
  if (deltaMap.volumeBlocks !== volumeBlocks(volumeSize)) {
    throw new ChainInvariantError(
      `volume ${volumeId}: entry ${seq} is ${volumeSize} GiB but its delta map covers ${deltaMap.volumeBlocks} blocks; ` +
        'resize the map to the entry\'s volume size', { volumeId, seq });
  }
}

/** The entry `seq` may follow META's head: the next seq, baseline first, volumes only grow. */
function checkNextEntry(meta: MetaItem, volumeId: string, seq: number, kind: EntryKind, volumeSize: number): void {
  const expected = (meta.headSeq ?? -1) + 1;
  if (seq !== expected) {
    throw new ChainInvariantError(
      `volume ${volumeId}: the next restore point is ${expected}, not ${seq}; reread the chain and start over`,
      { volumeId, seq });
  }
  if ((meta.headSeq === undefined) !== (kind === 'baseline')) {
    throw new ChainInvariantError(
      `volume ${volumeId}: entry ${seq} is a ${kind}, but the chain's first entry, and only it, must be the baseline`,
      { volumeId, seq });
  }
  if (meta.headSeq !== undefined && volumeSize < meta.volumeSize) {
    throw new ChainInvariantError(
      `volume ${volumeId}: entry ${seq} is ${volumeSize} GiB but the volume was ${meta.volumeSize} GiB; volumes only grow`,
      { volumeId, seq });
  }
}

/** The live lease if `fence` holds it; otherwise the caller was superseded. */
function checkFence(meta: MetaItem, fence: Fence): z.infer<typeof leaseSchema> {
  const lease = meta.lease;
  if (lease === undefined || lease.fencingToken !== fence.fencingToken) {
    const holder = lease === undefined ? 'nobody holds it now' : `run ${lease.runId} of ${lease.holder} holds it now`;
    throw new LeaseLostError(
      `volume ${meta.volumeId}: this run's lease (fencing token ${fence.fencingToken}) expired or was released and ` +
        `${holder}; stop this run without committing: the next run recovers from the dirty region log`,
      { volumeId: meta.volumeId });
  }
  return lease;
}

function beingUnprotected(volumeId: string): VolumeNotProtectedError {
  return new VolumeNotProtectedError(
    `volume ${volumeId} is being unprotected: no job may start; finish it with ebs-cdp unprotect ${volumeId} ` +
      '(then protect it again if that was a mistake)', { volumeId });
}

/** Why `unprotectVolume` must not remove the volume now, or undefined when it may. */
function unprotectRefusal(meta: MetaItem, now: number): EbsCdpError | undefined {
  const lease = meta.lease;
  if (lease !== undefined && lease.expiresAt > now) return new VolumeBusyError(meta.volumeId, lease);
  const inFlight = meta.inFlight;
  if (inFlight !== undefined) {
    return new SyncInFlightError(
      `volume ${meta.volumeId}: run ${inFlight.runId} left restore point ${inFlight.seq} in flight; run ` +
        `ebs-cdp sync ${meta.volumeId} once (it adopts or discards that snapshot), then unprotect again`,
      { volumeId: meta.volumeId, seq: inFlight.seq });
  }
  return undefined;
}

function checkedFence(meta: MetaItem, fence: Fence): MetaItem {
  checkFence(meta, fence);
  return meta;
}

// ── encoding ─────────────────────────────────────────────────────────────────────────────

/** SHA-256 over (segment, length, bytes) in ascending segment order: detects a lost or stray shard. */
function shardChecksum(shards: ReadonlyMap<number, Uint8Array>): string {
  const hash = createHash('sha256');
  const header = Buffer.alloc(8);
  for (const segment of [...shards.keys()].sort((a, b) => a - b)) {
    const bytes = shards.get(segment) ?? new Uint8Array();
    header.writeUInt32BE(segment, 0);
    header.writeUInt32BE(bytes.length, 4);
    hash.update(header).update(bytes);
  }
  return hash.digest('base64');
}

function checkChecksum(
  volumeId: string, seq: number, shards: ReadonlyMap<number, Uint8Array>, expected: string, what: string,
): void {
  if (shardChecksum(shards) !== expected) {
    throw new ChainStoreCorruptError(
      `volume ${volumeId}: the ${what} of entry ${seq} does not match its checksum; the table was changed ` +
        'outside ebs-cdp: restore it from a DynamoDB backup or re-protect the volume', { volumeId, seq });
  }
}

function parseItem<T>(schema: z.ZodType<T>, item: Item, volumeId: string | undefined): T {
  const parsed = schema.safeParse(item);
  if (!parsed.success) {
    throw new ChainStoreCorruptError(
      `item ${String(item.pk)} / ${String(item.sk)} is malformed (${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}); ` +
        'the table was changed outside ebs-cdp or by a newer version: upgrade ebs-cdp or restore the table',
      { volumeId, cause: parsed.error });
  }
  return parsed.data;
}

/** A copy without undefined properties (at any depth), which DynamoDB cannot store. */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => withoutUndefined(item)) as T;
  if (value === null || typeof value !== 'object') return value;
  // Only plain objects are copied; binary shards (Uint8Array) and other classes pass through.
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== null && (prototype as { constructor?: { name?: string } }).constructor?.name !== 'Object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) copy[key] = withoutUndefined(field);
  }
  return copy as T;
}

function toVolume(meta: MetaItem): ProtectedVolume {
  let inFlight: InFlightEntry | undefined;
  if (meta.inFlight !== undefined) {
    const { segments: _segments, checksum: _checksum, ...entry } = meta.inFlight;
    inFlight = entry;
  }
  return {
    volumeId: meta.volumeId,
    volumeSize: meta.volumeSize,
    config: meta.config as ProtectedVolume['config'],
    headSeq: meta.headSeq,
    basePrimarySnapshotId: meta.basePrimarySnapshotId,
    lease: meta.lease,
    inFlight,
    version: meta.version,
    unprotecting: meta.unprotecting === undefined ? undefined : true,
  };
}

function grantOf(meta: MetaItem): LeaseGrant {
  if (meta.lease === undefined) {
    throw new ChainStoreCorruptError(`volume ${meta.volumeId}: lease vanished while granting it; retry`, { volumeId: meta.volumeId });
  }
  return { fencingToken: meta.lease.fencingToken, expiresAt: meta.lease.expiresAt };
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

function toChainEntry(volumeId: string, item: EntryItem, found: ReadonlyMap<string, z.infer<typeof shardSchema>>): ChainEntry {
  const shards = new Map<number, Uint8Array>();
  for (const segment of item.segments) {
    const shard = found.get(mapSk(item.seq, segment, item.mapGeneration));
    if (shard === undefined) {
      throw new ChainStoreCorruptError(
        `volume ${volumeId}: restore point ${item.seq} lacks its delta-map shard for segment ${segment}; the table ` +
          'was changed outside ebs-cdp: restore it from a DynamoDB backup', { volumeId, seq: item.seq, segment });
    }
    shards.set(segment, shard.bytes);
  }
  checkChecksum(volumeId, item.seq, shards, item.checksum, 'delta map');
  return {
    seq: item.seq,
    kind: item.kind,
    deltaMap: DeltaMap.join(volumeBlocks(item.volumeSize), shards),
    primarySnapshotId: item.primarySnapshotId,
    secondarySnapshotId: item.secondarySnapshotId,
    volumeSize: item.volumeSize,
    status: 'committed',
    trust: item.trust,
    suspectBlocks: item.suspectBlocks ?? 0,
    pointInTime: item.pointInTime,
    committedAt: item.committedAt,
  };
}

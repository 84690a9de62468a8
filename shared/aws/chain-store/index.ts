/**
 * The `ChainStore` port on one DynamoDB table (ARCHITECTURE.md, "Data"), one adapter per item
 * family (`shared/core/ports/chain-store/`) over shared key, item and batch helpers. Items of a
 * volume share `pk = VOL#<volumeId>`; key formats are in `shared/core/table-keys.ts`. Every item
 * family the store writes:
 *
 * | sk                                  | port           | holds                                                                                                  | read by                                         |
 * |-------------------------------------|----------------|--------------------------------------------------------------------------------------------------------|-------------------------------------------------|
 * | `META`                              | VolumeRegistry | config, size, headSeq, base `P_head`, lease, fencing counter, entry in flight, version, unprotect mark | every call                                      |
 * | `ENTRY#<seq:10>`                    | DeltaMapChain  | a committed entry without its map: kind, `P_n`, `S_n`, size, times, shard list + checksum              | readChain, getEntry (every job, CLI); unprotect |
 * | `MAP#<seq:10>#<segment:4>`          | DeltaMapChain  | one delta-map shard of entry `seq`, as committed (`DeltaMap.encodeSegment` bytes)                      | readChain, getEntry                             |
 * | `MAP#<seq:10>#<segment:4>#g<n>`     | DeltaMapChain  | that shard after pruning merged the predecessor's in; `n` = `ENTRY.mapGeneration`                      | readChain, getEntry                             |
 * | `BAD#<writer:10>#<segment:4>`       | DeltaMapChain  | the bad versions entry `writer` wrote in one segment (encoded blocks), version for conditional puts    | readChain, getEntry (trust is derived), verify  |
 * | `DRL#<segment:4>`                   | DeltaMapChain  | one dirty-region-log shard of the entry in flight, stamped with its runId and seq                      | readDirtyRegionLog (sync, verify, CLI)          |
 * | `RUN#<runId>`                       | RunState       | a verify run: `T0`, `P0`, head seq at `T0`, quick, status, counts, result                              | getVerifyRun (verify)                           |
 * | `CMP#<key>#<segment:4>`             | RunState       | one shard of a verify's compare map `C` (key `<runId>`) or derived map (key `<runId>:d0`…)             | readCompareMap (verify)                         |
 * | `DIG#<runId>#<segment:4>#<chunk:3>` | RunState       | ≤ 10,000 SHA-256 digests of blocks a copy wrote, chunk count, hash of the segment's digests            | readBlockDigests (snapshot completion)          |
 * | `RMAP#<runId>#<name>#<segment:4>`   | RunState       | one segment of a run's named map (restore's `restore-plan`: the blocks `R`)                            | readRunMap (restore), readRunMapSegments        |
 * | `JOB#<runId>`                       | JobHistory     | the outcome of a sync, restore or prune run: status, time, error, summary                              | listJobRecords (CLI `points`, sync)             |
 *
 * Lifetimes and other writers:
 * - META is also written by Dispatch (infra/constructs/schedules.ts): the config, and size,
 *   counter and version when it creates META, bumping the version so a racing store update retries.
 * - ENTRY#, MAP#: written by commitEntry and appendFixup (no trust field: an entry's trust is
 *   derived from BAD# when read; a `trust` written by older versions is ignored);
 *   pruneEntry writes the successor's `#g<n>` shards and entry, then deletes the pruned ones.
 * - DRL#: written before a sync or fix-up copies; deleted by the commit or clearDirtyRegionLog.
 *   readChain with `includePending` (prune, `getEntry`) yields it as the pending entry.
 * - CMP#: the derived verify maps (`:d0`, `:quick`, `:scope`, `:revised`) are listed in
 *   shared/engine/verify/maps.ts. RUN# and CMP# are kept until the volume is unprotected.
 * - DIG#: written by every CopySegment (sync, fix-up, restore), with the segment's block list on
 *   chunk 0. A committed entry's run keeps them: they are its digest-manifest layer
 *   (`ENTRY.manifest` lists the layers' run ids; a prune appends the pruned entry's by reference).
 *   Other runs' DIG# and RMAP# are deleted by deleteRunItems when their run ends. Layers no entry
 *   lists any more are not compacted yet: they stay until the volume is unprotected.
 * - unprotectVolume deletes every item of the partition, META last.
 * - BAD#: the one record of damage, united into by recordBadVersions (a verify's suspect walk);
 *   pruneEntry hands a pruned writer's items to its successor, then deletes them.
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
 *
 * | file                 | what                                                                          |
 * |----------------------|-------------------------------------------------------------------------------|
 * | `volume-registry.ts` | `DynamoDbVolumeRegistry`: META, the lease, unprotect                          |
 * | `delta-map-chain.ts` | `DynamoDbDeltaMapChain`: DRL, commit, suspect marks, chain reads              |
 * | `chain-prune.ts`     | `ChainPruner`: pruneEntry's merge into the successor                          |
 * | `run-state.ts`       | `DynamoDbRunState`: verify runs, compare shards, block digests, run maps      |
 * | `job-history.ts`     | `DynamoDbJobHistory`: job records                                             |
 * | `table.ts`           | `ChainTableClient`: META read and conditional update, batches, queries        |
 * | `items.ts`           | zod item schemas, shard checksums, item codecs                                |
 * | `checks.ts`          | input checks, next-entry and fence checks                                     |
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BadVersions } from '../../core/bad-versions';
import type { ChainEntry } from '../../core/chain-entry';
import type { DeltaMap } from '../../core/delta-map';
import type {
  DigestLayerSegment,
  BreakLeaseRequest,
  BreakLeaseResult,
  ChainStore,
  CompareMapState,
  DirtyRegionLog,
  Fence,
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
  UnprotectRequest,
  UnprotectResult,
  VerifyRun,
} from '../../core/ports/chain-store';
import type { Timer } from '../../core/ports/timer';
import { DynamoDbDeltaMapChain } from './delta-map-chain';
import { DynamoDbJobHistory } from './job-history';
import { DynamoDbRunState } from './run-state';
import { ChainTableClient } from './table';
import { DynamoDbVolumeRegistry } from './volume-registry';

export { ChainPruner } from './chain-prune';
export { DynamoDbDeltaMapChain, SECONDARY_NOT_STARTED, type DeltaMapChainOptions } from './delta-map-chain';
export { DynamoDbJobHistory } from './job-history';
export { DynamoDbRunState } from './run-state';
export { ChainTableClient, type ChainTableClientOptions } from './table';
export { DynamoDbVolumeRegistry, UNPROTECT_MAX_RECORDED_SNAPSHOTS } from './volume-registry';

export interface DynamoDbChainStoreOptions {
  /** An SDK client (endpoint, region, credentials already set): tests point it at dynalite. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Entries per Query page (default 100). */
  readonly pageSize?: number;
  /** Clock for lease times (when the caller passes no `now`) and batch backoff; tests inject one that never waits. */
  readonly timer?: Timer;
}

/**
 * The chain store on DynamoDB: every family on one table client, each call handed to its
 * family's adapter.
 *
 * @example
 * const store = new DynamoDbChainStore({ client: new DynamoDBClient({}), tableName: 'ebs-cdp-chain' });
 * const { fencingToken } = await store.acquireLease('vol-1', { holder: 'exec-1', runId: 'sync-42', ttlMs: 900_000 });
 * await store.commitEntry('vol-1', entry, { fencingToken });
 */
export class DynamoDbChainStore implements ChainStore {
  readonly volumes: DynamoDbVolumeRegistry;
  readonly chain: DynamoDbDeltaMapChain;
  readonly runs: DynamoDbRunState;
  readonly jobs: DynamoDbJobHistory;

  constructor(options: DynamoDbChainStoreOptions) {
    const table = new ChainTableClient(options);
    this.volumes = new DynamoDbVolumeRegistry(table);
    this.chain = new DynamoDbDeltaMapChain(table, { pageSize: options.pageSize });
    this.runs = new DynamoDbRunState(table);
    this.jobs = new DynamoDbJobHistory(table);
  }

  // ── VolumeRegistry ─────────────────────────────────────────────────────────────────────

  protectVolume(volumeId: string, request: ProtectRequest): Promise<ProtectedVolume> {
    return this.volumes.protectVolume(volumeId, request);
  }

  getVolume(volumeId: string): Promise<ProtectedVolume> {
    return this.volumes.getVolume(volumeId);
  }

  acquireLease(volumeId: string, request: LeaseRequest): Promise<LeaseGrant> {
    return this.volumes.acquireLease(volumeId, request);
  }

  renewLease(volumeId: string, request: RenewRequest): Promise<LeaseGrant> {
    return this.volumes.renewLease(volumeId, request);
  }

  releaseLease(volumeId: string, fence: Fence): Promise<void> {
    return this.volumes.releaseLease(volumeId, fence);
  }

  breakLease(volumeId: string, request: BreakLeaseRequest): Promise<BreakLeaseResult> {
    return this.volumes.breakLease(volumeId, request);
  }

  unprotectVolume(volumeId: string, request?: UnprotectRequest): Promise<UnprotectResult> {
    return this.volumes.unprotectVolume(volumeId, request);
  }

  // ── DeltaMapChain ──────────────────────────────────────────────────────────────────────

  writeDirtyRegionLog(volumeId: string, log: DirtyRegionLog, fence: Fence): Promise<void> {
    return this.chain.writeDirtyRegionLog(volumeId, log, fence);
  }

  readDirtyRegionLog(volumeId: string): Promise<DirtyRegionLog | undefined> {
    return this.chain.readDirtyRegionLog(volumeId);
  }

  clearDirtyRegionLog(volumeId: string, fence: Fence): Promise<void> {
    return this.chain.clearDirtyRegionLog(volumeId, fence);
  }

  commitEntry(volumeId: string, entry: ChainEntry, fence: Fence): Promise<void> {
    return this.chain.commitEntry(volumeId, entry, fence);
  }

  appendFixup(volumeId: string, entry: ChainEntry, fence: Fence): Promise<void> {
    return this.chain.appendFixup(volumeId, entry, fence);
  }

  recordBadVersions(volumeId: string, versions: BadVersions, fence: Fence): Promise<void> {
    return this.chain.recordBadVersions(volumeId, versions, fence);
  }

  readBadVersions(volumeId: string): Promise<Map<number, DeltaMap>> {
    return this.chain.readBadVersions(volumeId);
  }

  readChain(volumeId: string, options?: ReadChainOptions): AsyncIterable<ChainEntry> {
    return this.chain.readChain(volumeId, options);
  }

  getEntry(volumeId: string, seq: number): Promise<ChainEntry> {
    return this.chain.getEntry(volumeId, seq);
  }

  pruneEntry(volumeId: string, seq: number, fence: Fence): Promise<PruneEntryResult> {
    return this.chain.pruneEntry(volumeId, seq, fence);
  }

  // ── RunState ───────────────────────────────────────────────────────────────────────────

  putVerifyRun(volumeId: string, run: VerifyRun): Promise<void> {
    return this.runs.putVerifyRun(volumeId, run);
  }

  getVerifyRun(volumeId: string, runId: string): Promise<VerifyRun> {
    return this.runs.getVerifyRun(volumeId, runId);
  }

  putCompareSegment(volumeId: string, runId: string, segment: number, compareMap: DeltaMap): Promise<void> {
    return this.runs.putCompareSegment(volumeId, runId, segment, compareMap);
  }

  readCompareMap(volumeId: string, runId: string, volumeBlocks: number): Promise<CompareMapState> {
    return this.runs.readCompareMap(volumeId, runId, volumeBlocks);
  }

  putBlockDigests(volumeId: string, runId: string, segment: number, digests: Uint8Array, blocks?: DeltaMap): Promise<void> {
    return this.runs.putBlockDigests(volumeId, runId, segment, digests, blocks);
  }

  readBlockDigests(volumeId: string, runId: string): AsyncIterable<SegmentDigests> {
    return this.runs.readBlockDigests(volumeId, runId);
  }

  putRunMap(volumeId: string, runId: string, name: string, segment: number, deltaMap: DeltaMap): Promise<void> {
    return this.runs.putRunMap(volumeId, runId, name, segment, deltaMap);
  }

  readRunMap(volumeId: string, runId: string, name: string, segment: number, volumeBlocks: number): Promise<DeltaMap> {
    return this.runs.readRunMap(volumeId, runId, name, segment, volumeBlocks);
  }

  readRunMapSegments(volumeId: string, runId: string, name: string, volumeBlocks: number): Promise<RunMapState> {
    return this.runs.readRunMapSegments(volumeId, runId, name, volumeBlocks);
  }

  readDigestLayerSegment(volumeId: string, runId: string, segment: number, volumeBlocks: number): Promise<DigestLayerSegment | undefined> {
    return this.runs.readDigestLayerSegment(volumeId, runId, segment, volumeBlocks);
  }

  deleteRunItems(volumeId: string, runId: string, options?: { readonly keepDigests?: boolean }): Promise<void> {
    return this.runs.deleteRunItems(volumeId, runId, options);
  }

  // ── JobHistory ─────────────────────────────────────────────────────────────────────────

  putJobRecord(volumeId: string, record: JobRecord): Promise<void> {
    return this.jobs.putJobRecord(volumeId, record);
  }

  listJobRecords(volumeId: string): Promise<JobRecord[]> {
    return this.jobs.listJobRecords(volumeId);
  }
}

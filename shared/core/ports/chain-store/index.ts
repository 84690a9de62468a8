/**
 * The `ChainStore` port: where the engine keeps what it knows about a protected volume — its
 * protection config, the delta-map chain, the volume lease, the dirty region log of the sync in
 * flight, and verify runs with their compare maps. `shared/aws/chain-store.ts` implements it on
 * one DynamoDB table; tests may implement it in memory.
 *
 * Contract every implementation keeps:
 * - A crash between any two writes leaves either the old state or the new one visible, never a
 *   mix; repeating the interrupted call converges to the new state (every call is idempotent).
 * - Every chain mutation (`commitEntry`, `appendFixup`, `markSuspect`, the DRL writes) carries the
 *   fencing token of the volume lease and fails with `LeaseLostError` once another run took the
 *   lease over, so two jobs on one volume never both commit.
 */
import type { ChainEntry, EntryKind } from '../../chain-entry';
import type { DeltaMap } from '../../delta-map';

/** What a config value may hold: it is stored as is and handed back as is. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Protection settings (secondary region, KMS key, retention, schedules). Validated by the
 * caller (zod at the edge); opaque to the store.
 */
export type ProtectionConfig = Readonly<Record<string, JsonValue>>;

/** Who may mutate a volume's chain, until when. */
export interface VolumeLease {
  /** The process holding it (e.g. a state-machine execution name). */
  readonly holder: string;
  /** The sync / verify / restore run it was taken for. */
  readonly runId: string;
  /** Epoch milliseconds; after this another run may take the lease over. */
  readonly expiresAt: number;
  /** Grows by one at every new grant; commits present it so a superseded holder is refused. */
  readonly fencingToken: number;
}

/** The sync or fix-up in flight: the entry it will commit, minus its delta map (kept in the DRL). */
export interface InFlightEntry {
  readonly runId: string;
  /** The seq the entry will get: head seq + 1. */
  readonly seq: number;
  readonly kind: EntryKind;
  /** `P_seq`, the primary snapshot being copied. */
  readonly primarySnapshotId: string;
  /** `S_seq` once StartSnapshot returned it, so a crashed run's snapshot can be adopted or deleted. */
  readonly secondarySnapshotId?: string;
  /** GiB. */
  readonly volumeSize: number;
  /** When `P_seq` was taken (ISO 8601). */
  readonly pointInTime: string;
}

/** The dirty region log: the blocks of the entry in flight, persisted before any is copied. */
export interface DirtyRegionLog extends InFlightEntry {
  readonly deltaMap: DeltaMap;
}

/** A protected volume as the store's META record describes it. */
export interface ProtectedVolume {
  readonly volumeId: string;
  /** GiB: the largest size any restore point has had. */
  readonly volumeSize: number;
  readonly config: ProtectionConfig;
  /** Seq of the head restore point; undefined until the baseline is committed. */
  readonly headSeq?: number;
  /** The newest primary snapshot kept: the first snapshot of the next ListChangedBlocks. */
  readonly basePrimarySnapshotId?: string;
  readonly lease?: VolumeLease;
  /** The entry in flight when its DRL is live. */
  readonly inFlight?: InFlightEntry;
  /** Optimistic-concurrency version of the record; grows at every change. */
  readonly version: number;
  /**
   * True once `unprotectVolume` started removing the volume's items and a crash cut it short:
   * no job may take the lease; re-running `unprotectVolume` finishes the removal.
   */
  readonly unprotecting?: boolean;
}

export interface ProtectRequest {
  /** GiB. */
  readonly volumeSize: number;
  readonly config: ProtectionConfig;
}

export interface LeaseRequest {
  readonly holder: string;
  readonly runId: string;
  /** How long the lease lasts without renewal. */
  readonly ttlMs: number;
  /** Epoch milliseconds; `Date.now()` when absent (tests pass it to step over expiry). */
  readonly now?: number;
}

export interface LeaseGrant {
  readonly fencingToken: number;
  readonly expiresAt: number;
}

/** Proof of holding the lease, presented with every mutation of the chain. */
export interface Fence {
  readonly fencingToken: number;
}

export interface RenewRequest extends Fence {
  readonly ttlMs: number;
  readonly now?: number;
}

export interface ReadChainOptions {
  /** First seq to read (inclusive); the oldest when absent. */
  readonly fromSeq?: number;
  /** Last seq to read (inclusive); the head (or the pending entry) when absent. */
  readonly toSeq?: number;
  /** `descending` walks back from the head, as the suspect walk does. */
  readonly order?: 'ascending' | 'descending';
  /** Also yield the entry in flight, with `status: 'pending'` and the DRL as its delta map. */
  readonly includePending?: boolean;
}

/** One restore point found to hold bad block versions by a verify's suspect walk. */
export interface SuspectMark {
  readonly seq: number;
  /** Blocks whose bad version this restore point's image holds (> 0). */
  readonly suspectBlocks: number;
}

export type VerifyRunStatus = 'scanning' | 'fixing' | 'walking' | 'clean' | 'repaired' | 'failed';

/** The state of one verify run (steps 1–5 of ARCHITECTURE.md). */
export interface VerifyRun {
  readonly runId: string;
  /** When `P0` was taken (ISO 8601). */
  readonly t0: string;
  /** `P0`: the primary snapshot the scan compares. */
  readonly p0: string;
  /** The head restore point at `T0`, whose secondary snapshot the scan compares. */
  readonly headSeqAtT0: number;
  /** `--quick`: only the DRL's regions are scanned. */
  readonly quick: boolean;
  readonly status: VerifyRunStatus;
  /** Tallies worth showing (blocks scanned, mismatches, fix-up blocks, suspect points…). */
  readonly counts: Readonly<Record<string, number>>;
  /** The final report, when the run ended. */
  readonly result?: JsonValue;
}

/** The compare delta map `C` of a verify run, as far as its scan got. */
export interface CompareMapState {
  readonly deltaMap: DeltaMap;
  /** Segments whose compare shard was written, ascending (a resumed scan skips them). */
  readonly scannedSegments: number[];
}

/** The SHA-256 digests of one segment's written blocks, as `putBlockDigests` stored them. */
export interface SegmentDigests {
  readonly segment: number;
  /** Raw 32-byte digests concatenated, in ascending block order of the blocks written. */
  readonly digests: Uint8Array;
}

/** A per-run segment map (e.g. a restore plan `R` or a verify's revised compare map), as far as written. */
export interface RunMapState {
  readonly deltaMap: DeltaMap;
  /** Segments written, ascending (an empty segment written counts). */
  readonly segments: number[];
}

/** What pruning one restore point did (see `pruneEntry`). */
export interface PruneEntryResult {
  /** The restore point whose delta map now also holds the pruned one's (undefined if it was already pruned). */
  readonly successorSeq?: number;
  /** `S_k` of the pruned point: delete it once nothing references it. */
  readonly secondarySnapshotId?: string;
  /** False when `seq` was already pruned: a retry. */
  readonly pruned: boolean;
}

/** The outcome of one job run, for `status` and the console. */
export interface JobRecord {
  readonly runId: string;
  readonly job: 'sync' | 'verify' | 'restore' | 'prune';
  readonly status: 'succeeded' | 'failed';
  /** ISO 8601. */
  readonly at: string;
  /** The typed error's name when failed (what Step Functions matched on). */
  readonly errorName?: string;
  readonly message?: string;
  readonly summary?: JsonValue;
}

export interface UnprotectRequest {
  /**
   * The caller will delete the restore points' secondary snapshots: their ids are recorded before
   * anything is removed, so a re-run after a crash still hands every one of them back.
   */
  readonly deleteRestorePoints?: boolean;
  /** Epoch milliseconds, to judge whether a lease is live; `Date.now()` when absent. */
  readonly now?: number;
}

/** What `unprotectVolume` removed, and what it leaves to the caller. */
export interface UnprotectResult {
  /** False when there was nothing to remove: the volume was not protected, or a run already finished. */
  readonly removed: boolean;
  /** Restore points the chain held when the removal started. */
  readonly restorePoints: number;
  /**
   * `S_k` of every restore point, oldest first. With `deleteRestorePoints` they are complete even
   * after a crash and re-run, and the caller deletes them; otherwise they are kept (a re-run after
   * a crash lists only the entries the crashed run had not removed yet).
   */
  readonly secondarySnapshotIds: string[];
  /** The primary snapshot kept as the base of the next ListChangedBlocks (`P_head`): now unused. */
  readonly basePrimarySnapshotId?: string;
}

export interface ChainStore {
  /**
   * Registers a volume for protection. Idempotent for the same size and config.
   * @throws VolumeAlreadyProtectedError when it is protected with other settings.
   */
  protectVolume(volumeId: string, request: ProtectRequest): Promise<ProtectedVolume>;

  /** @throws VolumeNotProtectedError */
  getVolume(volumeId: string): Promise<ProtectedVolume>;

  /**
   * Takes the volume lease: when it is free, expired, or already held by the same run
   * (then the same token is returned and the expiry extended).
   * @throws VolumeBusyError when another run holds a live lease.
   */
  acquireLease(volumeId: string, request: LeaseRequest): Promise<LeaseGrant>;

  /** Extends the lease. @throws LeaseLostError when another run took it over. */
  renewLease(volumeId: string, request: RenewRequest): Promise<LeaseGrant>;

  /** Frees the lease if `fence` still holds it; otherwise does nothing (idempotent). */
  releaseLease(volumeId: string, fence: Fence): Promise<void>;

  /**
   * Persists the DRL of the entry in flight (seq = head + 1) before any block is copied.
   * Calling again for the same run replaces it (e.g. to record `secondarySnapshotId`).
   * @throws ChainInvariantError when another run's DRL is live: recover or clear it first.
   */
  writeDirtyRegionLog(volumeId: string, log: DirtyRegionLog, fence: Fence): Promise<void>;

  /** The live DRL, or undefined when no sync is in flight. */
  readDirtyRegionLog(volumeId: string): Promise<DirtyRegionLog | undefined>;

  /** Forgets the entry in flight (a crashed sync's snapshot was discarded). Idempotent. */
  clearDirtyRegionLog(volumeId: string, fence: Fence): Promise<void>;

  /**
   * Commits a `baseline` or `sync` entry (status `committed`) as the new head, clears the DRL,
   * and makes its primary snapshot the base of the next ListChangedBlocks. Idempotent.
   */
  commitEntry(volumeId: string, entry: ChainEntry, fence: Fence): Promise<void>;

  /** Commits a verify's `fixup` entry at the chain's end; otherwise as `commitEntry`. */
  appendFixup(volumeId: string, entry: ChainEntry, fence: Fence): Promise<void>;

  /** Marks committed restore points suspect. Idempotent. */
  markSuspect(volumeId: string, marks: readonly SuspectMark[], fence: Fence): Promise<void>;

  /** Streams chain entries with their delta maps, a page at a time. */
  readChain(volumeId: string, options?: ReadChainOptions): AsyncIterable<ChainEntry>;

  /** @throws RestorePointNotFoundError when `seq` is not a restore point (nor the pending entry). */
  getEntry(volumeId: string, seq: number): Promise<ChainEntry>;

  /** Creates or replaces a verify run's record. */
  putVerifyRun(volumeId: string, run: VerifyRun): Promise<void>;

  /** @throws VerifyRunNotFoundError */
  getVerifyRun(volumeId: string, runId: string): Promise<VerifyRun>;

  /** Records the compare map of one scanned segment (only its blocks are kept). Idempotent. */
  putCompareSegment(volumeId: string, runId: string, segment: number, compareMap: DeltaMap): Promise<void>;

  /** The compare map `C` so far, sized to `volumeBlocks`. */
  readCompareMap(volumeId: string, runId: string, volumeBlocks: number): Promise<CompareMapState>;

  // ── appended for the engine (sync, restore, prune) ─────────────────────────────────────

  /**
   * Persists the digests of the blocks a run wrote to one segment of a snapshot (for the LINEAR
   * aggregate at completion), replacing what an earlier attempt of the same segment stored.
   */
  putBlockDigests(volumeId: string, runId: string, segment: number, digests: Uint8Array): Promise<void>;

  /**
   * Every segment's digests of a run, in ascending segment order.
   * @throws ChainStoreCorruptError when a segment's chunks are incomplete
   */
  readBlockDigests(volumeId: string, runId: string): AsyncIterable<SegmentDigests>;

  /** Stores one segment of a run's named map (only that segment's blocks are kept). Idempotent. */
  putRunMap(volumeId: string, runId: string, name: string, segment: number, deltaMap: DeltaMap): Promise<void>;

  /** One segment of a run's named map, sized to `volumeBlocks`; empty when never written. */
  readRunMap(volumeId: string, runId: string, name: string, segment: number, volumeBlocks: number): Promise<DeltaMap>;

  /** Every written segment of a run's named map, joined. */
  readRunMapSegments(volumeId: string, runId: string, name: string, volumeBlocks: number): Promise<RunMapState>;

  /** Deletes a run's digests and maps once it ended (idempotent; compare shards are kept). */
  deleteRunItems(volumeId: string, runId: string): Promise<void>;

  /**
   * Prunes restore point `seq` (never the head): merges `D_seq` into its successor's delta map,
   * then removes entry `seq` (the successor becomes the baseline when `seq` was it). Crash-safe
   * and idempotent: a crash leaves either the old chain, or the successor holding the union while
   * `seq` still exists (every delta map then a superset, which every algorithm tolerates); the
   * retry finishes. The caller deletes `S_seq` afterwards.
   * @throws RetentionError for the head or a pending entry
   */
  pruneEntry(volumeId: string, seq: number, fence: Fence): Promise<PruneEntryResult>;

  /** Records the outcome of a job run (replaces an earlier record of the same run). */
  putJobRecord(volumeId: string, record: JobRecord): Promise<void>;

  /** The volume's job records, newest first. */
  listJobRecords(volumeId: string): Promise<JobRecord[]>;

  // ── appended for unprotect ──────────────────────────────────────────────────────────────

  /**
   * Forgets a protected volume: removes its chain, DRL, verify runs and job records, META last.
   * First marks META (`unprotecting`), after which no job can take the lease; a crash anywhere
   * leaves a volume that is still protected but refuses jobs, and calling again finishes the
   * removal. Snapshots are not touched: the caller deletes `secondarySnapshotIds` if asked to.
   * Idempotent: once removed, a call answers `removed: false`.
   * @throws VolumeBusyError while a run holds a live lease
   * @throws SyncInFlightError while a DRL is live (a crashed sync the next sync recovers)
   */
  unprotectVolume(volumeId: string, request?: UnprotectRequest): Promise<UnprotectResult>;
}

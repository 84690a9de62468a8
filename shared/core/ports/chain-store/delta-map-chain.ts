/**
 * The `DeltaMapChain` family of the chain store: the chain entries with their delta maps, the
 * dirty region log (DRL) of the entry in flight, the bad versions checks record (trust is derived
 * from them),
 * and pruning restore points.
 */
import type { ChainEntry } from '../../chain-entry';
import type { BadVersions } from '../../bad-versions';
import type { DeltaMap } from '../../delta-map';
import type { Fence, InFlightEntry } from './volume-registry';

/** The dirty region log: the blocks of the entry in flight, persisted before any is copied. */
export interface DirtyRegionLog extends InFlightEntry {
  readonly deltaMap: DeltaMap;
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


/** What pruning one restore point did (see `pruneEntry`). */
export interface PruneEntryResult {
  /** The restore point whose delta map now also holds the pruned one's (undefined if it was already pruned). */
  readonly successorSeq?: number;
  /** `S_k` of the pruned point: delete it once nothing references it. */
  readonly secondarySnapshotId?: string;
  /** False when `seq` was already pruned: a retry. */
  readonly pruned: boolean;
}

/**
 * The delta-map chain of a protected volume. Every mutation carries the lease's fencing token
 * (see `VolumeRegistry`): the DRL persisted before a sync copies, the commit of an entry as the
 * new head, the fix-up appended by a verify, suspect marks, and pruning; reads stream entries
 * with their delta maps.
 */
export interface DeltaMapChain {
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

  /**
   * Adds bad versions `(writer, block)` to the volume's one record of damage (a union: never
   * removes or lowers what an earlier check found). Idempotent. Every entry's `trust` and
   * `suspectBlocks` as `readChain` and `getEntry` return them are derived from this record.
   * @throws RestorePointNotFoundError when a writer is not a committed restore point
   */
  recordBadVersions(volumeId: string, versions: BadVersions, fence: Fence): Promise<void>;

  /** The volume's bad versions (an empty map when nothing was ever found bad). */
  readBadVersions(volumeId: string): Promise<Map<number, DeltaMap>>;

  /** Streams chain entries with their delta maps, a page at a time. */
  readChain(volumeId: string, options?: ReadChainOptions): AsyncIterable<ChainEntry>;

  /** @throws RestorePointNotFoundError when `seq` is not a restore point (nor the pending entry). */
  getEntry(volumeId: string, seq: number): Promise<ChainEntry>;

  /**
   * Prunes restore point `seq` (never the head): merges `D_seq` into its successor's delta map,
   * then removes entry `seq` (the successor becomes the baseline when `seq` was it). Crash-safe
   * and idempotent: a crash leaves either the old chain, or the successor holding the union while
   * `seq` still exists (every delta map then a superset, which every algorithm tolerates); the
   * retry finishes. The caller deletes `S_seq` afterwards.
   * @throws RetentionError for the head or a pending entry
   */
  pruneEntry(volumeId: string, seq: number, fence: Fence): Promise<PruneEntryResult>;
}

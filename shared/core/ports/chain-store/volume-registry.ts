/**
 * The `VolumeRegistry` family of the chain store: which volumes are protected (the META record:
 * config, size, head, base primary snapshot), the volume lease that fences every chain mutation,
 * and unprotecting a volume.
 */
import type { EntryKind } from '../../chain-entry';
import type { JsonValue } from './json-value';

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

/** The lease `unlock` found and confirmed dead: only that exact grant may be broken. */
export interface BreakLeaseRequest {
  readonly expectedFencingToken: number;
}

/** What {@link VolumeRegistry.breakLease} did. */
export interface BreakLeaseResult {
  /** True when it cleared the expected lease; false when that lease was gone already. */
  readonly broken: boolean;
  /** The lease in place now when it was not the expected one (another run took the volume since). */
  readonly lease?: VolumeLease;
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

/**
 * Protected volumes and their lease: registering a volume, reading its META, taking, renewing
 * and freeing the lease whose fencing token every chain mutation presents, and forgetting the
 * volume with everything stored under it.
 */
export interface VolumeRegistry {
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
   * Breaks a dead run's lease (`ebs-cdp unlock`, after Step Functions confirmed that its
   * execution no longer runs): clears it only if it is still the grant with
   * `expectedFencingToken`, so a run that took the volume since keeps its lease. Idempotent.
   */
  breakLease(volumeId: string, request: BreakLeaseRequest): Promise<BreakLeaseResult>;

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

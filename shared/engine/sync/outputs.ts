/** What the Sync job's steps answer (plain JSON, the next state's input). */
import type { EntryKind } from '../../core/chain-entry';

/** What happened to a crashed run's entry in flight. */
export interface RecoveryOutcome {
  readonly seq: number;
  /** The crashed run. */
  readonly runId: string;
  readonly outcome: 'resumed' | 'adopted' | 'discarded';
  /** Why, for the log and the report. */
  readonly reason: string;
  /**
   * `adopted`: the restore point the recovery committed, as a sync reports its commit. A run whose
   * own plan then finds nothing new ends with it (it did make a restore point), not as unchanged.
   */
  readonly commit?: SyncSummary;
}

export interface SyncBeginOutput {
  /** `recover`: the copy of a crashed run's pending secondary resumes (same path through SyncPlan). */
  readonly action: 'sync' | 'recover';
  readonly volumeId: string;
  readonly runId: string;
  readonly fencingToken: number;
  /** `P_now` (for `recover`: the crashed run's `P_seq`); wait for it with SnapshotStatus. */
  readonly primarySnapshotId: string;
  readonly pointInTime: string;
  readonly recovery?: RecoveryOutcome;
}

/** SyncBegin's answer with `onBusy: 'skip'` when another run holds a live lease: nothing was changed. */
export interface SyncBusyOutput {
  readonly action: 'busy';
  readonly volumeId: string;
  /** Who holds the lease (its execution) and the run id it holds it with: `VolumeBusyError`'s fields. */
  readonly holder: string;
  readonly holderRunId: string;
  readonly expiresAt: number;
}

export interface SyncPlanOutput {
  /**
   * `unchanged`: `D` was empty (nothing written since the head restore point), so no restore
   * point is made: the lease is released and `P_now` deleted; the machine ends here. Then
   * `segments` is empty, `blocks` 0, `secondarySnapshotId` empty and `seq` the head's.
   */
  readonly skipped?: 'unchanged';
  readonly volumeId: string;
  readonly runId: string;
  readonly fencingToken: number;
  readonly seq: number;
  readonly kind: EntryKind;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
  /** GiB of `P_now` and of the new secondary snapshot. */
  readonly volumeSize: number;
  /** Segments holding blocks of `D`: one Map item each. */
  readonly segments: number[];
  /** Blocks of `D`. */
  readonly blocks: number;
}

export interface SyncSummary {
  readonly volumeId: string;
  readonly seq: number;
  readonly kind: EntryKind;
  readonly blocks: number;
  readonly volumeSize: number;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
  /** Primary snapshots of earlier syncs deleted (only the newest is kept). */
  readonly deletedPrimarySnapshotIds: string[];
}

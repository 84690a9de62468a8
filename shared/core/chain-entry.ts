import type { DeltaMap } from './delta-map';

/** How a chain entry came to be: the first full copy, a scheduled sync, or a verify's repair. */
export type EntryKind = 'baseline' | 'sync' | 'fixup';

/** `pending` while its secondary snapshot is being written; `committed` once it is a restore point. */
export type EntryStatus = 'pending' | 'committed';

/** `suspect` when a verify found that this restore point's image holds a bad block version. */
export type Trust = 'trusted' | 'suspect';

/**
 * One entry of the delta-map chain, i.e. restore point `seq` once committed.
 *
 * `deltaMap` is `D_seq`: the blocks that differ between the image of restore point `seq - 1`
 * and this one (for the baseline: every block allocated in `P_0`). The secondary snapshot
 * `S_seq` is a full image equal to the primary snapshot `P_seq` it was copied from.
 */
export interface ChainEntry {
  /**
   * Restore-point number: 0 is the first baseline, then 1, 2, … strictly ascending. Pruning never
   * renumbers (people refer to restore points by seq), so a pruned chain has gaps: 3, 5, 6.
   */
  readonly seq: number;
  readonly kind: EntryKind;
  /** `D_seq`, in blocks of a volume of `volumeSize` GiB. */
  readonly deltaMap: DeltaMap;
  /** `P_seq`: the primary snapshot this restore point was copied from. */
  readonly primarySnapshotId: string;
  /** `S_seq`: the secondary snapshot holding the full image of this restore point. */
  readonly secondarySnapshotId: string;
  /** Volume size in GiB at this restore point (volumes grow, never shrink). */
  readonly volumeSize: number;
  readonly status: EntryStatus;
  readonly trust: Trust;
  /** When suspect: how many blocks of this image hold a bad version (0 when trusted). */
  readonly suspectBlocks: number;
  /** The point in time: when `P_seq` was taken (ISO 8601). */
  readonly pointInTime: string;
  /** When the entry was committed (ISO 8601); absent while pending. */
  readonly committedAt?: string;
  /**
   * The digest manifest (ARCHITECTURE.md "Verify"): the runs whose persisted digests hold the
   * SHA-256 of every block `D_seq` lists, own run first; a prune appends the pruned entry's
   * layers, whose digests count only where no earlier layer lists the block. Absent for entries
   * committed before manifests existed (a scrub cannot check them).
   */
  readonly manifestLayers?: readonly string[];
}

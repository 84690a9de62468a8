/**
 * Restore (claims 12, 24): choosing a restore point, and the plan of blocks that turns the
 * primary's current image back into that point's image.
 *
 * ```
 * chain:    S_k ── D_{k+1} ── … ── D_head ── (primary keeps writing) ── P_now
 * R = D_{k+1} ∪ … ∪ D_head ∪ changes(P_head → P_now)
 * target = new snapshot, parent P_now, with every block of R read from S_k
 * ```
 * Every block outside `R` already holds its version of point `k` in `P_now`, so the cost of a
 * delta restore grows with what changed since `k`, not with the volume size.
 */
import type { ChainEntry } from './chain-entry';
import { type Chain, changesBetween, findEntry, headEntry, restorePoints, toInstant, validateChain } from './chain';
import { volumeBlocks } from './constants';
import { DeltaMap } from './delta-map';
import { ChainInvariantError, RestorePointNotFoundError, SuspectRestorePointError } from './errors';

/** A restore point by its seq, or the newest one at or before a time (ISO 8601). */
export type RestorePointSelector = { readonly seq: number } | { readonly at: string };

/** Options of {@link selectRestorePoint}. */
export interface SelectRestorePointOptions {
  /** Allow a suspect restore point (the CLI's `--allow-suspect`). */
  readonly allowSuspect?: boolean;
}

/** The chosen restore point, and the newer suspect points a selection by time passed over. */
export interface RestorePointSelection {
  readonly restorePoint: ChainEntry;
  /** Seqs of suspect points at or before the time and newer than the chosen one (ascending). */
  readonly skippedSuspect: readonly number[];
}

/**
 * Chooses a restore point. By seq: it must exist and be committed. By time: the newest trusted
 * restore point whose `pointInTime` is at or before it. A suspect point is chosen only with
 * `allowSuspect`, which for a selection by time also lets the newest point win whatever its trust.
 *
 * @throws RestorePointNotFoundError when no restore point matches
 * @throws SuspectRestorePointError when the seq names a suspect point and `allowSuspect` is not set
 * @example
 * selectRestorePoint(chain, { at: '2026-03-01T12:00:00Z' }).restorePoint.seq
 */
export function selectRestorePoint(
  chain: Chain,
  selector: RestorePointSelector,
  options: SelectRestorePointOptions = {},
): RestorePointSelection {
  validateChain(chain);
  const allowSuspect = options.allowSuspect === true;
  if ('seq' in selector) {
    const entry = findEntry(chain, selector.seq);
    if (entry === undefined) {
      throw new RestorePointNotFoundError(`restore point ${selector.seq} does not exist; run 'ebs-cdp points' to list them`, { seq: selector.seq });
    }
    if (entry.status !== 'committed') {
      throw new RestorePointNotFoundError(
        `restore point ${selector.seq} is still pending (its copy has not committed); pick a committed point or wait for it to commit`,
        { seq: selector.seq },
      );
    }
    if (entry.trust === 'suspect' && !allowSuspect) {
      throw new SuspectRestorePointError(
        `restore point ${entry.seq} is suspect (${entry.suspectBlocks} bad blocks); pick another point or pass --allow-suspect`,
        { seq: entry.seq, snapshotId: entry.secondarySnapshotId },
      );
    }
    return { restorePoint: entry, skippedSuspect: [] };
  }
  const at = toInstant(selector.at, 'restore time');
  const candidates = restorePoints(chain).filter((entry) => toInstant(entry.pointInTime) <= at);
  const eligible = allowSuspect ? candidates : candidates.filter((entry) => entry.trust === 'trusted');
  const chosen = eligible[eligible.length - 1];
  if (chosen === undefined) {
    const suspects = candidates.map((entry) => entry.seq);
    const hint = suspects.length > 0
      ? `; restore points ${suspects.join(', ')} are suspect: pick one by seq with --allow-suspect`
      : "; run 'ebs-cdp points' to list them";
    throw new RestorePointNotFoundError(`no trusted restore point at or before ${selector.at}${hint}`);
  }
  const skippedSuspect = candidates.filter((entry) => entry.seq > chosen.seq).map((entry) => entry.seq);
  return { restorePoint: chosen, skippedSuspect };
}

/** The primary as it is now, for a delta restore. */
export interface CurrentPrimary {
  /** `P_now`: a fresh snapshot of the primary, parent of the restore's target snapshot. */
  readonly snapshotId: string;
  /** The primary's volume size now, in GiB (at least the head's). */
  readonly volumeSize: number;
  /** `changes(P_head → P_now)`, sized to `volumeSize`. */
  readonly presentDeltaMap: DeltaMap;
}

/** Write the blocks of `R` from `S_k` into a new snapshot whose parent is `P_now`. */
export interface DeltaRestorePlan {
  readonly mode: 'delta';
  /** `k` */
  readonly restorePoint: number;
  /** `S_k`: where every block of `blocksToRead` is read (an unlisted block is written as zeros). */
  readonly sourceSnapshotId: string;
  /** `P_now`: the parent of the target snapshot. */
  readonly parentSnapshotId: string;
  /** Volume size of the target in GiB: `P_now`'s, since a child may not be smaller than its parent. */
  readonly volumeSize: number;
  /** `R`: every block to write. */
  readonly blocks: DeltaMap;
  /** The blocks of `R` inside `S_k`'s volume: read them from `S_k`. */
  readonly blocksToRead: DeltaMap;
  /** The blocks of `R` beyond `S_k`'s volume (the volume grew since `k`): write them as zeros. */
  readonly beyondSource: DeltaMap;
}

/** The primary lineage is gone: create the volume from `S_k` itself. */
export interface FullRestorePlan {
  readonly mode: 'full';
  readonly restorePoint: number;
  readonly sourceSnapshotId: string;
  readonly volumeSize: number;
}

export type RestorePlan = DeltaRestorePlan | FullRestorePlan;

/**
 * Plans the restore of point `k`. With the current primary, a delta restore of
 * `R = D_{k+1} ∪ … ∪ D_head ∪ changes(P_head → P_now)`; without it (the primary lineage is
 * gone), a full restore from `S_k`.
 *
 * @param seq - `k`, usually from {@link selectRestorePoint}
 * @param current - the primary now, or undefined when its lineage is gone
 * @throws RestorePointNotFoundError when `k` is not a committed restore point
 * @throws ChainInvariantError when the current primary is smaller than the head, or its present delta map is sized wrong
 */
export function restorePlan(chain: Chain, seq: number, current: CurrentPrimary | undefined): RestorePlan {
  validateChain(chain);
  const point = findEntry(chain, seq);
  if (point?.status !== 'committed') {
    throw new RestorePointNotFoundError(`restore point ${seq} is not a committed restore point; run 'ebs-cdp points' to list them`, { seq });
  }
  if (current === undefined) {
    return { mode: 'full', restorePoint: seq, sourceSnapshotId: point.secondarySnapshotId, volumeSize: point.volumeSize };
  }
  const head = headEntry(chain);
  const targetBlocks = volumeBlocks(current.volumeSize);
  if (current.volumeSize < head.volumeSize) {
    throw new ChainInvariantError(
      `the primary is ${current.volumeSize} GiB but was ${head.volumeSize} GiB at restore point ${head.seq}: volumes only grow`,
      { seq: head.seq, snapshotId: current.snapshotId },
    );
  }
  if (current.presentDeltaMap.volumeBlocks !== targetBlocks) {
    throw new ChainInvariantError(
      `the present delta map covers ${current.presentDeltaMap.volumeBlocks} blocks; a ${current.volumeSize} GiB primary needs ${targetBlocks}`,
      { snapshotId: current.snapshotId },
    );
  }
  const blocks = changesBetween(chain, seq, head.seq, targetBlocks).union(current.presentDeltaMap);
  const sourceBlocks = volumeBlocks(point.volumeSize);
  const beyondSource = sourceBlocks < targetBlocks
    ? blocks.intersect(DeltaMap.empty(targetBlocks).addRange(sourceBlocks, targetBlocks))
    : DeltaMap.empty(targetBlocks);
  return {
    mode: 'delta',
    restorePoint: seq,
    sourceSnapshotId: point.secondarySnapshotId,
    parentSnapshotId: current.snapshotId,
    volumeSize: current.volumeSize,
    blocks,
    blocksToRead: blocks.subtract(beyondSource),
    beyondSource,
  };
}

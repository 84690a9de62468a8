/**
 * The delta-map chain as a value: validation, head/baseline look-ups, and the bookkeeping of
 * appending a pending entry and committing it. Every function is pure: it takes the chain as
 * an array ordered by `seq` and returns a new array, never mutating its input.
 *
 * Invariants (checked by {@link validateChain}):
 * - `seq` strictly ascends. Seqs are restore-point ids shown to people, so pruning leaves a gap
 *   rather than renumbering: `3, 5, 6` is a valid chain once point 4 was pruned.
 * - the first entry is the baseline (`kind: 'baseline'`), and only the first;
 * - only the last entry may be `pending` (one sync or fix-up in flight at a time, under the lease);
 * - a committed entry has `committedAt`; a pending one has not and is trusted;
 * - `volumeSize` never decreases, and `deltaMap` is sized to its entry's `volumeSize`;
 * - `pointInTime` and `committedAt` never go backwards;
 * - `trust: 'suspect'` exactly when `suspectBlocks > 0`.
 */
import type { ChainEntry, EntryKind } from './chain-entry';
import { volumeBlocks } from './constants';
import { DeltaMap } from './delta-map';
import { ChainInvariantError, InvalidTimeError } from './errors';

/** The chain of one protected volume, ordered by ascending `seq`. */
export type Chain = readonly ChainEntry[];

/**
 * ISO 8601 with an explicit zone (or a bare date, which JavaScript reads as UTC). A time without
 * a zone would be read in the local zone of whatever machine runs the code, so it is refused.
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/**
 * Milliseconds since the epoch of an ISO 8601 time, so that times in different zones or with
 * different precision compare as instants rather than as strings.
 *
 * @param iso - e.g. `2026-01-02T03:04:05.000Z` or `2026-01-02T04:04:05+01:00`
 * @param what - names the value in the error message
 * @throws InvalidTimeError when `iso` has no zone or is not a date
 */
export function toInstant(iso: string, what = 'time'): number {
  const ms = ISO_INSTANT.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidTimeError(`${what} '${iso}' is not an ISO 8601 time with a zone, e.g. 2026-01-02T03:04:05Z`);
  }
  return ms;
}

/**
 * Checks every invariant of the chain (see the module comment).
 *
 * @throws ChainInvariantError naming the first entry that breaks one
 */
export function validateChain(chain: Chain): void {
  let previous: ChainEntry | undefined;
  let lastCommittedAt = Number.NEGATIVE_INFINITY;
  for (const [position, entry] of chain.entries()) {
    const fail = (why: string): never => {
      throw new ChainInvariantError(`chain entry ${entry.seq}: ${why}`, { seq: entry.seq });
    };
    if (!Number.isSafeInteger(entry.seq) || entry.seq < 0) fail('seq must be a non-negative integer');
    if (previous !== undefined && entry.seq <= previous.seq) fail(`seq must ascend (follows ${previous.seq})`);
    if ((position === 0) !== (entry.kind === 'baseline')) {
      fail(position === 0 ? 'the first entry must be the baseline' : 'only the first entry may be a baseline');
    }
    if (entry.status === 'pending' && position !== chain.length - 1) fail('only the last entry may be pending');
    if (!Number.isSafeInteger(entry.volumeSize) || entry.volumeSize <= 0) fail('volumeSize must be a positive integer (GiB)');
    if (previous !== undefined && entry.volumeSize < previous.volumeSize) fail('volumeSize shrank (volumes only grow)');
    if (entry.deltaMap.volumeBlocks !== volumeBlocks(entry.volumeSize)) {
      fail(`delta map covers ${entry.deltaMap.volumeBlocks} blocks, volumeSize ${entry.volumeSize} GiB needs ${volumeBlocks(entry.volumeSize)}`);
    }
    const pointInTime = toInstant(entry.pointInTime, `pointInTime of entry ${entry.seq}`);
    if (previous !== undefined && pointInTime < toInstant(previous.pointInTime)) fail('pointInTime goes backwards');
    if (entry.status === 'committed') {
      if (entry.committedAt === undefined) fail('a committed entry needs committedAt');
      else {
        const committedAt = toInstant(entry.committedAt, `committedAt of entry ${entry.seq}`);
        if (committedAt < lastCommittedAt) fail('committedAt goes backwards');
        lastCommittedAt = committedAt;
      }
    } else if (entry.committedAt !== undefined) fail('a pending entry has no committedAt');
    if (!Number.isSafeInteger(entry.suspectBlocks) || entry.suspectBlocks < 0) fail('suspectBlocks must be a non-negative integer');
    if ((entry.trust === 'suspect') !== (entry.suspectBlocks > 0)) fail('trust is suspect exactly when suspectBlocks > 0');
    if (entry.status === 'pending' && entry.trust !== 'trusted') fail('a pending entry cannot be suspect');
    previous = entry;
  }
}

/** The entry with this `seq`, if the chain holds it. */
export function findEntry(chain: Chain, seq: number): ChainEntry | undefined {
  return chain.find((entry) => entry.seq === seq);
}

/** The committed entries: the restore points. */
export function restorePoints(chain: Chain): ChainEntry[] {
  return chain.filter((entry) => entry.status === 'committed');
}

/**
 * The head restore point: the last committed entry. `S_head` is the parent of the next
 * secondary snapshot and `P_head` the base of the next ListChangedBlocks.
 *
 * @throws ChainInvariantError when nothing is committed yet
 */
export function headEntry(chain: Chain): ChainEntry {
  const points = restorePoints(chain);
  const head = points[points.length - 1];
  if (head === undefined) throw new ChainInvariantError('the chain has no committed entry yet: run a sync first');
  return head;
}

/**
 * The baseline: the first entry (after pruning, the first remaining one, whose delta map then
 * holds every block written up to it).
 *
 * @throws ChainInvariantError when the chain is empty
 */
export function baselineEntry(chain: Chain): ChainEntry {
  const baseline = chain[0];
  if (baseline === undefined) throw new ChainInvariantError('the chain is empty: run a sync first');
  return baseline;
}

/** The entry in flight (a sync or fix-up not yet committed), if any. */
export function pendingEntry(chain: Chain): ChainEntry | undefined {
  const last = chain[chain.length - 1];
  return last?.status === 'pending' ? last : undefined;
}

/** The `seq` the next appended entry gets: one past the last, 0 for an empty chain. */
export function nextSeq(chain: Chain): number {
  const last = chain[chain.length - 1];
  return last === undefined ? 0 : last.seq + 1;
}

/**
 * `D_{from+1} ∪ … ∪ D_to` over the entries present in the chain: every block whose version may
 * differ between the images of restore points `from` and `to`. Because pruning merges a pruned
 * delta map into its successor, a gap in seqs loses nothing.
 *
 * @param volumeBlocksAtLeast - size of the result when no entry is larger (the caller's volume)
 */
export function changesBetween(chain: Chain, fromSeq: number, toSeq: number, volumeBlocksAtLeast: number): DeltaMap {
  let changes = DeltaMap.empty(volumeBlocksAtLeast);
  for (const entry of chain) {
    if (entry.seq > fromSeq && entry.seq <= toSeq) changes = changes.union(entry.deltaMap);
  }
  return changes;
}

/**
 * The present delta map `changes(P_head → P_now)`, sized to the primary's current volume, from
 * the block indexes ListChangedBlocks reported. A volume that grew since the head reports the
 * written blocks of its new region as changed (the head's snapshot lacks them), so the map must
 * be sized to the current volume, never the head's.
 *
 * @throws ChainInvariantError when the volume is smaller than at the head (volumes only grow)
 * @throws BlockRangeError when a block lies outside the current volume
 */
export function presentDeltaMap(head: ChainEntry, volumeSize: number, changedBlocks: Iterable<number>): DeltaMap {
  if (volumeSize < head.volumeSize) {
    throw new ChainInvariantError(
      `the primary is ${volumeSize} GiB but was ${head.volumeSize} GiB at restore point ${head.seq}: volumes only grow`,
      { seq: head.seq },
    );
  }
  return DeltaMap.of(volumeBlocks(volumeSize), changedBlocks);
}

/** What a sync or fix-up knows when it persists its entry, before copying. */
export interface EntryDraft {
  readonly kind: EntryKind;
  readonly deltaMap: DeltaMap;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
  readonly volumeSize: number;
  readonly pointInTime: string;
}

/**
 * Appends a pending entry at `nextSeq(chain)`: the first entry of a chain is the baseline,
 * every later one a sync or a fix-up. The copy into its secondary snapshot happens after this,
 * so a crash leaves a pending tail that tells what was in flight.
 *
 * @returns the new chain and the appended entry
 * @throws ChainInvariantError when an entry is already in flight, or the draft breaks an invariant
 */
export function appendPending(chain: Chain, draft: EntryDraft): { chain: Chain; entry: ChainEntry } {
  const inFlight = pendingEntry(chain);
  if (inFlight !== undefined) {
    throw new ChainInvariantError(
      `entry ${inFlight.seq} is still pending: commit or discard it before appending another`,
      { seq: inFlight.seq },
    );
  }
  const entry: ChainEntry = {
    seq: nextSeq(chain),
    kind: draft.kind,
    deltaMap: draft.deltaMap,
    primarySnapshotId: draft.primarySnapshotId,
    secondarySnapshotId: draft.secondarySnapshotId,
    volumeSize: draft.volumeSize,
    status: 'pending',
    trust: 'trusted',
    suspectBlocks: 0,
    pointInTime: draft.pointInTime,
  };
  const next = [...chain, entry];
  validateChain(next);
  return { chain: next, entry };
}

/**
 * Commits the pending entry `seq`, which makes it a restore point and the new head.
 * Committing an entry that is already committed returns the chain unchanged (the first commit
 * time wins), so a retried commit step is harmless.
 *
 * @throws ChainInvariantError when `seq` is not in the chain
 */
export function commitEntry(chain: Chain, seq: number, committedAt: string): Chain {
  const entry = findEntry(chain, seq);
  if (entry === undefined) throw new ChainInvariantError(`cannot commit entry ${seq}: not in the chain`, { seq });
  if (entry.status === 'committed') return chain;
  const next = chain.map((candidate) => (candidate.seq === seq ? { ...candidate, status: 'committed' as const, committedAt } : candidate));
  validateChain(next);
  return next;
}

/**
 * Drops the pending tail (a sync whose secondary snapshot is discarded rather than adopted).
 *
 * @returns the chain without it, and the dropped entry (undefined when nothing was pending)
 */
export function discardPending(chain: Chain): { chain: Chain; discarded?: ChainEntry } {
  const discarded = pendingEntry(chain);
  return discarded === undefined ? { chain } : { chain: chain.slice(0, -1), discarded };
}

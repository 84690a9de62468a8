/**
 * The arithmetic of a full check (ARCHITECTURE.md, Verify): the fewest block reads it needs,
 * derived from the chain, and the `verify.*` figures of `bench/verify-cost.ts`. Pure: no I/O, so
 * `test/unit/bench/full-check.test.ts` checks it against hand computations.
 *
 * A full check = a primary scan (the primary's Region) + a full scrub (the secondary's Region).
 * Its minimum, in GetSnapshotBlock calls:
 *
 * ```
 *   primary scan   one read per block allocated in the primary at T0      = |∪ D_n|   over retained n
 *   scrub          one read per retained stored version (n, b ∈ D_n)      = Σ |D_n|   over retained n
 * ```
 *
 * `∪ D_n` is the primary's allocation at T0 when nothing changed since the head (`D0 = ∅`) and no
 * block was ever trimmed: the baseline lists every allocated block and each later entry every block
 * that changed, a newly allocated one included; a prune merges `D_k` into `D_{k+1}`, so the union
 * over the retained entries is the union over all of them. Pending entries are not restore points:
 * neither the scan nor the scrub reads them.
 */
import type { ChainEntry } from '../shared/core/chain-entry';
import { DeltaMap } from '../shared/core/delta-map';
import { BLOCK_SIZE } from '../shared/core/constants';
import { atMost, CONTEXT, exactly, type MeasuredFigure } from './summary';

/** The goal of the issue for Get calls: within 1 % of the minimum. */
export const GETS_GOAL = 1.01;

/** What the minimum is computed from: a chain entry's status and delta map. */
export type ChainMaps = Pick<ChainEntry, 'status' | 'deltaMap'>;

/** The fewest GetSnapshotBlock calls of a full check, by job. */
export interface FullCheckMinimum {
  /** Committed (retained) restore points. */
  readonly retainedPoints: number;
  /** `|∪ D_n|`: blocks allocated in the primary at T0 (with `D0 = ∅`). */
  readonly primaryScan: number;
  /** `Σ |D_n|`: stored versions the retained points hold. */
  readonly scrub: number;
  readonly total: number;
}

/**
 * The minimum of a full check of the chain `entries` (any order; pending entries skipped). The
 * union is sized to the largest entry's volume (volumes grow, never shrink).
 */
export function fullCheckMinimum(entries: Iterable<ChainMaps>): FullCheckMinimum {
  const committed = [...entries].filter((entry) => entry.status === 'committed');
  const volumeBlocks = committed.reduce((largest, entry) => Math.max(largest, entry.deltaMap.volumeBlocks), 0);
  const allocated = DeltaMap.empty(volumeBlocks);
  let scrub = 0;
  for (const entry of committed) {
    allocated.addAll(entry.deltaMap);
    scrub += entry.deltaMap.size;
  }
  return { retainedPoints: committed.length, primaryScan: allocated.size, scrub, total: allocated.size + scrub };
}

/** Block reads of one job, split by the side (Region) the reader is on. */
export interface SideReads {
  readonly primaryGets: number;
  readonly primaryBytes: number;
  readonly secondaryGets: number;
  readonly secondaryBytes: number;
}

/** What a full check measured: today's full verify (primary's Region) and the full scrub (secondary's). */
export interface FullCheckMeasured {
  readonly verify: SideReads;
  readonly scrub: SideReads;
}

/** The figures of a full check, ready for the summary, and the raw counts behind them. */
export interface FullCheckFigures {
  /** Block bytes that cross Regions: the verify's secondary reads plus the scrub's primary reads. */
  readonly crossRegionBytes: number;
  readonly verifyGets: number;
  readonly scrubGets: number;
  readonly totalGets: number;
  readonly figures: Record<string, MeasuredFigure>;
}

const getsOf = (reads: SideReads): number => reads.primaryGets + reads.secondaryGets;

/**
 * The `verify.*` figures: cross-Region block bytes (goal 0), Gets ÷ the minimum (≤ 1.01), the
 * scrub's Gets ÷ the stored versions (≤ 1.01), and for context the verify's Gets ÷ the primary
 * scan's minimum and the verify's and scrub's shares of the Gets.
 *
 * @throws RangeError when the minimum is empty (no block to check: every ratio would divide by zero)
 */
export function fullCheckFigures(measured: FullCheckMeasured, minimum: FullCheckMinimum): FullCheckFigures {
  if (minimum.primaryScan === 0 || minimum.scrub === 0) {
    throw new RangeError(`a full check of a chain with no block (${minimum.primaryScan} allocated, ${minimum.scrub} stored versions) has no ratio to report`);
  }
  const verifyGets = getsOf(measured.verify);
  const scrubGets = getsOf(measured.scrub);
  const totalGets = verifyGets + scrubGets;
  // The verify's Lambdas run in the primary's Region, the scrub's in the secondary's: what each
  // reads from the other side is what crosses.
  const crossRegionBytes = measured.verify.secondaryBytes + measured.scrub.primaryBytes;
  return {
    crossRegionBytes,
    verifyGets,
    scrubGets,
    totalGets,
    figures: {
      'verify.cross_region_block_bytes': { value: crossRegionBytes, goal: exactly(0) },
      'verify.gets_vs_minimum': { value: totalGets / minimum.total, goal: atMost(GETS_GOAL) },
      'verify.scrub_gets_vs_versions': { value: scrubGets / minimum.scrub, goal: atMost(GETS_GOAL) },
      'verify.verify_gets_vs_primary_scan': { value: verifyGets / minimum.primaryScan, goal: CONTEXT },
      'verify.gets_share.verify': { value: totalGets === 0 ? 0 : verifyGets / totalGets, goal: CONTEXT },
      'verify.gets_share.scrub': { value: totalGets === 0 ? 0 : scrubGets / totalGets, goal: CONTEXT },
    },
  };
}

/** Bytes of `blocks` whole blocks (the unit every GetSnapshotBlock returns). */
export function blockBytes(blocks: number): number {
  return blocks * BLOCK_SIZE;
}

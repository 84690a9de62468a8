/**
 * The cost model: monthly cost of protecting a volume with ebs-cdp (syncs at an RPO, full and
 * quick verifies) and of an EBS snapshot schedule with cross-Region copy doing the same
 * protection, from per-job call counts (measured by the benches) and list prices. Pure: no I/O.
 *
 * Assumptions (stated so they can be argued with):
 * - the volume is fully allocated; each changed block changes once per day, so every changed
 *   block is copied once per day whatever the RPO (a workload that rewrites hot blocks within
 *   a day costs less in Get/Put at a longer RPO);
 * - storage: ebs-cdp keeps one primary snapshot (a full image) and the secondary lineage (a full
 *   image plus the changes retained); a schedule keeps the same in the source and the copy Region;
 * - cross-Region transfer is priced on the bytes copied across (changed blocks; for a full
 *   verify, one side read across); one-time first copies are left out of both;
 * - Lambda and DynamoDB are not priced (EBS-FACTS.md lists no price for them); the scale bench
 *   shows their volume.
 */
import { BLOCK_SIZE, BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT } from '../shared/core/constants';

/** Prices in USD (us-east-1 list, EBS-FACTS.md; cross-Region transfer: AWS's inter-Region rate). */
export interface Prices {
  readonly listPer1000: number;
  readonly getBlockPer1000: number;
  readonly putBlockPer1000: number;
  readonly storagePerGbMonth: number;
  readonly transitionsPer1000: number;
  readonly crossRegionPerGb: number;
}

export const LIST_PRICES: Prices = {
  listPer1000: 0.0006,
  getBlockPer1000: 0.003,
  putBlockPer1000: 0.006,
  storagePerGbMonth: 0.05,
  transitionsPer1000: 0.025,
  // Not in EBS-FACTS.md: AWS's list price for data transfer between US Regions.
  crossRegionPerGb: 0.02,
};

/** Calls and transitions of one job, as the benches count them. */
export interface JobCounts {
  /** List calls that do not grow with the segments (ListChangedBlocks of the plan). */
  readonly listCallsFixed: number;
  /** List calls per segment item (its source and target listings). */
  readonly listCallsPerSegment: number;
  /** State transitions that do not grow with the segments. */
  readonly transitionsFixed: number;
  /** State transitions per Map item. */
  readonly transitionsPerSegment: number;
}

export interface ProtectionScenario {
  readonly volumeGiB: number;
  /** Fraction of the volume's blocks changed per day (0.01 = 1 %). */
  readonly dailyChangeFraction: number;
  readonly rpoMinutes: number;
  /** Days restore points are kept. */
  readonly retentionDays: number;
  readonly fullVerifiesPerMonth: number;
  readonly quickVerifiesPerMonth: number;
  readonly daysPerMonth: number;
}

export interface CostBreakdown {
  readonly blockApis: number;
  readonly listApis: number;
  readonly stepFunctions: number;
  readonly storage: number;
  readonly transfer: number;
  readonly total: number;
}

const MINUTES_PER_DAY = 1_440;
const PER_THOUSAND = 1_000;
/** Bytes per GB as AWS bills snapshot storage and transfer (GiB, which AWS writes "GB"). */
const BYTES_PER_GB = 1_073_741_824;

function withTotal(parts: Omit<CostBreakdown, 'total'>): CostBreakdown {
  return { ...parts, total: parts.blockApis + parts.listApis + parts.stepFunctions + parts.storage + parts.transfer };
}

/** Segments of a volume of `volumeGiB`. */
function segmentsOf(volumeGiB: number): number {
  return Math.ceil((volumeGiB * BLOCKS_PER_GIB) / BLOCKS_PER_SEGMENT);
}

/**
 * Monthly cost of ebs-cdp for `scenario`: every sync touches every segment (changes are spread),
 * a full verify reads both sides of every allocated block, a quick verify both sides of one
 * sync's blocks.
 */
export function cdpMonthlyCost(scenario: ProtectionScenario, counts: { sync: JobCounts; verify: JobCounts }, prices: Prices = LIST_PRICES): CostBreakdown {
  const volumeBlocks = scenario.volumeGiB * BLOCKS_PER_GIB;
  const segments = segmentsOf(scenario.volumeGiB);
  const changedPerDay = volumeBlocks * scenario.dailyChangeFraction;
  const syncsPerDay = MINUTES_PER_DAY / scenario.rpoMinutes;
  const syncs = syncsPerDay * scenario.daysPerMonth;
  const verifies = scenario.fullVerifiesPerMonth + scenario.quickVerifiesPerMonth;
  const copied = changedPerDay * scenario.daysPerMonth;
  const quickCompared = changedPerDay / syncsPerDay;
  const gets = copied + scenario.fullVerifiesPerMonth * 2 * volumeBlocks + scenario.quickVerifiesPerMonth * 2 * quickCompared;
  const perJob = (job: JobCounts, runs: number, field: 'list' | 'transitions'): number =>
    runs * (field === 'list' ? job.listCallsFixed + job.listCallsPerSegment * segments : job.transitionsFixed + job.transitionsPerSegment * segments);
  const lists = perJob(counts.sync, syncs, 'list') + perJob(counts.verify, verifies, 'list');
  const transitions = perJob(counts.sync, syncs, 'transitions') + perJob(counts.verify, verifies, 'transitions');
  const retainedGiB = scenario.volumeGiB * scenario.dailyChangeFraction * scenario.retentionDays;
  const storedGiB = scenario.volumeGiB + (scenario.volumeGiB + retainedGiB);
  const crossedBytes = (copied + scenario.fullVerifiesPerMonth * volumeBlocks + scenario.quickVerifiesPerMonth * quickCompared) * BLOCK_SIZE;
  return withTotal({
    blockApis: (gets * prices.getBlockPer1000 + copied * prices.putBlockPer1000) / PER_THOUSAND,
    listApis: (lists * prices.listPer1000) / PER_THOUSAND,
    stepFunctions: (transitions * prices.transitionsPer1000) / PER_THOUSAND,
    storage: storedGiB * prices.storagePerGbMonth,
    transfer: (crossedBytes / BYTES_PER_GB) * prices.crossRegionPerGb,
  });
}

/**
 * Monthly cost of an EBS snapshot schedule with cross-Region copy keeping the same retention:
 * CreateSnapshot and CopySnapshot are free; storage in both Regions; the changed bytes cross once.
 * The schedule's frequency does not change the cost (snapshots are incremental), only its RPO.
 */
export function scheduleMonthlyCost(scenario: ProtectionScenario, prices: Prices = LIST_PRICES): CostBreakdown {
  const retainedGiB = scenario.volumeGiB * scenario.dailyChangeFraction * scenario.retentionDays;
  const changedGiB = scenario.volumeGiB * scenario.dailyChangeFraction * scenario.daysPerMonth;
  return withTotal({
    blockApis: 0,
    listApis: 0,
    stepFunctions: 0,
    storage: 2 * (scenario.volumeGiB + retainedGiB) * prices.storagePerGbMonth,
    transfer: changedGiB * prices.crossRegionPerGb,
  });
}

/**
 * The cost model: monthly cost of protecting a volume with ebs-cdp and with its peers, from
 * per-job call counts (measured by the benches) and list prices. Pure: no I/O.
 *
 * - `cdpMonthlyCost`: today's design: syncs at an RPO, full verifies (both sides of every block,
 *   one side read across Regions) and quick verifies (both sides of one sync's blocks);
 * - `cdpVerifiedMonthlyCost`: the design with a digest manifest (ARCHITECTURE.md, Verify): the
 *   same syncs, verified by a primary scan, a secondary scrub and a read-back of every new entry
 *   (`verificationMonthlyCost`), none of which moves block data across Regions;
 * - `scheduleMonthlyCost`: an EBS snapshot schedule with cross-Region copy keeping the same points;
 * - `drsMonthlyCost`: AWS Elastic Disaster Recovery protecting the same volume.
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
 *   shows their volume. For the verified design this leaves out the digest manifest (32 B per
 *   block written, 64 MiB per TiB of baseline) and its replication to the other Region, the only
 *   verification data that crosses Regions;
 * - the verified design's jobs, which no bench measures yet, are priced as the sync is: its
 *   fixed number of states plus one Map item per segment, and one list call per page:
 *   - primary scan (primary's Region): lists `D0` (one call: `P_head` is at most one RPO old)
 *     and every segment of `P0` (fully allocated: ⌈65,536 / 10,000⌉ = 7 pages), reads every
 *     block of the volume once (the blocks of `P0` outside `D0`, of `P_head` inside it); `P0`'s
 *     snapshot storage while the scan runs (one RPO of changes, for about 35 minutes at the
 *     account's 1,000 Gets/s for 1 TiB) is left out;
 *   - scrub (secondary's Region): reads every retained stored version once (the oldest retained
 *     image's blocks: the volume; plus every retained entry's delta map: the changes kept),
 *     listing the oldest image per segment and each retained entry per segment;
 *   - read-back (secondary's Region): reads every block each new entry wrote once; one run every
 *     `readBackDelayMinutes` (never more often than the syncs) takes the entries committed since
 *     the last, listing each per segment: `ListChangedBlocks(S_{n-1}, S_n)`, which is also the
 *     entry's structural check. It takes the place of today's quick verify, which is not priced
 *     in the verified design;
 *   - a month is 30 days (`daysPerMonth`), a weekly job runs 52 / 12 times in it (as today's
 *     weekly full verify is counted);
 * - AWS Elastic Disaster Recovery: the per-server fee is EBS-FACTS.md's; its staging area is not
 *   priced there, so `DRS_DEFAULT_STAGING` states what it assumes (see there).
 */
import { BLOCK_SIZE, BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT } from '../shared/core/constants';

/** Prices in USD (us-east-1 list, EBS-FACTS.md). */
export interface Prices {
  readonly listPer1000: number;
  readonly getBlockPer1000: number;
  readonly putBlockPer1000: number;
  /** Snapshot storage. */
  readonly storagePerGbMonth: number;
  readonly transitionsPer1000: number;
  readonly crossRegionPerGb: number;
  /** AWS Elastic Disaster Recovery, per source server and hour. */
  readonly drsServerHour: number;
}

export const LIST_PRICES: Prices = {
  listPer1000: 0.0006,
  getBlockPer1000: 0.003,
  putBlockPer1000: 0.006,
  storagePerGbMonth: 0.05,
  transitionsPer1000: 0.025,
  // EBS-FACTS.md, "More facts": about $0.02/GB for most US Region pairs.
  crossRegionPerGb: 0.02,
  // EBS-FACTS.md, "Peers' prices": $0.028 per source server-hour (≈ $20/month).
  drsServerHour: 0.028,
};

/**
 * What AWS Elastic Disaster Recovery's staging area costs per protected volume. **Not in
 * EBS-FACTS.md** (it names the parts, replication servers and a staging EBS volume per source
 * volume, without prices): these are assumptions, from AWS's us-east-1 list prices as we know them.
 */
export interface DrsStaging {
  readonly label: string;
  /** The staging volume, provisioned at the source volume's size, per GB-month. */
  readonly stagingVolumePerGbMonth: number;
  /** One replication server (an EC2 instance), per hour. */
  readonly replicationServerHour: number;
  /** Source volumes one replication server carries: its cost is shared by as many. */
  readonly volumesPerReplicationServer: number;
}

/**
 * The default for a 1 TiB disk: DRS stages disks of 500 GiB and more on Throughput Optimized HDD
 * (st1, $0.045/GB-month; its "auto" setting also picks st1 for a disk written at 1 % a day), on
 * its default replication server, a t3.small ($0.0208/hour), shared by up to 15 source volumes.
 * The share is a lower bound of DRS's cost (a lone volume pays the whole server), so ebs-cdp's
 * ratio to it is an upper bound.
 */
export const DRS_DEFAULT_STAGING: DrsStaging = {
  label: 'st1 staging volume, t3.small replication server shared by 15 volumes',
  stagingVolumePerGbMonth: 0.045,
  replicationServerHour: 0.0208,
  volumesPerReplicationServer: 15,
};

/** The same on a General Purpose SSD (gp3, $0.08/GB-month) staging volume, what DRS uses for smaller or busier disks. */
export const DRS_GP3_STAGING: DrsStaging = { ...DRS_DEFAULT_STAGING, label: 'gp3 staging volume, t3.small replication server shared by 15 volumes', stagingVolumePerGbMonth: 0.08 };

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
  /** Snapshot storage. */
  readonly storage: number;
  /** EBS volumes (DRS's staging volume). */
  readonly volumes: number;
  /** EC2 instances (DRS's replication server). */
  readonly compute: number;
  /** A service's own fee (DRS per source server). */
  readonly service: number;
  readonly transfer: number;
  readonly total: number;
}

type CostParts = Omit<CostBreakdown, 'total'>;

const MINUTES_PER_DAY = 1_440;
const HOURS_PER_DAY = 24;
const PER_THOUSAND = 1_000;
/** Bytes per GB as AWS bills snapshot storage and transfer (GiB, which AWS writes "GB"). */
const BYTES_PER_GB = 1_073_741_824;
/** A weekly job's runs a month, as the old model's weekly full verify counts them. */
export const WEEKS_PER_MONTH = 52 / 12;
const NO_COST: CostParts = { blockApis: 0, listApis: 0, stepFunctions: 0, storage: 0, volumes: 0, compute: 0, service: 0, transfer: 0 };

function withTotal(parts: Partial<CostParts>): CostBreakdown {
  const all = { ...NO_COST, ...parts };
  return { ...all, total: all.blockApis + all.listApis + all.stepFunctions + all.storage + all.volumes + all.compute + all.service + all.transfer };
}

/** The sum of breakdowns, part by part. */
export function sumCosts(...costs: CostBreakdown[]): CostBreakdown {
  const sum: Record<keyof CostParts, number> = { ...NO_COST };
  for (const cost of costs) for (const key of Object.keys(NO_COST) as Array<keyof CostParts>) sum[key] += cost[key];
  return withTotal(sum);
}

/** `cost` × `factor`, part by part (a job's runs a month). */
export function scaleCost(cost: CostBreakdown, factor: number): CostBreakdown {
  const scaled: Record<keyof CostParts, number> = { ...NO_COST };
  for (const key of Object.keys(NO_COST) as Array<keyof CostParts>) scaled[key] = cost[key] * factor;
  return withTotal(scaled);
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

/**
 * One run of today's full verify: both sides of every block read (one side across Regions, so
 * the volume crosses once), list calls and transitions as `verify` counts them. `cdpMonthlyCost`
 * prices `fullVerifiesPerMonth` of these.
 */
export function legacyFullVerifyCost(scenario: ProtectionScenario, verify: JobCounts, prices: Prices = LIST_PRICES): CostBreakdown {
  const volumeBlocks = scenario.volumeGiB * BLOCKS_PER_GIB;
  const segments = segmentsOf(scenario.volumeGiB);
  return withTotal({
    blockApis: (2 * volumeBlocks * prices.getBlockPer1000) / PER_THOUSAND,
    listApis: ((verify.listCallsFixed + verify.listCallsPerSegment * segments) * prices.listPer1000) / PER_THOUSAND,
    stepFunctions: ((verify.transitionsFixed + verify.transitionsPerSegment * segments) * prices.transitionsPer1000) / PER_THOUSAND,
    transfer: ((volumeBlocks * BLOCK_SIZE) / BYTES_PER_GB) * prices.crossRegionPerGb,
  });
}

/**
 * When the verified design checks what (ARCHITECTURE.md, Verify). Each period is also a
 * detection bound: a mis-copy is found within one primary-scan period (unless the host rewrites
 * the block first), damage to a stored version within one scrub period (while some point still
 * holds it), a new entry's write errors within the read-back delay.
 */
export interface VerificationSchedule {
  /** Primary scans a month (weekly: `WEEKS_PER_MONTH`). */
  readonly primaryScansPerMonth: number;
  /** Full scrubs of the retained lineage a month. */
  readonly scrubsPerMonth: number;
  /** Every new entry is read back within this many minutes of its commit; `null`: no read-back. */
  readonly readBackDelayMinutes: number | null;
}

/**
 * The default schedule: a weekly primary scan, every new entry read back within the hour, a full
 * scrub once a month. The read-back reads every stored version once soon after it is written; the
 * scrub reads it again for damage that comes later, so a scrub period longer than the shortest
 * retention tier still checks every version once within that tier.
 */
export const DEFAULT_VERIFICATION_SCHEDULE: VerificationSchedule = {
  primaryScansPerMonth: WEEKS_PER_MONTH,
  scrubsPerMonth: 1,
  readBackDelayMinutes: 60,
};

/** Transitions of one run of a verification job (primary scan, scrub, read-back), and the list page size. */
export interface VerificationCounts {
  /** Blocks per list page (EBS's largest, 10,000). */
  readonly listPageBlocks: number;
  readonly transitionsFixed: number;
  /** One Map item per segment. */
  readonly transitionsPerSegment: number;
}

/** What the blocks of a scenario come to: the counts every verification job is priced from. */
interface VolumeShape {
  readonly volumeBlocks: number;
  readonly segments: number;
  readonly syncsPerMonth: number;
  /** Blocks every sync copies, hence every entry writes, a month. */
  readonly blocksWrittenPerMonth: number;
  /** Stored versions of the retained lineage: the oldest retained image's blocks plus every later entry's. */
  readonly retainedVersions: number;
  readonly retainedEntries: number;
  /** List pages of one fully allocated segment. */
  readonly pagesPerSegment: number;
  /** List pages of one entry's changes in one segment (changes are spread over every segment). */
  readonly pagesPerEntrySegment: number;
}

function shapeOf(scenario: ProtectionScenario, listPageBlocks: number): VolumeShape {
  const volumeBlocks = scenario.volumeGiB * BLOCKS_PER_GIB;
  const segments = segmentsOf(scenario.volumeGiB);
  const changedPerDay = volumeBlocks * scenario.dailyChangeFraction;
  const syncsPerDay = MINUTES_PER_DAY / scenario.rpoMinutes;
  return {
    volumeBlocks,
    segments,
    syncsPerMonth: syncsPerDay * scenario.daysPerMonth,
    blocksWrittenPerMonth: changedPerDay * scenario.daysPerMonth,
    retainedVersions: volumeBlocks + changedPerDay * scenario.retentionDays,
    retainedEntries: syncsPerDay * scenario.retentionDays,
    pagesPerSegment: Math.ceil(Math.min(volumeBlocks, BLOCKS_PER_SEGMENT) / listPageBlocks),
    pagesPerEntrySegment: Math.max(1, Math.ceil(changedPerDay / syncsPerDay / segments / listPageBlocks)),
  };
}

function jobCost(gets: number, lists: number, transitions: number, prices: Prices): CostBreakdown {
  return withTotal({
    blockApis: (gets * prices.getBlockPer1000) / PER_THOUSAND,
    listApis: (lists * prices.listPer1000) / PER_THOUSAND,
    stepFunctions: (transitions * prices.transitionsPer1000) / PER_THOUSAND,
  });
}

/** The verification jobs' costs a month, and the list price of the block reads they cannot do without. */
export interface VerificationCost {
  readonly primaryScan: CostBreakdown;
  readonly scrub: CostBreakdown;
  readonly readBack: CostBreakdown;
  readonly total: CostBreakdown;
  /** GetSnapshotBlock of every block the schedule must read, at list price: what no implementation of it can go under. */
  readonly readFloor: number;
}

/**
 * One primary scan (in the primary's Region): every block of the volume read once and compared
 * with the digest manifest; `D0` and every segment of `P0` listed. Nothing crosses Regions.
 */
export function primaryScanCost(scenario: ProtectionScenario, counts: VerificationCounts, prices: Prices = LIST_PRICES): CostBreakdown {
  const shape = shapeOf(scenario, counts.listPageBlocks);
  const lists = 1 + shape.pagesPerSegment * shape.segments;
  return jobCost(shape.volumeBlocks, lists, counts.transitionsFixed + counts.transitionsPerSegment * shape.segments, prices);
}

/**
 * One full scrub (in the secondary's Region): every retained stored version read once and
 * compared with its manifest digest; the oldest retained image listed per segment, every retained
 * entry's changes per segment. Nothing crosses Regions.
 */
export function scrubCost(scenario: ProtectionScenario, counts: VerificationCounts, prices: Prices = LIST_PRICES): CostBreakdown {
  const shape = shapeOf(scenario, counts.listPageBlocks);
  const lists = shape.pagesPerSegment * shape.segments + shape.retainedEntries * shape.segments * shape.pagesPerEntrySegment;
  return jobCost(shape.retainedVersions, lists, counts.transitionsFixed + counts.transitionsPerSegment * shape.segments, prices);
}

/**
 * A month of read-backs (in the secondary's Region): every block every new entry wrote read once;
 * one run per `delayMinutes` (at most one per sync) over the entries committed since the last.
 */
export function readBackMonthlyCost(scenario: ProtectionScenario, delayMinutes: number, counts: VerificationCounts, prices: Prices = LIST_PRICES): CostBreakdown {
  const shape = shapeOf(scenario, counts.listPageBlocks);
  const runs = Math.min(shape.syncsPerMonth, (scenario.daysPerMonth * MINUTES_PER_DAY) / delayMinutes);
  const lists = shape.syncsPerMonth * shape.segments * shape.pagesPerEntrySegment;
  const transitions = runs * (counts.transitionsFixed + counts.transitionsPerSegment * shape.segments);
  return jobCost(shape.blocksWrittenPerMonth, lists, transitions, prices);
}

/** A month of verification on `schedule`: its jobs' costs and its read floor. */
export function verificationMonthlyCost(
  scenario: ProtectionScenario,
  schedule: VerificationSchedule,
  counts: VerificationCounts,
  prices: Prices = LIST_PRICES,
): VerificationCost {
  const shape = shapeOf(scenario, counts.listPageBlocks);
  const primaryScan = scaleCost(primaryScanCost(scenario, counts, prices), schedule.primaryScansPerMonth);
  const scrub = scaleCost(scrubCost(scenario, counts, prices), schedule.scrubsPerMonth);
  const readBack = schedule.readBackDelayMinutes === null ? withTotal({}) : readBackMonthlyCost(scenario, schedule.readBackDelayMinutes, counts, prices);
  const blocksRead = schedule.primaryScansPerMonth * shape.volumeBlocks + schedule.scrubsPerMonth * shape.retainedVersions +
    (schedule.readBackDelayMinutes === null ? 0 : shape.blocksWrittenPerMonth);
  return { primaryScan, scrub, readBack, total: sumCosts(primaryScan, scrub, readBack), readFloor: (blocksRead * prices.getBlockPer1000) / PER_THOUSAND };
}

/** The syncs alone: `cdpMonthlyCost` without today's full and quick verifies (storage and the copies' transfer included). */
export function syncMonthlyCost(scenario: ProtectionScenario, sync: JobCounts, prices: Prices = LIST_PRICES): CostBreakdown {
  const none: JobCounts = { listCallsFixed: 0, listCallsPerSegment: 0, transitionsFixed: 0, transitionsPerSegment: 0 };
  return cdpMonthlyCost({ ...scenario, fullVerifiesPerMonth: 0, quickVerifiesPerMonth: 0 }, { sync, verify: none }, prices);
}

/** Monthly cost of ebs-cdp with the verified design: the syncs plus `schedule`'s verification. */
export function cdpVerifiedMonthlyCost(
  scenario: ProtectionScenario,
  schedule: VerificationSchedule,
  counts: { sync: JobCounts; verification: VerificationCounts },
  prices: Prices = LIST_PRICES,
): CostBreakdown {
  return sumCosts(syncMonthlyCost(scenario, counts.sync, prices), verificationMonthlyCost(scenario, schedule, counts.verification, prices).total);
}

/**
 * Monthly cost of AWS Elastic Disaster Recovery protecting the volume (one source server with this
 * one volume), keeping point-in-time snapshots as long as ebs-cdp keeps restore points: the
 * per-server fee, the staging volume (provisioned at the volume's size), the volume's share of a
 * replication server, the point-in-time snapshots of the staging volume (a full image plus the
 * changes retained, as ebs-cdp's secondary lineage), the changed bytes crossing once (replication
 * is continuous; each changed block changes once a day, as everywhere in this model; no
 * compression assumed). DRS's RPO is seconds; it reads back nothing it stored.
 */
export function drsMonthlyCost(scenario: ProtectionScenario, staging: DrsStaging = DRS_DEFAULT_STAGING, prices: Prices = LIST_PRICES): CostBreakdown {
  const hours = scenario.daysPerMonth * HOURS_PER_DAY;
  const retainedGiB = scenario.volumeGiB * scenario.dailyChangeFraction * scenario.retentionDays;
  const changedGiB = scenario.volumeGiB * scenario.dailyChangeFraction * scenario.daysPerMonth;
  return withTotal({
    service: hours * prices.drsServerHour,
    volumes: scenario.volumeGiB * staging.stagingVolumePerGbMonth,
    compute: (hours * staging.replicationServerHour) / staging.volumesPerReplicationServer,
    storage: (scenario.volumeGiB + retainedGiB) * prices.storagePerGbMonth,
    transfer: changedGiB * prices.crossRegionPerGb,
  });
}

/** The figures of issue 12, for the scenario and schedule given (`costFigures`). */
export interface CostFigures {
  /** ebs-cdp verified on the schedule ÷ the snapshot schedule with cross-Region copy. */
  readonly verifiedVsSchedule: number;
  /** The schedule's verification ÷ the list price of the block reads it cannot avoid. */
  readonly verifyVsReadFloor: number;
  /** ebs-cdp verified on the schedule ÷ AWS Elastic Disaster Recovery. */
  readonly vsDrs: number;
  /** One full check (primary scan + full scrub) ÷ one of today's full verifies. */
  readonly fullCheckVsToday: number;
  /** Today's design (full and quick verifies of `scenario`) ÷ the snapshot schedule. */
  readonly todayVsSchedule: number;
}

/** Every figure of the cost model for `scenario` on `schedule`. */
export function costFigures(
  scenario: ProtectionScenario,
  schedule: VerificationSchedule,
  counts: { sync: JobCounts; verify: JobCounts; verification: VerificationCounts },
  prices: Prices = LIST_PRICES,
  staging: DrsStaging = DRS_DEFAULT_STAGING,
): CostFigures {
  const verified = cdpVerifiedMonthlyCost(scenario, schedule, counts, prices).total;
  const snapshots = scheduleMonthlyCost(scenario, prices).total;
  const verification = verificationMonthlyCost(scenario, schedule, counts.verification, prices);
  const fullCheck = primaryScanCost(scenario, counts.verification, prices).total + scrubCost(scenario, counts.verification, prices).total;
  return {
    verifiedVsSchedule: verified / snapshots,
    verifyVsReadFloor: verification.total.total / verification.readFloor,
    vsDrs: verified / drsMonthlyCost(scenario, staging, prices).total,
    fullCheckVsToday: fullCheck / legacyFullVerifyCost(scenario, counts.verify, prices).total,
    todayVsSchedule: cdpMonthlyCost(scenario, counts, prices).total / snapshots,
  };
}

/** The reference scenario of the figures: 1 TiB, 1 % changed a day, a 15-minute RPO, a week of points; today's design verifies fully weekly and quickly daily. */
export const REFERENCE_SCENARIO: ProtectionScenario = {
  volumeGiB: 1_024,
  dailyChangeFraction: 0.01,
  rpoMinutes: 15,
  retentionDays: 7,
  fullVerifiesPerMonth: WEEKS_PER_MONTH,
  quickVerifiesPerMonth: 30,
  daysPerMonth: 30,
};

/**
 * Fixed states of a sync when no local run is at hand: SyncBegin, its wait loop, SyncPlan, the
 * Map, CompleteSnapshot, its wait loop, SyncCommit and the Choice/Pass states between (the 1 TiB
 * run measured 17). Every other job is priced with as many.
 */
export const STRUCTURAL_SYNC_FIXED_TRANSITIONS = 17;

/**
 * Every job's counts on a fully allocated volume, from the list page size and the sync's fixed
 * transitions (measured by the scale bench, else `STRUCTURAL_SYNC_FIXED_TRANSITIONS`): a sync
 * lists the changes (segment 0 then the rest: 2 calls at 1 % of 1 TiB) and each CopySegment its
 * source segment; today's verify lists `D0` and both sides of every segment; every job has one
 * Map item per segment.
 */
export function jobCounts(listPageBlocks: number, syncTransitionsFixed: number = STRUCTURAL_SYNC_FIXED_TRANSITIONS): {
  sync: JobCounts;
  verify: JobCounts;
  verification: VerificationCounts;
} {
  const pagesPerSegment = Math.ceil(BLOCKS_PER_SEGMENT / listPageBlocks);
  return {
    sync: { listCallsFixed: 2, listCallsPerSegment: pagesPerSegment, transitionsFixed: syncTransitionsFixed, transitionsPerSegment: 1 },
    verify: { listCallsFixed: 1, listCallsPerSegment: 2 * pagesPerSegment, transitionsFixed: syncTransitionsFixed, transitionsPerSegment: 1 },
    verification: { listPageBlocks, transitionsFixed: syncTransitionsFixed, transitionsPerSegment: 1 },
  };
}

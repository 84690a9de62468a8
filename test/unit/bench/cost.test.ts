import {
  cdpMonthlyCost,
  cdpVerifiedMonthlyCost,
  costFigures,
  DEFAULT_VERIFICATION_SCHEDULE,
  drsMonthlyCost,
  DRS_DEFAULT_STAGING,
  DRS_GP3_STAGING,
  jobCounts,
  legacyFullVerifyCost,
  LIST_PRICES,
  primaryScanCost,
  readBackMonthlyCost,
  REFERENCE_SCENARIO,
  scheduleMonthlyCost,
  scrubCost,
  syncMonthlyCost,
  verificationMonthlyCost,
  WEEKS_PER_MONTH,
  type JobCounts,
  type ProtectionScenario,
} from '../../../bench/cost';
import { BLOCK_SIZE, BLOCKS_PER_GIB, BLOCKS_PER_SEGMENT } from '../../../shared/core/constants';

/**
 * Hand computation, one 32 GiB segment (65,536 blocks), 12.5 % changed a day = 8,192 blocks,
 * RPO 180 min = 8 syncs a day = 240 a month, 1 full and 30 quick verifies, 7 days kept:
 *
 *   copied      = 8,192 × 30                                  = 245,760 blocks (Get and Put)
 *   gets        = 245,760 + 1 × 2 × 65,536 + 30 × 2 × 1,024    = 438,272
 *   block APIs  = (438,272 × 0.003 + 245,760 × 0.006) / 1,000  = 2.789376
 *   lists       = 240 × (1 + 1) + 31 × (1 + 14)                = 945     → × 0.0006 / 1,000 = 0.000567
 *   transitions = 240 × (10 + 3) + 31 × (8 + 2)                = 3,430   → × 0.025 / 1,000  = 0.08575
 *   storage     = (32 + 32 + 32 × 0.125 × 7) GiB × 0.05        = 92 × 0.05                 = 4.6
 *   transfer    = (245,760 + 65,536 + 30 × 1,024) × 0.5 MiB    = 167 GiB × 0.02           = 3.34
 *   total                                                                                  = 10.815693
 *
 * The schedule: storage 2 × (32 + 28) × 0.05 = 6; transfer 32 × 0.125 × 30 = 120 GiB × 0.02 = 2.4.
 */
const scenario: ProtectionScenario = {
  volumeGiB: 32,
  dailyChangeFraction: 0.125,
  rpoMinutes: 180,
  retentionDays: 7,
  fullVerifiesPerMonth: 1,
  quickVerifiesPerMonth: 30,
  daysPerMonth: 30,
};
const sync: JobCounts = { listCallsFixed: 1, listCallsPerSegment: 1, transitionsFixed: 10, transitionsPerSegment: 3 };
const verify: JobCounts = { listCallsFixed: 1, listCallsPerSegment: 14, transitionsFixed: 8, transitionsPerSegment: 2 };

describe('cost model', () => {
  describe('cdpMonthlyCost', () => {
    it('matches the hand computation line by line', () => {
      // Act
      const cost = cdpMonthlyCost(scenario, { sync, verify }, LIST_PRICES);

      // Assess
      expect(cost.blockApis).toBeCloseTo(2.789376, 9);
      expect(cost.listApis).toBeCloseTo(0.000567, 9);
      expect(cost.stepFunctions).toBeCloseTo(0.08575, 9);
      expect(cost.storage).toBeCloseTo(4.6, 9);
      expect(cost.transfer).toBeCloseTo(3.34, 9);
      expect(cost.total).toBeCloseTo(10.815693, 6);
    });

    it('costs more list calls and transitions at a shorter RPO, and fewer quick-verify reads per verify', () => {
      // Act
      const slow = cdpMonthlyCost(scenario, { sync, verify });
      const fast = cdpMonthlyCost({ ...scenario, rpoMinutes: 60 }, { sync, verify });

      // Assess
      expect(fast.stepFunctions).toBeGreaterThan(slow.stepFunctions);
      expect(fast.listApis).toBeGreaterThan(slow.listApis);
      // Quick verifies compare one sync's blocks: fewer per sync at a shorter RPO.
      expect(fast.blockApis).toBeLessThan(slow.blockApis);
    });
  });

  describe('scheduleMonthlyCost', () => {
    it('prices storage in both Regions and the changed bytes crossing once', () => {
      // Act
      const cost = scheduleMonthlyCost(scenario, LIST_PRICES);

      // Assess
      expect(cost.storage).toBeCloseTo(6, 9);
      expect(cost.transfer).toBeCloseTo(2.4, 9);
      expect(cost.blockApis + cost.listApis + cost.stepFunctions).toBe(0);
      expect(cost.total).toBeCloseTo(8.4, 9);
    });
  });
});

/**
 * The reference scenario recomputed from the price table and the block geometry, never from the
 * model's own results: 1 TiB = 2,097,152 blocks in 32 segments, 1 % = 20,971.52 blocks a day,
 * RPO 15 min = 96 syncs a day = 2,880 a month, 7 days kept = 672 entries and 146,800.64 changed
 * versions, fully allocated segments listing in ⌈65,536 / 10,000⌉ = 7 pages.
 */
describe('cost model, 1 TiB at a 15-minute RPO', () => {
  const EBS_MAX_PAGE = 10_000;
  const counts = jobCounts(EBS_MAX_PAGE);
  const reference = REFERENCE_SCENARIO;
  const schedule = DEFAULT_VERIFICATION_SCHEDULE;
  const perBlock = LIST_PRICES.getBlockPer1000 / 1_000;
  const perList = LIST_PRICES.listPer1000 / 1_000;
  const perTransition = LIST_PRICES.transitionsPer1000 / 1_000;
  const volumeBlocks = reference.volumeGiB * BLOCKS_PER_GIB;
  const segments = volumeBlocks / BLOCKS_PER_SEGMENT;
  const pagesPerSegment = Math.ceil(BLOCKS_PER_SEGMENT / EBS_MAX_PAGE);
  const changedPerDay = volumeBlocks * reference.dailyChangeFraction;
  const syncsPerMonth = (24 * 60 / reference.rpoMinutes) * reference.daysPerMonth;
  const retainedEntries = (24 * 60 / reference.rpoMinutes) * reference.retentionDays;
  const retainedVersions = volumeBlocks + changedPerDay * reference.retentionDays;
  const writtenPerMonth = changedPerDay * reference.daysPerMonth;
  const transitionsPerRun = counts.verification.transitionsFixed + segments;
  const snapshots = scheduleMonthlyCost(reference).total;

  it('reproduces today\'s design at 2.29× the hourly snapshot schedule', () => {
    // Act
    const today = cdpMonthlyCost(reference, counts).total;

    // Assess
    expect(segments).toBe(32);
    expect(today / snapshots).toBeCloseTo(2.29, 2);
    expect(costFigures(reference, schedule, counts).todayVsSchedule).toBeCloseTo(today / snapshots, 12);
  });

  it('prices today\'s full verify at $33.06: $12.58 of Get on both sides and $20.48 of transfer', () => {
    // Act
    const full = legacyFullVerifyCost(reference, counts.verify);

    // Assess
    expect(full.blockApis).toBeCloseTo(2 * volumeBlocks * perBlock, 9);
    expect(full.blockApis).toBeCloseTo(12.58, 2);
    expect(full.transfer).toBeCloseTo(reference.volumeGiB * LIST_PRICES.crossRegionPerGb, 9);
    expect(full.transfer).toBeCloseTo(20.48, 9);
    expect(full.blockApis + full.transfer).toBeCloseTo(33.06, 2);
    // The monthly model prices its full verifies as this many of these.
    const withOne = cdpMonthlyCost({ ...reference, fullVerifiesPerMonth: 1 }, counts).total;
    const withNone = cdpMonthlyCost({ ...reference, fullVerifiesPerMonth: 0 }, counts).total;
    expect(withOne - withNone).toBeCloseTo(full.total, 9);
  });

  it('reads every primary block once per scan, every retained version once per scrub and every written block once by the read-back, moving nothing across Regions', () => {
    // Act
    const scan = primaryScanCost(reference, counts.verification);
    const scrub = scrubCost(reference, counts.verification);
    const readBack = readBackMonthlyCost(reference, 60, counts.verification);

    // Assess
    expect(scan.blockApis).toBeCloseTo(volumeBlocks * perBlock, 9);
    expect(scan.listApis).toBeCloseTo((1 + pagesPerSegment * segments) * perList, 12);
    expect(scrub.blockApis).toBeCloseTo(retainedVersions * perBlock, 9);
    expect(scrub.listApis).toBeCloseTo((pagesPerSegment * segments + retainedEntries * segments) * perList, 12);
    expect(readBack.blockApis).toBeCloseTo(writtenPerMonth * perBlock, 9);
    // Hourly: 720 runs a month, each listing its entries per segment (the structural check).
    expect(readBack.stepFunctions).toBeCloseTo(24 * reference.daysPerMonth * transitionsPerRun * perTransition, 9);
    expect(readBack.listApis).toBeCloseTo(syncsPerMonth * segments * perList, 12);
    expect(scan.transfer + scrub.transfer + readBack.transfer).toBe(0);
  });

  it('never runs the read-back more often than the syncs commit', () => {
    // Act
    const everyMinute = readBackMonthlyCost(reference, 1, counts.verification);

    // Assess
    expect(everyMinute.stepFunctions).toBeCloseTo(syncsPerMonth * transitionsPerRun * perTransition, 9);
  });

  it('puts a weekly primary scan plus a monthly scrub at the issue\'s list-price floor of 1.35× the snapshot schedule', () => {
    // Prepare: the syncs, plus the Gets of the two jobs at list price and nothing else.
    const floor = syncMonthlyCost(reference, counts.sync).total + (WEEKS_PER_MONTH * volumeBlocks + retainedVersions) * perBlock;

    // Act
    const readFloor = verificationMonthlyCost(reference, { ...schedule, readBackDelayMinutes: null }, counts.verification).readFloor;

    // Assess
    expect(floor / snapshots).toBeCloseTo(1.35, 2);
    expect(readFloor).toBeCloseTo((WEEKS_PER_MONTH * volumeBlocks + retainedVersions) * perBlock, 9);
  });

  it('computes the default schedule\'s figures from their parts, within the goals of issue 12 except DRS on st1 staging', () => {
    // Prepare: every part by hand.
    const readFloor = (WEEKS_PER_MONTH * volumeBlocks + retainedVersions + writtenPerMonth) * perBlock;
    const lists = WEEKS_PER_MONTH * (1 + pagesPerSegment * segments) + (pagesPerSegment * segments + retainedEntries * segments) + syncsPerMonth * segments;
    const transitions = (WEEKS_PER_MONTH + 1 + 24 * reference.daysPerMonth) * transitionsPerRun;
    const verification = readFloor + lists * perList + transitions * perTransition;
    const verified = syncMonthlyCost(reference, counts.sync).total + verification;
    const hours = 24 * reference.daysPerMonth;
    const drs = hours * LIST_PRICES.drsServerHour +
      reference.volumeGiB * DRS_DEFAULT_STAGING.stagingVolumePerGbMonth +
      (hours * DRS_DEFAULT_STAGING.replicationServerHour) / DRS_DEFAULT_STAGING.volumesPerReplicationServer +
      (reference.volumeGiB + (retainedVersions - volumeBlocks) / BLOCKS_PER_GIB) * LIST_PRICES.storagePerGbMonth +
      ((writtenPerMonth * BLOCK_SIZE) / 2 ** 30) * LIST_PRICES.crossRegionPerGb;
    const fullCheck = (volumeBlocks + retainedVersions) * perBlock +
      ((1 + pagesPerSegment * segments) + (pagesPerSegment * segments + retainedEntries * segments)) * perList + 2 * transitionsPerRun * perTransition;

    // Act
    const figures = costFigures(reference, schedule, counts);

    // Assess
    expect(cdpVerifiedMonthlyCost(reference, schedule, counts).total).toBeCloseTo(verified, 9);
    expect(figures.verifiedVsSchedule).toBeCloseTo(verified / snapshots, 12);
    expect(figures.verifyVsReadFloor).toBeCloseTo(verification / readFloor, 12);
    expect(figures.vsDrs).toBeCloseTo(verified / drs, 12);
    expect(figures.fullCheckVsToday).toBeCloseTo(fullCheck / legacyFullVerifyCost(reference, counts.verify).total, 12);
    expect(figures.verifiedVsSchedule).toBeLessThanOrEqual(1.4);
    expect(figures.verifyVsReadFloor).toBeLessThanOrEqual(1.05);
    expect(figures.fullCheckVsToday).toBeLessThanOrEqual(0.4);
    // The finding: on DRS's default st1 staging volume DRS is cheaper; on gp3 it is not.
    expect(figures.vsDrs).toBeGreaterThan(1);
    expect(costFigures(reference, schedule, counts, LIST_PRICES, DRS_GP3_STAGING).vsDrs).toBeLessThan(1);
  });

  it('prices DRS\'s fee at EBS-FACTS.md\'s ≈ $20 a month', () => {
    // Act
    const drs = drsMonthlyCost(reference);

    // Assess
    expect(drs.service).toBeCloseTo(20, 0);
    expect(drs.blockApis + drs.listApis + drs.stepFunctions).toBe(0);
  });
});

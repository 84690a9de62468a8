import { cdpMonthlyCost, LIST_PRICES, scheduleMonthlyCost, type JobCounts, type ProtectionScenario } from '../../../bench/cost';

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

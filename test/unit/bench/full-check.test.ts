import { blockBytes, fullCheckFigures, fullCheckMinimum, type ChainMaps, type FullCheckMeasured } from '../../../bench/full-check';
import { meetsGoal } from '../../../bench/summary';
import { BLOCK_SIZE, BLOCKS_PER_SEGMENT, volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';

/**
 * Hand computation, a 40 GiB volume (two segments), FAR = a block of the second segment:
 *
 *   D_0 = {0, 1, 2, FAR}     baseline
 *   D_1 = {1, FAR}           rewrites
 *   D_2 = {2, 5}             a rewrite and a newly allocated block
 *   D_3 = {7}                pending: not a restore point, read by neither job
 *
 *   primary scan  |D_0 ∪ D_1 ∪ D_2| = |{0, 1, 2, 5, FAR}| = 5
 *   scrub         4 + 2 + 2                             = 8
 *   total                                               = 13
 */
const BLOCKS = volumeBlocks(40);
const FAR = BLOCKS_PER_SEGMENT + 3;
const entry = (status: ChainMaps['status'], blocks: number[], size = BLOCKS): ChainMaps => ({ status, deltaMap: DeltaMap.of(size, blocks) });
const chain: ChainMaps[] = [
  entry('committed', [0, 1, 2, FAR]),
  entry('committed', [1, FAR]),
  entry('committed', [2, 5]),
  entry('pending', [7]),
];

describe('full check', () => {
  describe('fullCheckMinimum', () => {
    it('is one read per block the retained points allocate plus one per stored version, pending entries left out', () => {
      // Act
      const minimum = fullCheckMinimum(chain);

      // Assess
      expect(minimum).toEqual({ retainedPoints: 3, primaryScan: 5, scrub: 8, total: 13 });
    });

    it('keeps the primary scan and loses the versions a prune merges away', () => {
      // Prepare: pruning the baseline merges D_0 into D_1: {0, 1, 2, FAR}; the baseline's copies of 1 and FAR go
      const pruned = [entry('committed', [0, 1, 2, FAR]), chain[2]];

      // Act
      const minimum = fullCheckMinimum(pruned);

      // Assess: 4 + 2 versions, where 4 + 2 + 2 were held before
      expect(minimum).toEqual({ retainedPoints: 2, primaryScan: 5, scrub: 6, total: 11 });
    });

    it('sizes the union to the largest volume when the volume grew', () => {
      // Prepare: 40 GiB, then 72 GiB (three segments) writing a block of the third
      const grown = volumeBlocks(72);
      const third = 2 * BLOCKS_PER_SEGMENT + 1;

      // Act
      const minimum = fullCheckMinimum([entry('committed', [0, FAR]), entry('committed', [FAR, third], grown)]);

      // Assess
      expect(minimum).toEqual({ retainedPoints: 2, primaryScan: 3, scrub: 4, total: 7 });
    });

    it('is empty for a chain with no restore point', () => {
      // Act + Assess
      expect(fullCheckMinimum([])).toEqual({ retainedPoints: 0, primaryScan: 0, scrub: 0, total: 0 });
      expect(fullCheckMinimum([entry('pending', [0])])).toEqual({ retainedPoints: 0, primaryScan: 0, scrub: 0, total: 0 });
    });
  });

  describe('fullCheckFigures', () => {
    const minimum = fullCheckMinimum(chain);
    // Today: the verify reads both sides of the 5 allocated blocks, the scrub the 8 versions.
    const today: FullCheckMeasured = {
      verify: { primaryGets: 5, primaryBytes: blockBytes(5), secondaryGets: 5, secondaryBytes: blockBytes(5) },
      scrub: { primaryGets: 0, primaryBytes: 0, secondaryGets: 8, secondaryBytes: blockBytes(8) },
    };

    it('counts the verify\'s secondary reads as crossing Regions and sets every Get against the minimum', () => {
      // Act
      const result = fullCheckFigures(today, minimum);

      // Assess
      expect(result.crossRegionBytes).toBe(5 * BLOCK_SIZE);
      expect(result).toMatchObject({ verifyGets: 10, scrubGets: 8, totalGets: 18 });
      const value = (name: string): number => result.figures[name].value;
      expect(value('verify.cross_region_block_bytes')).toBe(5 * 524_288);
      expect(value('verify.gets_vs_minimum')).toBeCloseTo(18 / 13, 12);
      expect(value('verify.scrub_gets_vs_versions')).toBe(1);
      expect(value('verify.verify_gets_vs_primary_scan')).toBe(2);
      expect(value('verify.gets_share.verify')).toBeCloseTo(10 / 18, 12);
      expect(value('verify.gets_share.scrub')).toBeCloseTo(8 / 18, 12);
      expect(meetsGoal(value('verify.cross_region_block_bytes'), result.figures['verify.cross_region_block_bytes'].goal)).toBe(false);
      expect(meetsGoal(value('verify.gets_vs_minimum'), result.figures['verify.gets_vs_minimum'].goal)).toBe(false);
      expect(meetsGoal(value('verify.scrub_gets_vs_versions'), result.figures['verify.scrub_gets_vs_versions'].goal)).toBe(true);
    });

    it('meets every goal when the primary scan reads only the primary', () => {
      // Prepare
      const manifestScan: FullCheckMeasured = { ...today, verify: { primaryGets: 5, primaryBytes: blockBytes(5), secondaryGets: 0, secondaryBytes: 0 } };

      // Act
      const result = fullCheckFigures(manifestScan, minimum);

      // Assess
      for (const [name, figure] of Object.entries(result.figures)) expect([name, meetsGoal(figure.value, figure.goal)]).toEqual([name, true]);
      expect(result.figures['verify.gets_vs_minimum'].value).toBe(1);
    });

    it('counts a scrub\'s primary-side reads as crossing too', () => {
      // Prepare
      const stray: FullCheckMeasured = { ...today, scrub: { ...today.scrub, primaryGets: 1, primaryBytes: blockBytes(1) } };

      // Act + Assess
      expect(fullCheckFigures(stray, minimum).crossRegionBytes).toBe(6 * BLOCK_SIZE);
    });

    it('refuses a chain with nothing to check', () => {
      // Act + Assess
      expect(() => fullCheckFigures(today, fullCheckMinimum([]))).toThrow(RangeError);
    });
  });
});

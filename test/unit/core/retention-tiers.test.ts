import { RetentionError } from '../../../shared/core/errors';
import { keptBy, restorePointsToPrune } from '../../../shared/core/retention';
import { parseTierDuration, parseTierPolicy, projectedPoints, REGION_SNAPSHOT_QUOTA, snapshotQuotaCheck, tierOf } from '../../../shared/core/retention-tiers';
import { at, buildChain } from './chain-fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('retention tiers', () => {
  describe('parseTierDuration', () => {
    it.each([
      ['6h', 6 * HOUR], ['3d', 3 * DAY], ['12w', 84 * DAY], ['12m', 360 * DAY], ['1y', 365 * DAY],
    ])('reads %s', (text, ms) => {
      // Act
      const parsed = parseTierDuration(text);

      // Assess
      expect(parsed).toBe(ms);
    });

    it.each(['', '0h', '6', 'h', '6 h', '6H', '-1d', '1.5d', '30min', '06h', 6])('refuses %j, naming the value', (value) => {
      // Act
      const parse = (): unknown => parseTierDuration(value, 'hourly');

      // Assess
      expect(parse).toThrow(RetentionError);
      expect(parse).toThrow(`hourly: ${JSON.stringify(value)} is not a duration`);
    });
  });

  describe('parseTierPolicy', () => {
    it('refuses an unknown tier, an empty policy and a bad duration, saying which', () => {
      // Act
      const unknown = (): unknown => parseTierPolicy({ yearly: '3y' } as never);
      const empty = (): unknown => parseTierPolicy({});
      const bad = (): unknown => parseTierPolicy({ daily: '30 days' });

      // Assess
      expect(unknown).toThrow('unknown tier "yearly"');
      expect(empty).toThrow('give at least one of all, hourly, daily, weekly, monthly');
      expect(bad).toThrow('tiers.daily: "30 days" is not a duration');
    });
  });

  describe('tierOf', () => {
    const points = [
      { seq: 0, atMs: Date.parse('2026-01-04T23:59:59.999Z') }, // Sunday: the ISO week of Dec 29
      { seq: 1, atMs: Date.parse('2026-01-05T00:00:00.000Z') }, // Monday 00:00 opens a week, a day, an hour
      { seq: 2, atMs: Date.parse('2026-01-05T00:30:00.000Z') },
      { seq: 3, atMs: Date.parse('2026-01-05T01:00:00.000Z') },
    ];
    const now = Date.parse('2026-01-05T02:00:00.000Z');

    it('keeps the first point of each bucket; a boundary opens the next bucket', () => {
      // Act
      const tiers = tierOf(points, { hourly: '1d', weekly: '1w' }, now);

      // Assess
      expect(Object.fromEntries(tiers)).toEqual({ 0: ['hourly', 'weekly'], 1: ['hourly', 'weekly'], 2: [], 3: ['hourly'] });
    });

    it('does not keep a point exactly as old as the duration', () => {
      // Act
      const tiers = tierOf(points, { all: '1h', hourly: '2h' }, now); // 01:00 is exactly 1 h old, 00:00 exactly 2 h

      // Assess
      expect(Object.fromEntries(tiers)).toEqual({ 0: [], 1: [], 2: [], 3: ['hourly'] });
    });
  });

  describe('keptBy', () => {
    it('combines the rules: a point survives if keepLast, keepWithinMs or any tier keeps it', () => {
      // Prepare: points at minutes 0, 10, …, 70 (hours 00 and 01)
      const chain = buildChain(Array.from({ length: 8 }, () => ({ delta: [0] })));

      // Act
      const reasons = keptBy(chain, { keepLast: 2, tiers: { hourly: '2h' } }, at(120));
      const doomed = restorePointsToPrune(chain, { keepLast: 2, tiers: { hourly: '2h' } }, at(120));

      // Assess: minute 0 is exactly 2 h old, so hour 00's first point is not kept
      expect(Object.fromEntries(reasons)).toEqual({ 0: [], 1: [], 2: [], 3: [], 4: [], 5: [], 6: ['last', 'hourly'], 7: ['head', 'last'] });
      expect(doomed).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('refuses a policy with a bad tier', () => {
      // Act
      const decide = (): unknown => restorePointsToPrune(buildChain([{ delta: [0] }]), { tiers: { weekly: '12x' } }, at(0));

      // Assess
      expect(decide).toThrow(RetentionError);
      expect(decide).toThrow('tiers.weekly: "12x" is not a duration');
    });
  });

  describe('projectedPoints', () => {
    it('bounds each tier by its buckets and by the syncs in its window, plus the head', () => {
      // Act: 15-minute syncs
      const projected = projectedPoints({ tiers: { all: '6h', hourly: '3d', daily: '30d', weekly: '12w', monthly: '12m' } }, 15);

      // Assess: 24 + 73 + 31 + 13 + 13 + head
      expect(projected).toBe(24 + 73 + 31 + 13 + 13 + 1);
    });

    it('counts keepLast and keepWithinMs too, and never more buckets than syncs', () => {
      // Act: daily syncs keep at most 3 hourly points in 3 days
      const projected = projectedPoints({ keepLast: 10, keepWithinMs: DAY, tiers: { hourly: '3d' } }, 24 * 60);

      // Assess
      expect(projected).toBe(1 + 10 + 1 + 3);
    });

    it('checks the Region quota with each volume’s primary snapshot counted', () => {
      // Act
      const within = snapshotQuotaCheck(99, 1000);
      const over = snapshotQuotaCheck(100, 1000);

      // Assess
      expect(within).toEqual({ snapshots: REGION_SNAPSHOT_QUOTA, quota: REGION_SNAPSHOT_QUOTA, withinQuota: true });
      expect(over.withinQuota).toBe(false);
    });
  });
});

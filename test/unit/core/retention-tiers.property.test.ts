/**
 * Tier selection against a naive model written here without the implementation's arithmetic:
 * buckets are read off the ISO text (`2026-03-04T05` is an hour, `2026-03-04` a day, `2026-03` a
 * month) and an ISO week is named by its Monday's date; "first of its bucket" is a search over
 * every earlier point.
 */
import fc from 'fast-check';
import { keptBy, restorePointsToPrune } from '../../../shared/core/retention';
import { tierOf, TIER_NAMES, type TierName, type TierPolicy } from '../../../shared/core/retention-tiers';
import { buildChain } from './chain-fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const UNIT_MS: Record<string, number> = { h: HOUR, d: DAY, w: 7 * DAY, m: 30 * DAY, y: 365 * DAY };
const START = Date.parse('2025-11-20T00:00:00.000Z');
const SPAN_MINUTES = 200 * 24 * 60;

function naiveBucket(tier: TierName, ms: number): string {
  const iso = new Date(ms).toISOString();
  if (tier === 'hourly') return iso.slice(0, 13);
  if (tier === 'daily') return iso.slice(0, 10);
  if (tier === 'monthly') return iso.slice(0, 7);
  const date = new Date(ms);
  const daysSinceMonday = (date.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - daysSinceMonday)).toISOString().slice(0, 10);
}

function naiveDuration(text: string): number {
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1)];
}

/** The naive model: seq → tiers keeping it, tiers in TIER_NAMES order. */
function naiveTiers(points: ReadonlyArray<{ seq: number; atMs: number }>, policy: TierPolicy, nowMs: number): Map<number, TierName[]> {
  const result = new Map<number, TierName[]>();
  for (const point of points) {
    const tiers: TierName[] = [];
    for (const tier of TIER_NAMES) {
      const text = policy[tier];
      if (text === undefined) continue;
      const young = nowMs - point.atMs < naiveDuration(text);
      const first = tier === 'all' || !points.some((other) => other.seq < point.seq && naiveBucket(tier, other.atMs) === naiveBucket(tier, point.atMs));
      if (young && first) tiers.push(tier);
    }
    result.set(point.seq, tiers);
  }
  return result;
}

const durationArb = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('h', 'd', 'w', 'm', 'y')).map(([n, unit]) => `${n}${unit}`);
const policyArb = fc
  .record({ all: durationArb, hourly: durationArb, daily: durationArb, weekly: durationArb, monthly: durationArb }, { requiredKeys: [] })
  .filter((policy) => Object.keys(policy).length > 0) as fc.Arbitrary<TierPolicy>;
/** Ascending minutes since START (repeats allowed: two points in the same minute). */
const minutesArb = fc.array(fc.integer({ min: 0, max: SPAN_MINUTES }), { minLength: 1, maxLength: 40 }).map((list) => [...list].sort((a, b) => a - b));
const nowArb = fc.integer({ min: -10, max: SPAN_MINUTES + 60 * 24 * 400 });

function pointsOf(minutes: readonly number[]): Array<{ seq: number; atMs: number }> {
  return minutes.map((minute, seq) => ({ seq, atMs: START + minute * 60_000 }));
}

function chainOf(minutes: readonly number[]): ReturnType<typeof buildChain> {
  const offset = (START - Date.parse('2026-01-01T00:00:00.000Z')) / 60_000;
  return buildChain(minutes.map((minute) => ({ delta: [0], pointMinute: offset + minute, commitMinute: offset + minute })));
}

describe('tiered retention (property)', () => {
  it('keeps exactly the points the naive model keeps, by the same tiers', () => {
    fc.assert(fc.property(minutesArb, policyArb, nowArb, (minutes, policy, nowMinute) => {
      // Prepare
      const points = pointsOf(minutes);
      const nowMs = START + nowMinute * 60_000;

      // Act
      const actual = tierOf(points, policy, nowMs);

      // Assess
      expect(actual).toEqual(naiveTiers(points, policy, nowMs));
    }), { numRuns: 300 });
  });

  it('always keeps the head, and prunes only points no tier keeps', () => {
    fc.assert(fc.property(minutesArb, policyArb, nowArb, (minutes, policy, nowMinute) => {
      // Prepare
      const chain = chainOf(minutes);
      const now = new Date(START + nowMinute * 60_000).toISOString();
      const naive = naiveTiers(pointsOf(minutes), policy, Date.parse(now));

      // Act
      const reasons = keptBy(chain, { tiers: policy }, now);
      const doomed = restorePointsToPrune(chain, { tiers: policy }, now);

      // Assess
      const headSeq = minutes.length - 1;
      expect(reasons.get(headSeq)?.[0]).toBe('head');
      expect(doomed).not.toContain(headSeq);
      expect(doomed).toEqual([...naive].filter(([seq, tiers]) => seq !== headSeq && tiers.length === 0).map(([seq]) => seq));
    }), { numRuns: 200 });
  });

  it('is monotonic: lengthening a tier’s duration never keeps fewer points', () => {
    fc.assert(fc.property(minutesArb, policyArb, nowArb, fc.constantFrom(...TIER_NAMES), fc.integer({ min: 1, max: 30 }), (minutes, policy, nowMinute, tier, extraDays) => {
      // Prepare
      const points = pointsOf(minutes);
      const nowMs = START + nowMinute * 60_000;
      const base = policy[tier] ?? '1h';
      const shorter = { ...policy, [tier]: base };
      const longer = { ...policy, [tier]: `${Math.ceil(naiveDuration(base) / DAY) + extraDays}d` };

      // Act
      const keptShort = [...tierOf(points, shorter, nowMs)].filter(([, tiers]) => tiers.length > 0).map(([seq]) => seq);
      const keptLong = new Set([...tierOf(points, longer, nowMs)].filter(([, tiers]) => tiers.length > 0).map(([seq]) => seq));

      // Assess
      expect(keptShort.filter((seq) => !keptLong.has(seq))).toEqual([]);
    }), { numRuns: 200 });
  });

  it('is idempotent: pruning what it prunes leaves a chain it prunes nothing more of', () => {
    fc.assert(fc.property(minutesArb, policyArb, nowArb, (minutes, policy, nowMinute) => {
      // Prepare
      const points = pointsOf(minutes);
      const nowMs = START + nowMinute * 60_000;
      const kept = points.filter((point) => point.seq === points.length - 1 || (tierOf(points, policy, nowMs).get(point.seq) ?? []).length > 0);

      // Act
      const again = tierOf(kept, policy, nowMs);

      // Assess
      expect(kept.filter((point) => point.seq !== points.length - 1 && (again.get(point.seq) ?? []).length === 0)).toEqual([]);
    }), { numRuns: 200 });
  });
});

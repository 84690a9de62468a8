/**
 * What `ebs-cdp protect` says about a retention policy before it stores it: how many restore
 * points (secondary snapshots) it can keep per volume at the sync schedule, and whether that
 * many, for the volumes the user expects to protect alike, fits the Region's snapshot quota.
 */
import { RetentionError } from '../shared/core/errors';
import { projectedPoints, REGION_SNAPSHOT_QUOTA, snapshotQuotaCheck } from '../shared/core/retention-tiers';
import type { RetentionPolicy } from './arguments';
import { UsageError } from './errors';

/** What `protect --json` reports under `projection`. */
export interface RetentionProjection {
  /** Upper bound on the restore points kept per volume (`projectedPoints`). */
  readonly restorePoints: number;
  /** Snapshots of all `volumes`: their restore points plus each head's primary snapshot. */
  readonly snapshots: number;
  readonly volumes: number;
  readonly syncEveryMinutes: number;
  /** Snapshots per Region per account (EBS-FACTS.md). */
  readonly quota: number;
}

const MINUTES: Readonly<Record<string, number>> = { minute: 1, hour: 60, day: 1440 };

/**
 * Minutes between syncs of a schedule: a `rate(…)`'s interval; for a `cron(…)`, 1 (the most
 * often Scheduler can fire), so the projection errs on the safe side.
 */
export function syncEveryMinutesOf(schedule: string): number {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  return match === null ? 1 : Number(match[1]) * MINUTES[match[2]];
}

/**
 * The projection of `retention` at `schedule` for `volumes` volumes.
 *
 * @throws UsageError (exit 2) when the projected snapshots exceed the Region's quota
 */
export function projectRetention(retention: RetentionPolicy, schedule: string, volumes: number): RetentionProjection {
  const syncEveryMinutes = syncEveryMinutesOf(schedule);
  let restorePoints: number;
  try {
    restorePoints = projectedPoints(retention, syncEveryMinutes);
  } catch (error) {
    if (error instanceof RetentionError) throw new UsageError(error.message, 'check --retention (ebs-cdp protect --help)');
    throw error;
  }
  const { snapshots, withinQuota } = snapshotQuotaCheck(restorePoints, volumes);
  if (!withinQuota) {
    throw new UsageError(
      `--retention keeps up to ${restorePoints} restore points per volume (a sync every ${syncEveryMinutes} min); ` +
        `for ${volumes} volume(s) that is up to ${snapshots} snapshots, over the Region's quota of ${REGION_SNAPSHOT_QUOTA} snapshots`,
      'keep fewer points (shorter tiers, a smaller last=), sync less often, or raise the quota through Service Quotas first',
    );
  }
  return { restorePoints, snapshots, volumes, syncEveryMinutes, quota: REGION_SNAPSHOT_QUOTA };
}

/** One line for `protect`'s text output. */
export function renderProjection(projection: RetentionProjection | null): string {
  if (projection === null) return 'retention: none, every restore point is kept until you prune (ebs-cdp prune)';
  const { restorePoints, snapshots, volumes, syncEveryMinutes, quota } = projection;
  return `retention keeps at most ${restorePoints} restore points (a sync every ${syncEveryMinutes} min): ` +
    `${snapshots} snapshots for ${volumes} volume(s), ${((snapshots / quota) * 100).toFixed(1)}% of the Region's quota of ${quota}`;
}

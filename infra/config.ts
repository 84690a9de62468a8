/**
 * The protection config of a deployment: which volumes ebs-cdp protects and how. Read at synth
 * time from the file named by the CDK context key `ebsCdp.config` (`npx cdk deploy -c
 * ebsCdp.config=prod.json`), else from `ebs-cdp.config.json` at the repository root, else
 * empty (no volumes: the stack still synthesizes, which is what CI needs).
 *
 * ```json
 * { "volumes": [{ "volumeId": "vol-0123456789abcdef0" }, { "tag": { "key": "ebs-cdp", "value": "protect" } }],
 *   "syncEveryMinutes": 15, "verifySchedule": "cron(0 3 ? * SUN *)", "retention": { "keepLast": 672 },
 *   "scrub": { "full": "rate(30 days)", "readBack": "rate(1 hour)" } }
 * ```
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { EbsCdpError, RetentionError } from '../shared/core/errors';
import { projectedPoints, REGION_SNAPSHOT_QUOTA, snapshotQuotaCheck, type TierPolicy } from '../shared/core/retention-tiers';
import { tierPolicySchema } from '../shared/engine/sync/schemas';

/** The CDK context key naming the config file. */
export const CONFIG_CONTEXT_KEY = 'ebsCdp.config';

/** The file read when the context names none (relative to the repository root). */
export const DEFAULT_CONFIG_FILE = 'ebs-cdp.config.json';

/**
 * Every 15 minutes: the issue's default RPO. Shorter intervals cost Step Functions transitions
 * and primary snapshots without making a restore point much fresher, since a sync of a busy
 * volume itself takes minutes.
 */
export const DEFAULT_SYNC_EVERY_MINUTES = 15;

/**
 * Scheduler could go down to a minute, but a sync cannot usefully start more often than it takes
 * to snapshot the primary and commit (minutes): more often only queues runs behind the lease.
 */
const MIN_SYNC_EVERY_MINUTES = 5;

/** Weekly, Sunday 03:00 UTC: a full verify reads both sides of every allocated block (hours on large volumes). */
export const DEFAULT_VERIFY_SCHEDULE = 'cron(0 3 ? * SUN *)';

/** Daily at 04:00 UTC: retention works in whole restore points; pruning more often saves almost nothing. */
export const DEFAULT_PRUNE_SCHEDULE = 'cron(0 4 * * ? *)';

/**
 * The full scrub (every retained stored version read back against its digest) every 30 days: the
 * verified design's default schedule in the cost model (bench/README.md). The hourly read-back
 * already reads every new version once, so the full scrub guards only against damage that comes
 * later, found within one period; `rate(7 days)` meets ARCHITECTURE.md's "once per shortest
 * retention tier" for the default week of points, at about four times the reads.
 */
export const DEFAULT_SCRUB_FULL_SCHEDULE = 'rate(30 days)';

/**
 * The read-back of new restore points (only the stored versions committed since the last scrub)
 * every hour: a bad copy a sync just wrote is found within the hour, and reading only what is
 * new costs a few reads per changed block a day.
 */
export const DEFAULT_SCRUB_READ_BACK_SCHEDULE = 'rate(1 hour)';

/** One week of 15-minute restore points: 7 × 24 × 4. */
export const DEFAULT_KEEP_LAST = 672;

/**
 * An RPO of two sync intervals: one missed or slow sync is normal (a lease held by a long
 * verify fix-up), two in a row is something to look at.
 */
export const DEFAULT_RPO_INTERVALS = 2;

/** Thirty days of Lambda and state-machine logs: long enough to investigate a weekly verify twice. */
export const DEFAULT_LOG_RETENTION_DAYS = 30;

const MS_PER_DAY = 86_400_000;

/** The retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** EC2 volume ids, as the engine's schemas accept them. */
const volumeId = z.string().regex(/^vol-[0-9a-f]{8,17}$/, 'a volume id like vol-0123456789abcdef0');

/** EventBridge Scheduler expressions (`rate(…)` / `cron(…)`); `at(…)` is one-off and makes no protection. */
const scheduleExpression = z.string().regex(/^(rate|cron)\(.+\)$/, 'an EventBridge Scheduler expression: rate(…) or cron(…)');

/** `rate(<n> minute[s]|hour[s]|day[s])`: a Scheduler rate whose period can be read (the scrub's windows are sized from it). */
const RATE_EXPRESSION = /^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$/;
const MINUTES_PER_HOUR = 60;
const MINUTES_PER_DAY = 1_440;

/** A scrub schedule: a Scheduler rate with a readable period, or any `cron(…)`. */
const scrubScheduleExpression = z.string().refine((expression) => RATE_EXPRESSION.test(expression) || /^cron\(.+\)$/.test(expression), {
  error: (issue) => `rate(<n> minutes|hours|days) or cron(…), got ${JSON.stringify(issue.input)}`,
});

/** When the scrub runs (ARCHITECTURE.md "Verify": secondary scrub). */
const scrubSchedules = z.object({
  /** Every retained stored version read back: damage at rest is found within one period. */
  full: scrubScheduleExpression.default(DEFAULT_SCRUB_FULL_SCHEDULE),
  /** Only the stored versions of points committed since the last scrub: a bad new copy is found within one period. */
  readBack: scrubScheduleExpression.default(DEFAULT_SCRUB_READ_BACK_SCHEDULE),
}).strict();

/**
 * The period of a `rate(…)` expression in minutes; undefined for a `cron(…)` (its gaps may vary).
 *
 * @example ratePeriodMinutes('rate(7 days)') === 10_080
 */
export function ratePeriodMinutes(expression: string): number | undefined {
  const match = RATE_EXPRESSION.exec(expression);
  if (match === null) return undefined;
  const [, count, unit] = match;
  const minutesPerUnit = unit.startsWith('day') ? MINUTES_PER_DAY : unit.startsWith('hour') ? MINUTES_PER_HOUR : 1;
  return Number(count) * minutesPerUnit;
}

/** An EC2 tag: protect every volume carrying it. */
const tagSelector = z.object({
  key: z.string().min(1).max(128),
  value: z.string().max(256),
}).strict();

const volumeSelector = z.union([
  z.object({ volumeId }).strict(),
  z.object({ tag: tagSelector }).strict(),
]);

const retention = z.object({
  /** Keep at least this many newest restore points. */
  keepLast: z.number().int().positive().optional(),
  /** Keep every restore point younger than this. */
  keepWithinDays: z.number().positive().optional(),
  /**
   * Tiered retention: `{ "all": "6h", "hourly": "3d", "daily": "30d", "weekly": "12w", "monthly": "12m" }`
   * keeps every point of the last 6 hours, the first of each hour for 3 days, … (see
   * `shared/core/retention-tiers.ts`). A point survives if any rule keeps it.
   */
  tiers: tierPolicySchema.optional(),
}).strict().refine((policy) => policy.keepLast !== undefined || policy.keepWithinDays !== undefined || policy.tiers !== undefined, 'give keepLast, keepWithinDays, or both (or tiers)');

/** Region names (`us-east-1`, `eu-central-2`, `us-gov-west-1`). */
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS Region like us-west-2');

/** A key ARN, not an alias or id: IAM grants are scoped to it, so it must name one key exactly. */
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/mrk-[0-9a-f]{32}$/, {
  // The value is named: in a list of keys the index alone does not say which one is wrong.
  error: (issue) => `a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got ${JSON.stringify(issue.input)}`,
});

/** The config file as written. */
export const protectionConfigSchema = z.object({
  volumes: z.array(volumeSelector).default([]),
  syncEveryMinutes: z.number().int().min(MIN_SYNC_EVERY_MINUTES).default(DEFAULT_SYNC_EVERY_MINUTES),
  verifySchedule: scheduleExpression.default(DEFAULT_VERIFY_SCHEDULE),
  /** A quick verify (dirty regions only) runs instead of a full one when true. */
  quickVerify: z.boolean().default(false),
  pruneSchedule: scheduleExpression.default(DEFAULT_PRUNE_SCHEDULE),
  retention: retention.default({ keepLast: DEFAULT_KEEP_LAST }),
  /** The scrub's two schedules (a full read of the retained lineage, and the read-back of new points). */
  scrub: scrubSchedules.default({ full: DEFAULT_SCRUB_FULL_SCHEDULE, readBack: DEFAULT_SCRUB_READ_BACK_SCHEDULE }),
  /** Alarm when the newest restore point is older than this; two sync intervals when absent. */
  rpoMinutes: z.number().int().positive().optional(),
  /** Region of the secondary lineage; the stack's own when absent. */
  secondaryRegion: region.optional(),
  /** Key of an encrypted secondary lineage (in the secondary Region). */
  kmsKeyArn: kmsKeyArn.optional(),
  /**
   * Customer managed keys the protected (primary) volumes are encrypted with, in the stack's
   * Region. Their snapshots inherit the key, so reading them, writing a restore's target (a
   * child of the primary's snapshot) and creating the restored volume need it; without this the
   * tasks can use only unencrypted volumes and those under the AWS managed key `aws/ebs`.
   */
  primaryKmsKeyArns: z.array(kmsKeyArn).optional(),
  /** Subscribe this address to the alerts topic (the subscription must be confirmed by mail). */
  alarmEmail: z.email().optional(),
  /** Grants stop/start/detach/attach on instances, which a restore with `inPlace: true` needs. */
  allowInPlaceRestore: z.boolean().default(false),
  /** Chain-table deletion protection: on unless this deployment is a throw-away test. */
  tableDeletionProtection: z.boolean().default(true),
  logRetentionDays: z.number().int().refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
    message: `one of the retention periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
  }).default(DEFAULT_LOG_RETENTION_DAYS),
}).strict().refine((config) => config.rpoMinutes === undefined || config.rpoMinutes >= config.syncEveryMinutes, {
  message: 'rpoMinutes cannot be shorter than syncEveryMinutes: no sync schedule could meet it',
  path: ['rpoMinutes'],
}).superRefine((config, context) => {
  let check: ReturnType<typeof deploymentSnapshotProjection>;
  try {
    check = deploymentSnapshotProjection(config);
  } catch (error) {
    // A malformed policy already has its own issue; a projection of it means nothing.
    if (error instanceof RetentionError) return;
    throw error;
  }
  if (!check.withinQuota) {
    context.addIssue({
      code: 'custom',
      path: ['retention'],
      message: `this policy keeps up to ${check.pointsPerVolume} restore points per volume (a sync every ${config.syncEveryMinutes} min); ` +
        `with ${check.volumes} volume(s) that is up to ${check.snapshots} snapshots, over the Region's quota of ${REGION_SNAPSHOT_QUOTA} ` +
        '(raise it through Service Quotas first, or keep fewer points)',
    });
  }
});

/**
 * The snapshots a deployment's retention policy can keep in one Region: {@link projectedPoints}
 * per volume (plus its head's primary snapshot) times the volumes. Volumes named by id count once
 * each; a tag selector counts as one volume, because how many volumes carry the tag is only known
 * at run time (a tag that selects many volumes is not caught here).
 */
export function deploymentSnapshotProjection(config: Pick<ProtectionConfig, 'volumes' | 'syncEveryMinutes' | 'retention'>): {
  pointsPerVolume: number; volumes: number; snapshots: number; withinQuota: boolean;
} {
  const { volumeIds, tags } = splitSelectors(config);
  const volumes = volumeIds.length + tags.length;
  const pointsPerVolume = projectedPoints(engineRetention(config.retention), config.syncEveryMinutes);
  const { snapshots, withinQuota } = snapshotQuotaCheck(pointsPerVolume, volumes);
  return { pointsPerVolume, volumes, snapshots, withinQuota };
}

/** The config with every default applied. */
export type ProtectionConfig = z.output<typeof protectionConfigSchema>;
export type VolumeSelector = ProtectionConfig['volumes'][number];
export type TagSelector = z.output<typeof tagSelector>;

/** The config file is missing, is not JSON, or does not match the schema. */
export class ProtectionConfigFileError extends EbsCdpError {
  static override readonly errorName: string = 'ProtectionConfigFileError';
}

/**
 * Validates a parsed config file and applies the defaults.
 *
 * @param source where it came from, for the error message
 * @throws ProtectionConfigFileError listing every problem as `path: message`
 */
export function parseProtectionConfig(raw: unknown, source: string): ProtectionConfig {
  const parsed = protectionConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length === 0 ? '(config)' : issue.path.join('.')}: ${issue.message}`);
    throw new ProtectionConfigFileError(`${source}: the protection config is invalid (${problems.join('; ')})`, { cause: parsed.error });
  }
  return parsed.data;
}

/**
 * Reads the protection config a synth uses: the file the context names (which must exist),
 * else the default file if present, else an empty config.
 *
 * @param contextValue the value of `-c ebsCdp.config=…`, if any
 * @param baseDir where relative paths and the default file are resolved (the repository root)
 */
export function loadProtectionConfig(contextValue: unknown, baseDir: string): ProtectionConfig {
  if (contextValue !== undefined && typeof contextValue !== 'string') {
    throw new ProtectionConfigFileError(`-c ${CONFIG_CONTEXT_KEY} must be a file path, got ${JSON.stringify(contextValue)}`);
  }
  const named = contextValue !== undefined && contextValue !== '';
  const file = path.resolve(baseDir, named ? contextValue : DEFAULT_CONFIG_FILE);
  if (!fs.existsSync(file)) {
    if (named) throw new ProtectionConfigFileError(`${file}: the config file named by -c ${CONFIG_CONTEXT_KEY} does not exist`);
    return parseProtectionConfig({}, 'the empty default config');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ProtectionConfigFileError(`${file}: not a JSON file`, { cause: error });
  }
  return parseProtectionConfig(raw, file);
}

/** The RPO the sync-lag alarm holds the deployment to, in minutes. */
export function rpoMinutesOf(config: ProtectionConfig): number {
  return config.rpoMinutes ?? config.syncEveryMinutes * DEFAULT_RPO_INTERVALS;
}

/**
 * The part of a volume's protection config the engine reads from the chain table's META
 * (`syncProtectionConfigSchema`, `retentionConfigSchema`): days become milliseconds there.
 */
export function engineVolumeConfig(config: ProtectionConfig): { retention: EngineRetention; secondaryKmsKeyId?: string } {
  return {
    retention: engineRetention(config.retention),
    ...(config.kmsKeyArn === undefined ? {} : { secondaryKmsKeyId: config.kmsKeyArn }),
  };
}

/** The retention policy as the engine reads it (`retentionConfigSchema`). */
export interface EngineRetention {
  keepLast?: number;
  keepWithinMs?: number;
  tiers?: TierPolicy;
}

function engineRetention(retention: ProtectionConfig['retention']): EngineRetention {
  const { keepLast, keepWithinDays, tiers } = retention;
  return {
    ...(keepLast === undefined ? {} : { keepLast }),
    ...(keepWithinDays === undefined ? {} : { keepWithinMs: keepWithinDays * MS_PER_DAY }),
    ...(tiers === undefined ? {} : { tiers: { ...tiers } }),
  };
}

/** The volumes named by id, and the tag selectors, apart (they are scheduled differently). */
export function splitSelectors(config: Pick<ProtectionConfig, 'volumes'>): { volumeIds: string[]; tags: TagSelector[] } {
  const volumeIds: string[] = [];
  const tags: TagSelector[] = [];
  for (const selector of config.volumes) {
    if ('volumeId' in selector) volumeIds.push(selector.volumeId);
    else tags.push(selector.tag);
  }
  return { volumeIds: [...new Set(volumeIds)], tags };
}

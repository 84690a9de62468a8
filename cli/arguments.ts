/**
 * Parsers of the command line's arguments and options, each a zod schema over the text given.
 * Each throws commander's `InvalidArgumentError`, which the program turns into a `UsageError`
 * (exit 2) naming the option and the bad value (see `main.ts`). Checks that need the volume (its
 * block count) are here too, as plain functions the commands call before changing anything.
 *
 * The rules (cli/README.md, "Arguments"): numbers are decimal digits only (no `0x10`, `1e3`,
 * `-1`, `1.5`); times are ISO 8601 with a zone and a real calendar date (no `2026-02-30`), and a
 * restore time is not in the future; block lists are ascending ranges within the volume.
 */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { MAX_VOLUME_BLOCKS, MAX_VOLUME_SIZE_GIB } from '../shared/core/constants';
import { RetentionError } from '../shared/core/errors';
import { parseTierDuration, TIER_NAMES, type TierName, type TierPolicy } from '../shared/core/retention-tiers';
import { UsageError } from './errors';

/** `value` through `schema`; its first issue's message as commander's error otherwise. */
function parseWith<T>(schema: z.ZodType<T>, value: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}

/** Decimal digits, as a safe integer: `0x10`, `1e3`, `-1`, `1.5` and `''` are no such number. */
function decimal(expected: string): z.ZodType<number, string> {
  return z
    .string()
    .regex(/^\d+$/, expected)
    .transform(Number)
    .pipe(z.number().int().max(Number.MAX_SAFE_INTEGER, expected));
}

const seqSchema = decimal('a restore point number (0, 1, 2, …): see ebs-cdp points <volume>');

/** A restore-point number. */
export function parseSeq(value: string): number {
  return parseWith(seqSchema, value);
}

const sizeSchema = decimal(`a size in GiB, 1–${MAX_VOLUME_SIZE_GIB}, in decimal digits`).pipe(
  z.number().min(1, `a size in GiB, 1–${MAX_VOLUME_SIZE_GIB}`).max(MAX_VOLUME_SIZE_GIB, `a size in GiB, 1–${MAX_VOLUME_SIZE_GIB}`),
);

/** A volume size in GiB, 1 to EBS's largest, decimal digits only. */
export function parseSizeGiB(value: string): number {
  return parseWith(sizeSchema, value);
}

const positiveSchema = decimal('a whole number ≥ 1, in decimal digits').pipe(z.number().min(1, 'a whole number ≥ 1'));

/** A positive whole number (counts), decimal digits only. */
export function parsePositive(value: string): number {
  return parseWith(positiveSchema, value);
}

/** Largest TCP port. */
const MAX_PORT = 65_535;
const portSchema = decimal(`a TCP port, 1–${MAX_PORT}`).pipe(z.number().min(1, `a TCP port, 1–${MAX_PORT}`).max(MAX_PORT, `a TCP port, 1–${MAX_PORT}`));

/** A TCP port, 1–65535. */
export function parsePort(value: string): number {
  return parseWith(portSchema, value);
}

/** ISO 8601 with a zone; the fields are checked by {@link isCalendarTime}. */
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const TIME_EXPECTED = 'an ISO 8601 time with a zone, e.g. 2026-01-02T03:04:05Z';
/** Hours and minutes of a zone offset: real ones stay within ±14:00. */
const MAX_OFFSET_HOURS = 14;
const MINUTES_PER_HOUR = 60;

/**
 * Whether the date and time fields name a real instant: the date round-trips through `Date`
 * (`2026-02-30` comes back as March 2, so it is refused), hours < 24, minutes and seconds < 60.
 */
function isCalendarTime(value: string): boolean {
  const match = ISO_WITH_ZONE.exec(value);
  if (match === null) return false;
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = match.slice(1).map((field) => (field === undefined ? undefined : Number(field))) as number[];
  const date = new Date(Date.UTC(year, month - 1, day));
  const sameDate = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return sameDate && hour < 24 && minute < MINUTES_PER_HOUR && second < MINUTES_PER_HOUR && offsetHours <= MAX_OFFSET_HOURS && offsetMinutes < MINUTES_PER_HOUR;
}

const timeSchema = z
  .string()
  .regex(ISO_WITH_ZONE, TIME_EXPECTED)
  .refine(isCalendarTime, 'no such date or time on the calendar (check the day of the month and the hours); e.g. 2026-01-02T03:04:05Z');

/** A point in time: ISO 8601 with a zone (`2026-01-02T03:04:05Z`) on a real calendar date, kept as given. */
export function parseTime(value: string): string {
  return parseWith(timeSchema, value);
}

/**
 * `restore --time`: a {@link parseTime} time that is not later than `now`. A time in the future
 * would pick the head restore point, which is not what anybody typing a time means (a typo of
 * the year, a local time given as UTC): refused, so the head is restored only when asked for by
 * its number.
 */
export function parseRestoreTime(value: string, now: number = Date.now()): string {
  const time = parseTime(value);
  if (Date.parse(time) > now) {
    throw new InvalidArgumentError(`that is in the future (now is ${new Date(now).toISOString()}): give a past time, or restore the newest point by its number (--point, see ebs-cdp points <volume>)`);
  }
  return time;
}

/** Milliseconds per unit of a duration. */
const DURATION_UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30m`, `12h`, `7d`, `2w` → milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([mhdw])$/.exec(value);
  if (match === null || Number(match[1]) < 1) throw new InvalidArgumentError('a duration like 30m, 12h, 7d or 2w');
  return Number(match[1]) * DURATION_UNITS[match[2]];
}

/** The retention policy as the protection config stores it. */
export interface RetentionPolicy {
  keepLast?: number;
  keepWithinMs?: number;
  /** Tier → duration text as given (`hourly=3d` → `{ hourly: '3d' }`), see `shared/core/retention-tiers.ts`. */
  tiers?: TierPolicy;
}

const RETENTION_EXPECTED = `last=<count>, within=<duration>, or both: last=10,within=7d; or tiers ${TIER_NAMES.map((tier) => `${tier}=<duration>`).join(', ')}: all=6h,hourly=3d,daily=30d,weekly=12w,monthly=12m`;

/**
 * `--retention`: `last=10` (keep the 10 newest points), `within=7d` (keep every point of the last
 * 7 days), and tiers `all=6h,hourly=3d,daily=30d,weekly=12w,monthly=12m` (every point of 6 hours,
 * the first of each hour for 3 days, …; tier durations take h, d, w, m = 30 days, y = 365 days),
 * comma-separated in any mix: a point is kept if any of them keeps it.
 */
export function parseRetention(value: string): RetentionPolicy {
  const policy: RetentionPolicy = {};
  const tiers: TierPolicy = {};
  for (const part of value.split(',')) {
    const [key, setting] = part.split('=');
    if (key === 'last' && setting !== undefined) policy.keepLast = parsePositive(setting);
    else if (key === 'within' && setting !== undefined) policy.keepWithinMs = parseDuration(setting);
    else if ((TIER_NAMES as readonly string[]).includes(key) && setting !== undefined) tiers[key as TierName] = tierDuration(setting, key);
    else throw new InvalidArgumentError(RETENTION_EXPECTED);
  }
  if (Object.keys(tiers).length > 0) policy.tiers = tiers;
  return policy;
}

function tierDuration(setting: string, tier: string): string {
  try {
    parseTierDuration(setting, tier);
  } catch (error) {
    if (error instanceof RetentionError) throw new InvalidArgumentError(error.message);
    throw error;
  }
  return setting;
}

/** A schedule as EventBridge Scheduler takes it: `rate(5 minutes)` or `cron(…)`; a bare duration becomes a rate. */
export function parseSchedule(value: string): string {
  if (/^(rate|cron)\(.+\)$/.test(value)) return value;
  const ms = parseDuration(value);
  return `rate(${ms / DURATION_UNITS.m} minutes)`;
}

/** One inclusive range of block indexes, `start ≤ end`. */
export interface BlockRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Block lists: `0-99,200,300-310` → inclusive ranges, as people write them. Each range runs low
 * to high and stays within the largest EBS volume; whether it fits the volume written is
 * {@link blocksWithin}'s question. Ranges, not blocks: `0-300000000` must not be expanded to be
 * refused.
 */
export function parseBlockRanges(value: string): BlockRange[] {
  const ranges: BlockRange[] = [];
  for (const part of value.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) throw new InvalidArgumentError(`"${part}" is no block index or range: give block indexes like 0-99,200,300-310`);
    const start = Number(match[1]);
    const end = match[2] === undefined ? start : Number(match[2]);
    if (end < start) throw new InvalidArgumentError(`range ${part.trim()} runs backwards: write it low to high (${end}-${start})`);
    if (end >= MAX_VOLUME_BLOCKS) throw new InvalidArgumentError(`block ${end} is beyond the largest EBS volume (${MAX_VOLUME_BLOCKS} blocks of 512 KiB)`);
    ranges.push({ start, end });
  }
  return ranges;
}

/** Every block of `ranges`, ascending, without repeats. */
export function expandBlocks(ranges: readonly BlockRange[]): number[] {
  const blocks = new Set<number>();
  for (const { start, end } of ranges) for (let blockIndex = start; blockIndex <= end; blockIndex++) blocks.add(blockIndex);
  return [...blocks].sort((a, b) => a - b);
}

/** Block lists as {@link parseBlockRanges} reads them, expanded: every block named, ascending, without repeats. */
export function parseBlocks(value: string): number[] {
  return expandBlocks(parseBlockRanges(value));
}

/**
 * Blocks one `volume write` writes at most: the workload request carries them as one JSON list
 * (a few MiB), and 512 GiB of fresh content is already far more than a try-out needs.
 */
export const MAX_WRITE_BLOCKS = 1_048_576;

/**
 * The blocks of `ranges` on a volume of `totalBlocks` blocks.
 * @throws UsageError (exit 2) naming the first block outside the volume and its block count, or a list too long for one write.
 */
export function blocksWithin(ranges: readonly BlockRange[], totalBlocks: number, volumeId: string): number[] {
  const outside = ranges.find((range) => range.end >= totalBlocks);
  if (outside !== undefined) {
    throw new UsageError(`--blocks ${outside.start === outside.end ? outside.end : `${outside.start}-${outside.end}`} is outside ${volumeId}: it has ${totalBlocks} blocks of 512 KiB (0-${totalBlocks - 1})`, `pick blocks within 0-${totalBlocks - 1}`);
  }
  const count = ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0);
  if (count > MAX_WRITE_BLOCKS) throw new UsageError(`--blocks names ${count} blocks; one write takes at most ${MAX_WRITE_BLOCKS}`, 'split it into several ebs-cdp volume write commands');
  return expandBlocks(ranges);
}

/**
 * `--random N` on a volume of `totalBlocks` blocks: N distinct random blocks, so N must not
 * exceed the volume's block count (asking for more would silently write every block).
 * @throws UsageError (exit 2) naming N and the block count.
 */
export function checkRandomCount(count: number, totalBlocks: number, volumeId: string): number {
  if (count > totalBlocks) {
    throw new UsageError(`--random ${count} asks for more blocks than ${volumeId} has (${totalBlocks} blocks of 512 KiB)`, `give --random ${totalBlocks} or less, or --blocks 0-${totalBlocks - 1} to write every block`);
  }
  if (count > MAX_WRITE_BLOCKS) throw new UsageError(`--random ${count}: one write takes at most ${MAX_WRITE_BLOCKS} blocks`, 'split it into several ebs-cdp volume write commands');
  return count;
}

/** EC2 volume ids: `vol-` then hex (the emulator's follow the same shape). */
export function parseVolumeId(value: string): string {
  if (!/^vol-[0-9a-f]+$/i.test(value)) throw new InvalidArgumentError('a volume id like vol-0123456789abcdef0');
  return value;
}

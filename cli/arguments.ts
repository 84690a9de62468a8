/**
 * Parsers of the command line's arguments and options. Each throws commander's
 * `InvalidArgumentError`, which commander turns into a usage error (exit 2) naming the option.
 */
import { InvalidArgumentError } from 'commander';
import { MAX_VOLUME_SIZE_GIB } from '../shared/core/constants';

/** A restore-point number. */
export function parseSeq(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a restore point number (0, 1, 2, …): see ebs-cdp points <volume>');
  return Number(value);
}

/** A volume size in GiB, 1 to EBS's largest. */
export function parseSizeGiB(value: string): number {
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1 || size > MAX_VOLUME_SIZE_GIB) throw new InvalidArgumentError(`a size in GiB, 1–${MAX_VOLUME_SIZE_GIB}`);
  return size;
}

/** A positive whole number (counts). */
export function parsePositive(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('a whole number ≥ 1');
  return count;
}

/** A point in time: ISO 8601 with a zone (`2026-01-02T03:04:05Z`), kept as given. */
export function parseTime(value: string): string {
  const isoWithZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
  if (!isoWithZone.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('an ISO 8601 time with a zone, e.g. 2026-01-02T03:04:05Z');
  }
  return value;
}

/** Milliseconds per unit of a duration. */
const DURATION_UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30m`, `12h`, `7d`, `2w` → milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([mhdw])$/.exec(value);
  if (match === null) throw new InvalidArgumentError('a duration like 30m, 12h, 7d or 2w');
  return Number(match[1]) * DURATION_UNITS[match[2]];
}

/** The retention policy as the protection config stores it. */
export interface RetentionPolicy {
  keepLast?: number;
  keepWithinMs?: number;
}

/**
 * `--retention`: `last=10` (keep the 10 newest points), `within=7d` (keep every point of the last
 * 7 days), or both, comma-separated: `last=10,within=7d` (a point is kept if either keeps it).
 */
export function parseRetention(value: string): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const part of value.split(',')) {
    const [key, setting] = part.split('=');
    if (key === 'last' && setting !== undefined) policy.keepLast = parsePositive(setting);
    else if (key === 'within' && setting !== undefined) policy.keepWithinMs = parseDuration(setting);
    else throw new InvalidArgumentError('last=<count>, within=<duration>, or both: last=10,within=7d');
  }
  return policy;
}

/** A schedule as EventBridge Scheduler takes it: `rate(5 minutes)` or `cron(…)`; a bare duration becomes a rate. */
export function parseSchedule(value: string): string {
  if (/^(rate|cron)\(.+\)$/.test(value)) return value;
  const ms = parseDuration(value);
  return `rate(${ms / DURATION_UNITS.m} minutes)`;
}

/**
 * Block lists: `0-99,200,300-310` → every block named, ascending, without repeats. Ranges are
 * inclusive, as people write them.
 */
export function parseBlocks(value: string): number[] {
  const blocks = new Set<number>();
  for (const part of value.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) throw new InvalidArgumentError('block indexes like 0-99,200,300-310');
    const start = Number(match[1]);
    const end = match[2] === undefined ? start : Number(match[2]);
    if (end < start) throw new InvalidArgumentError(`range ${part} runs backwards`);
    for (let blockIndex = start; blockIndex <= end; blockIndex++) blocks.add(blockIndex);
  }
  return [...blocks].sort((a, b) => a - b);
}

/** EC2 volume ids: `vol-` then hex (the emulator's follow the same shape). */
export function parseVolumeId(value: string): string {
  if (!/^vol-[0-9a-f]+$/i.test(value)) throw new InvalidArgumentError('a volume id like vol-0123456789abcdef0');
  return value;
}

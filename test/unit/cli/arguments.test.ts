import { InvalidArgumentError } from 'commander';
import {
  blocksWithin,
  checkRandomCount,
  parseBlockRanges,
  parseBlocks,
  parseDuration,
  parsePort,
  parsePositive,
  parseRestoreTime,
  parseRetention,
  parseSchedule,
  parseSeq,
  parseSizeGiB,
  parseTime,
  parseVolumeId,
} from '../../../cli/arguments';
import { EXIT_CODES, UsageError } from '../../../cli/errors';

describe('arguments', () => {
  describe('parseBlocks', () => {
    it('expands inclusive ranges and single blocks, ascending and without repeats', () => {
      // Act
      const blocks = parseBlocks('5-7,2,6,10-10');

      // Assess
      expect(blocks).toEqual([2, 5, 6, 7, 10]);
    });

    it('rejects a range that runs backwards and text that is no block list', () => {
      // Assess
      expect(() => parseBlocks('9-3')).toThrow(InvalidArgumentError);
      expect(() => parseBlocks('a-b')).toThrow(/block indexes like/);
    });
  });

  describe('parseRetention', () => {
    it('reads a count, a duration, or both', () => {
      // Assess
      expect(parseRetention('last=10')).toEqual({ keepLast: 10 });
      expect(parseRetention('within=7d')).toEqual({ keepWithinMs: 7 * 86_400_000 });
      expect(parseRetention('last=3,within=12h')).toEqual({ keepLast: 3, keepWithinMs: 12 * 3_600_000 });
    });

    it('rejects unknown keys and a zero count', () => {
      // Assess
      expect(() => parseRetention('keep=3')).toThrow(InvalidArgumentError);
      expect(() => parseRetention('last=0')).toThrow(InvalidArgumentError);
    });
  });

  describe('parseSchedule', () => {
    it('keeps rate() and cron() expressions and turns a bare duration into a rate in minutes', () => {
      // Assess
      expect(parseSchedule('rate(5 minutes)')).toBe('rate(5 minutes)');
      expect(parseSchedule('cron(0 3 * * ? *)')).toBe('cron(0 3 * * ? *)');
      expect(parseSchedule('1h')).toBe('rate(60 minutes)');
    });
  });

  describe('parseDuration', () => {
    it('multiplies by the unit', () => {
      // Assess
      expect(parseDuration('30m')).toBe(1_800_000);
      expect(parseDuration('2w')).toBe(1_209_600_000);
      expect(() => parseDuration('5s')).toThrow(InvalidArgumentError);
    });
  });

  describe('parseSeq', () => {
    it('accepts whole numbers only', () => {
      // Assess
      expect(parseSeq('0')).toBe(0);
      expect(parseSeq('42')).toBe(42);
      expect(() => parseSeq('-1')).toThrow(InvalidArgumentError);
      expect(() => parseSeq('1.5')).toThrow(InvalidArgumentError);
    });
  });

  describe('parseTime', () => {
    it('accepts ISO 8601 with a zone and rejects a time without one', () => {
      // Assess
      expect(parseTime('2026-01-02T03:04:05Z')).toBe('2026-01-02T03:04:05Z');
      expect(parseTime('2026-01-02T03:04:05.123+02:00')).toBe('2026-01-02T03:04:05.123+02:00');
      expect(() => parseTime('2026-01-02T03:04:05')).toThrow(/with a zone/);
      expect(() => parseTime('yesterday')).toThrow(InvalidArgumentError);
    });
  });

  describe('parseSizeGiB', () => {
    it('accepts 1 GiB to the EBS maximum', () => {
      // Assess
      expect(parseSizeGiB('4')).toBe(4);
      expect(() => parseSizeGiB('0')).toThrow(InvalidArgumentError);
      expect(() => parseSizeGiB('65537')).toThrow(InvalidArgumentError);
    });
  });

  describe('parseVolumeId', () => {
    it('accepts EC2 volume ids only', () => {
      // Assess
      expect(parseVolumeId('vol-0123456789abcdef0')).toBe('vol-0123456789abcdef0');
      expect(() => parseVolumeId('snap-0123')).toThrow(InvalidArgumentError);
    });
  });

  describe('bad input (issue 17)', () => {
    it('refuses a backwards range and a non-list, naming the bad part', () => {
      // Assess
      expect(() => parseBlockRanges('5-1')).toThrow('range 5-1 runs backwards: write it low to high (1-5)');
      expect(() => parseBlockRanges('abc')).toThrow('"abc" is no block index or range');
      expect(() => parseBlockRanges('1,,2')).toThrow(InvalidArgumentError);
      expect(() => parseBlockRanges('-3')).toThrow(InvalidArgumentError);
    });

    it('refuses 0-300000000 as beyond any EBS volume without expanding it', () => {
      // Assess
      expect(() => parseBlocks('0-300000000')).toThrow(/block 300000000 is beyond the largest EBS volume \(134217728 blocks/);
    });

    it('checks the ranges against the volume and names its block count', () => {
      // Prepare
      const ranges = parseBlockRanges('0-3,8190-8192');

      // Act
      const refusal = (() => {
        try {
          blocksWithin(ranges, 8_192, 'vol-1');
        } catch (error) {
          return error;
        }
        return undefined;
      })();

      // Assess
      expect(blocksWithin(parseBlockRanges('3,0-1,1'), 8_192, 'vol-1')).toEqual([0, 1, 3]);
      expect(refusal).toBeInstanceOf(UsageError);
      expect((refusal as UsageError).exitCode).toBe(EXIT_CODES.usage);
      expect((refusal as UsageError).message).toBe('--blocks 8190-8192 is outside vol-1: it has 8192 blocks of 512 KiB (0-8191)');
      expect((refusal as UsageError).hint).toBe('pick blocks within 0-8191');
    });

    it('refuses --random beyond the volume\'s block count, naming both', () => {
      // Assess
      expect(checkRandomCount(8_192, 8_192, 'vol-1')).toBe(8_192);
      expect(() => checkRandomCount(99_999, 8_192, 'vol-1')).toThrow(UsageError);
      expect(() => checkRandomCount(99_999, 8_192, 'vol-1')).toThrow('--random 99999 asks for more blocks than vol-1 has (8192 blocks of 512 KiB)');
    });

    it('takes sizes and counts in decimal digits only', () => {
      // Assess
      for (const bad of ['0x10', '1e3', '-1', '0', '1.5', '', ' 4', '4 ']) {
        expect(() => parseSizeGiB(bad)).toThrow(InvalidArgumentError);
        expect(() => parsePositive(bad)).toThrow(InvalidArgumentError);
      }
      expect(() => parseSizeGiB('0x10')).toThrow('a size in GiB, 1–65536, in decimal digits');
      expect(parseSizeGiB('16')).toBe(16);
      expect(parsePositive('010')).toBe(10);
      expect(() => parseSeq('99999999999999999999')).toThrow(InvalidArgumentError);
      expect(() => parseSeq('0x1')).toThrow(InvalidArgumentError);
      expect(parsePort('8080')).toBe(8_080);
      expect(() => parsePort('70000')).toThrow('a TCP port, 1–65535');
      expect(() => parseDuration('0d')).toThrow(InvalidArgumentError);
    });

    it('refuses dates that are not on the calendar and times out of range', () => {
      // Assess
      for (const bad of ['2026-02-30T00:00:00Z', '2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-04-31T00:00:00Z', '2026-01-02T24:00:00Z', '2026-01-02T03:60:00Z', '2026-01-02T03:04:61Z', '2026-01-02T03:04:05+25:00']) {
        expect(() => parseTime(bad)).toThrow(/no such date or time on the calendar/);
      }
      expect(parseTime('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00Z');
      expect(parseTime('2026-01-02T03:04Z')).toBe('2026-01-02T03:04Z');
    });

    it('refuses a restore time in the future and keeps one in the past', () => {
      // Prepare
      const now = Date.parse('2026-06-01T00:00:00Z');

      // Assess
      expect(parseRestoreTime('2026-05-31T23:59:59Z', now)).toBe('2026-05-31T23:59:59Z');
      expect(parseRestoreTime('2026-06-01T00:00:00Z', now)).toBe('2026-06-01T00:00:00Z');
      expect(() => parseRestoreTime('2026-06-01T00:00:01Z', now)).toThrow('that is in the future (now is 2026-06-01T00:00:00.000Z)');
      expect(() => parseRestoreTime('2026-06-01T01:00:00+02:00', now)).not.toThrow();
    });
  });
});

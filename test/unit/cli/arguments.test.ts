import { InvalidArgumentError } from 'commander';
import { parseBlocks, parseDuration, parseRetention, parseSchedule, parseSeq, parseSizeGiB, parseTime, parseVolumeId } from '../../../cli/arguments';

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
});

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  atLeast,
  atMost,
  below,
  BenchSummaryError,
  CONTEXT,
  exactly,
  goalText,
  meetsGoal,
  mergeFigures,
  readSummary,
  recordFigures,
} from '../../../bench/summary';

describe('bench summary', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebs-cdp-summary-'));
    path = join(dir, 'results', 'summary.json');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('meetsGoal', () => {
    it('includes the bound for ≤ and ≥ and excludes it for < and >', () => {
      // Assess
      expect(meetsGoal(1.4, atMost(1.4))).toBe(true);
      expect(meetsGoal(1.41, atMost(1.4))).toBe(false);
      expect(meetsGoal(1, below(1))).toBe(false);
      expect(meetsGoal(0.99, below(1))).toBe(true);
      expect(meetsGoal(0.8, atLeast(0.8))).toBe(true);
      expect(meetsGoal(0.79, atLeast(0.8))).toBe(false);
      expect(meetsGoal(1, { compare: '>', bound: 1 })).toBe(false);
      expect(meetsGoal(0, exactly(0))).toBe(true);
      expect(meetsGoal(2, exactly(0))).toBe(false);
    });

    it('never misses a context figure', () => {
      // Assess
      expect(meetsGoal(-1e9, CONTEXT)).toBe(true);
    });
  });

  describe('goalText', () => {
    it('writes the goal as the READMEs do', () => {
      // Assess
      expect([atMost(1.4), below(1), atLeast(0.8), exactly(0), CONTEXT].map(goalText)).toEqual(['≤ 1.4', '< 1', '≥ 0.8', '= 0', 'context']);
    });
  });

  describe('mergeFigures', () => {
    it('replaces figures of the same name, keeps the others and derives met from the goal', () => {
      // Prepare
      const existing = {
        figures: {
          'quota.sync.get': { value: 0.8, goal: '≥ 0.9', met: false },
          'throughput.sync_vs_raw': { value: 0.5, goal: '≥ 0.8', met: false },
        },
      };

      // Act
      const merged = mergeFigures(existing, { 'throughput.sync_vs_raw': { value: 0.85, goal: atLeast(0.8) } });

      // Assess
      expect(merged.figures).toEqual({
        'quota.sync.get': { value: 0.8, goal: '≥ 0.9', met: false },
        'throughput.sync_vs_raw': { value: 0.85, goal: '≥ 0.8', met: true },
      });
    });

    it('refuses a name that is not dotted lowercase, and a value JSON cannot carry', () => {
      // Assess
      for (const name of ['Throughput.syncVsRaw', 'throughput', 'throughput..raw', 'delta-map.size', '.quota.sync']) {
        expect(() => mergeFigures({ figures: {} }, { [name]: { value: 1, goal: CONTEXT } })).toThrow(BenchSummaryError);
      }
      for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => mergeFigures({ figures: {} }, { 'quota.sync.get': { value, goal: atLeast(0.9) } })).toThrow(/no finite value/);
      }
    });
  });

  describe('recordFigures', () => {
    it('starts a fresh summary when there is no file, creating its folder', () => {
      // Act
      recordFigures({ 'cost.vs_drs': { value: 0.9, goal: below(1) } }, path);

      // Assess
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ figures: { 'cost.vs_drs': { value: 0.9, goal: '< 1', met: true } } });
    });

    it('keeps the figures of the benches that did not run', () => {
      // Prepare
      recordFigures({ 'quota.sync.get': { value: 0.8, goal: atLeast(0.9) }, 'quota.failed_blocks': { value: 0, goal: exactly(0) } }, path);

      // Act
      recordFigures({ 'throughput.sync_vs_raw': { value: 0.6, goal: atLeast(0.8) } }, path);
      recordFigures({ 'quota.sync.get': { value: 0.95, goal: atLeast(0.9) } }, path);

      // Assess
      expect(readSummary(path).figures).toEqual({
        'quota.failed_blocks': { value: 0, goal: '= 0', met: true },
        'quota.sync.get': { value: 0.95, goal: '≥ 0.9', met: true },
        'throughput.sync_vs_raw': { value: 0.6, goal: '≥ 0.8', met: false },
      });
    });

    it('leaves no temp file beside the summary', () => {
      // Act
      recordFigures({ 'cost.vs_drs': { value: 0.9, goal: below(1) } }, path);

      // Assess
      expect(readdirSync(join(dir, 'results'))).toEqual(['summary.json']);
    });

    it('does not touch the file when a figure is refused', () => {
      // Prepare
      recordFigures({ 'cost.vs_drs': { value: 0.9, goal: below(1) } }, path);
      const before = readFileSync(path, 'utf8');

      // Act
      const act = (): unknown => recordFigures({ 'cost.vs_drs': { value: Number.NaN, goal: below(1) } }, path);

      // Assess
      expect(act).toThrow(BenchSummaryError);
      expect(readFileSync(path, 'utf8')).toBe(before);
    });
  });

  describe('readSummary', () => {
    it('answers an empty summary when there is no file', () => {
      // Assess
      expect(readSummary(path)).toEqual({ figures: {} });
      expect(existsSync(path)).toBe(false);
    });

    it.each([
      ['bad JSON', '{"figures": {', /is not valid JSON/],
      ['no figures object', '{"rows": []}', /has no "figures" object/],
      ['figures as an array', '{"figures": []}', /has no "figures" object/],
      ['null', 'null', /has no "figures" object/],
      ['a figure without met', '{"figures": {"quota.sync.get": {"value": 1, "goal": "≥ 0.9"}}}', /holds figure "quota.sync.get"/],
    ])('refuses a file with %s, naming the file and how to start over, and leaves it as it was', (_what, text, message) => {
      // Prepare
      recordFigures({}, path);
      writeFileSync(path, text);

      // Act
      const act = (): unknown => recordFigures({ 'cost.vs_drs': { value: 0.9, goal: below(1) } }, path);

      // Assess
      expect(act).toThrow(BenchSummaryError);
      expect(act).toThrow(message);
      expect(act).toThrow(`${path} `);
      expect(act).toThrow(/delete it to start a fresh summary/);
      expect(readFileSync(path, 'utf8')).toBe(text);
    });
  });
});

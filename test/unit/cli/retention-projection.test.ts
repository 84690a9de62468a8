import { InvalidArgumentError } from 'commander';
import { parseRetention } from '../../../cli/arguments';
import { keptByLabel, pointRows, renderPoints } from '../../../cli/chain-view';
import { CliError, EXIT_CODES } from '../../../cli/errors';
import { main } from '../../../cli/main';
import { projectRetention, renderProjection, syncEveryMinutesOf } from '../../../cli/retention-projection';
import { buildChain } from '../core/chain-fixtures';

/** Runs `main(argv)` with stdout and stderr captured. */
async function run(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('protect: retention tiers and their projection', () => {
  describe('parseRetention', () => {
    it('reads tiers, alone or mixed with last= and within=', () => {
      // Assess
      expect(parseRetention('all=6h,hourly=3d,daily=30d,weekly=12w,monthly=12m')).toEqual({
        tiers: { all: '6h', hourly: '3d', daily: '30d', weekly: '12w', monthly: '12m' },
      });
      expect(parseRetention('last=3,daily=1y')).toEqual({ keepLast: 3, tiers: { daily: '1y' } });
    });

    it('refuses a bad tier duration, naming the tier and the value', () => {
      // Act
      const parse = (): unknown => parseRetention('hourly=3days');

      // Assess
      expect(parse).toThrow(InvalidArgumentError);
      expect(parse).toThrow('hourly: "3days" is not a duration');
    });
  });

  describe('projectRetention', () => {
    it('projects the restore points and snapshots of a policy at a schedule', () => {
      // Act
      const projection = projectRetention({ tiers: { all: '6h', hourly: '3d', daily: '30d', weekly: '12w', monthly: '12m' } }, 'rate(15 minutes)', 2);

      // Assess
      expect(projection).toEqual({ restorePoints: 155, snapshots: 312, volumes: 2, syncEveryMinutes: 15, quota: 100_000 });
      expect(renderProjection(projection)).toBe("retention keeps at most 155 restore points (a sync every 15 min): 312 snapshots for 2 volume(s), 0.3% of the Region's quota of 100000");
    });

    it('reads a rate in hours or days; a cron schedule counts as a sync every minute', () => {
      // Assess
      expect([syncEveryMinutesOf('rate(1 hour)'), syncEveryMinutesOf('rate(2 days)'), syncEveryMinutesOf('cron(0 * * * ? *)')]).toEqual([60, 2880, 1]);
    });

    it('refuses, exit 2, a policy that would exceed the Region’s snapshot quota', () => {
      // Act
      let error: unknown;
      try {
        projectRetention({ keepLast: 1000 }, 'rate(5 minutes)', 100);
      } catch (caught) {
        error = caught;
      }

      // Assess
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(EXIT_CODES.usage);
      expect((error as CliError).message).toBe("--retention keeps up to 1001 restore points per volume (a sync every 5 min); for 100 volume(s) that is up to 100200 snapshots, over the Region's quota of 100000 snapshots");
    });

    it('makes protect refuse it before touching any volume', async () => {
      // Act
      const result = await run(['protect', 'vol-0123456789abcdef0', '--retention', 'all=1y', '--schedule', '5m']);

      // Assess
      expect(result.code).toBe(EXIT_CODES.usage);
      expect(result.stderr).toContain("error: --retention keeps up to 105121 restore points per volume (a sync every 5 min); for 1 volume(s) that is up to 105122 snapshots, over the Region's quota of 100000 snapshots");
      expect(result.stderr).toContain('next: keep fewer points');
    });
  });

  describe('points: kept by', () => {
    it('shows the rules keeping each point, prune for none, and no column without reasons', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1] }, { delta: [2], status: 'pending' }]);

      // Act
      const rows = pointRows(chain, new Map([[0, []], [1, ['head', 'hourly']]]));
      const plain = renderPoints(pointRows(chain));

      // Assess
      expect(rows.map((row) => [row.seq, row.keptBy])).toEqual([[0, []], [1, ['head', 'hourly']], [2, null]]);
      expect(rows.map(keptByLabel)).toEqual(['prune', 'head, hourly', '-']);
      expect(renderPoints(rows)).toContain('kept by');
      expect(plain).not.toContain('kept by');
    });
  });
});

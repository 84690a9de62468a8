import { main } from '../../../cli/main';
import { EXIT_CODES } from '../../../cli/errors';

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
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('main', () => {
  describe('usage errors', () => {
    it('prints the error and what to do next on stderr, exit 2', async () => {
      // Act
      const result = await run(['volume', 'write', 'vol-01', '--blocks', '5-1']);

      // Assess
      expect(result.code).toBe(EXIT_CODES.usage);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe("error: option '--blocks <list>' argument '5-1' is invalid. range 5-1 runs backwards: write it low to high (1-5)\n  next: see ebs-cdp volume write --help\n");
    });

    it('prints the error as one JSON document on stdout under --json, wherever --json stands', async () => {
      // Act
      const late = await run(['volume', 'create', '--size', '0x10', '--json']);
      const early = await run(['--json', 'backup']);
      const missing = await run(['sync', '--json']);

      // Assess
      expect(late.code).toBe(EXIT_CODES.usage);
      expect(JSON.parse(late.stdout)).toEqual({
        error: 'UsageError',
        message: "option '--size <GiB>' argument '0x10' is invalid. a size in GiB, 1–65536, in decimal digits",
        hint: 'see ebs-cdp volume create --help',
        exitCode: EXIT_CODES.usage,
      });
      expect(early.code).toBe(EXIT_CODES.usage);
      expect(JSON.parse(early.stdout)).toMatchObject({ error: 'UsageError', message: "unknown command 'backup'", exitCode: EXIT_CODES.usage });
      expect(JSON.parse(missing.stdout)).toMatchObject({ error: 'UsageError', message: "missing required argument 'volume'", hint: 'see ebs-cdp sync --help' });
    });

    it('refuses a calendar date that does not exist and a restore time in the future', async () => {
      // Act
      const february = await run(['restore', 'vol-01', '--local', '--time', '2026-02-30T00:00:00Z']);
      const future = await run(['restore', 'vol-01', '--local', '--time', '2999-01-01T00:00:00Z', '--json']);

      // Assess
      expect(february.code).toBe(EXIT_CODES.usage);
      expect(february.stderr).toContain("argument '2026-02-30T00:00:00Z' is invalid. no such date or time on the calendar");
      expect(future.code).toBe(EXIT_CODES.usage);
      expect(JSON.parse(future.stdout).message).toContain('is in the future');
    });

    it('answers a command group without its command with exit 2', async () => {
      // Act
      const result = await run(['local', '--json']);

      // Assess
      expect(result.code).toBe(EXIT_CODES.usage);
      expect(JSON.parse(result.stdout.slice(result.stdout.indexOf('{')))).toMatchObject({ error: 'UsageError', message: 'ebs-cdp local needs a command' });
    });

    it('keeps --help an answer, not an error (exit 0)', async () => {
      // Act
      const result = await run(['--help']);

      // Assess
      expect(result.code).toBe(EXIT_CODES.ok);
      expect(result.stdout).toContain('Usage: ebs-cdp');
    });
  });
});

import { formatBlocks, formatDuration, formatProgress, formatTable, Output } from '../../../cli/output';

/** A stream that keeps what was written. */
function buffer(isTTY = false): { text: string; isTTY: boolean; write(chunk: string): boolean } {
  return { text: '', isTTY, write(chunk: string) { this.text += chunk; return true; } };
}

describe('output', () => {
  describe('formatTable', () => {
    it('pads columns to their widest cell and right-aligns numbers', () => {
      // Prepare
      const rows = [{ name: 'a', count: 5 }, { name: 'longer', count: 1234 }];

      // Act
      const table = formatTable([{ header: 'name', value: (r: (typeof rows)[number]) => r.name }, { header: 'n', value: (r: (typeof rows)[number]) => r.count, align: 'right' }], rows);

      // Assess
      expect(table.split('\n')).toEqual(['name       n', '------  ----', 'a          5', 'longer  1234']);
    });
  });

  describe('formatBlocks', () => {
    it('shows 512 KiB blocks in MiB, GiB from 1,024 MiB', () => {
      // Assess
      expect(formatBlocks(3)).toBe('2 MiB');
      expect(formatBlocks(1_536)).toBe('768 MiB');
      expect(formatBlocks(4_096)).toBe('2.0 GiB');
    });
  });

  describe('formatDuration', () => {
    it('uses seconds under a minute, then minutes and seconds', () => {
      // Assess
      expect(formatDuration(1_250)).toBe('1.3s');
      expect(formatDuration(83_400)).toBe('1m 23.4s');
    });
  });

  describe('formatProgress', () => {
    it('draws a bar with blocks, rate and ETA when the total is known', () => {
      // Act: 100 of 400 blocks (50 MiB) in 2 s
      const line = formatProgress('sync', 100, 400, 2_000);

      // Assess
      expect(line).toBe(`sync [${'#'.repeat(6)}${'-'.repeat(18)}] 100/400 blocks  25.0 MiB/s  ETA 6s`);
    });

    it('shows only the count and rate while the total is unknown', () => {
      // Assess
      expect(formatProgress('verify', 10, undefined, 1_000)).toBe('verify  10 blocks  5.0 MiB/s');
    });
  });

  describe('Output', () => {
    it('prints one parseable JSON document with --json, narration going to stderr', () => {
      // Prepare
      const stdout = buffer(true);
      const stderr = buffer();
      const output = new Output(true, { stdout, stderr });

      // Act
      output.say('starting');
      output.result({ seq: 3 }, () => 'text');

      // Assess
      expect(JSON.parse(stdout.text)).toEqual({ seq: 3 });
      expect(stderr.text).toBe('starting\n');
    });

    it('draws progress only on a terminal', () => {
      // Prepare
      const pipe = buffer(false);
      const tty = buffer(true);

      // Act
      new Output(false, { stdout: pipe, stderr: buffer() }).progress('sync').setTotal(10);
      new Output(false, { stdout: tty, stderr: buffer() }).progress('sync').setTotal(10);

      // Assess
      expect(pipe.text).toBe('');
      expect(tty.text).toContain('0/10 blocks');
    });
  });
});

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalCloudStateError, readLocalCloudState, requireLocalCloud, STATE_FILE } from '../../../cli/local-cloud';
import { classifyError, EXIT_CODES } from '../../../cli/errors';

/** A data directory holding `content` as its state file. */
function dataDirWith(content: string): { dataDir: string; file: string } {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ebs-cdp-state-'));
  const file = path.join(dataDir, STATE_FILE);
  writeFileSync(file, content);
  return { dataDir, file };
}

/** A state of a local cloud whose pid is `pid`. */
function state(pid: number): Record<string, unknown> {
  return {
    pid, startedAt: '2026-01-01T00:00:00.000Z', emulator: 'http://127.0.0.1:1', dynamoDb: 'http://127.0.0.1:2', stepFunctions: 'http://127.0.0.1:3',
    workload: 'http://127.0.0.1:4', chainTable: 'ebs-cdp-chain', region: 'us-east-1', zone: 'us-east-1a', dataDir: '/tmp/x',
  };
}

describe('local-cloud.json', () => {
  it('refuses a file that is not JSON with exit 5, naming the file, and keeps it', async () => {
    // Prepare
    const { dataDir, file } = dataDirWith('{ not json');

    // Act
    const error = await requireLocalCloud(dataDir).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(LocalCloudStateError);
    expect(classifyError(error)).toMatchObject({ exitCode: EXIT_CODES.unreachable, name: 'LocalCloudStateError' });
    expect((error as LocalCloudStateError).message).toContain(`${file} is not valid JSON`);
    expect((error as LocalCloudStateError).hint).toContain(`rm ${file}`);
    expect(readFileSync(file, 'utf8')).toBe('{ not json');
  });

  it('refuses {} as no local cloud state, naming the missing fields, and keeps the file', async () => {
    // Prepare
    const { dataDir, file } = dataDirWith('{}');

    // Act
    const error = await readLocalCloudState(dataDir).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(LocalCloudStateError);
    expect((error as LocalCloudStateError).message).toContain('missing or wrong: pid, startedAt');
    expect(existsSync(file)).toBe(true);
  });

  it('names a live pid of a damaged file in the hint: that process must be stopped first', async () => {
    // Prepare: this test's own process stands for the running local cloud.
    const { dataDir } = dataDirWith(JSON.stringify({ pid: process.pid }));

    // Act
    const error = await readLocalCloudState(dataDir).catch((caught: unknown) => caught);

    // Assess
    expect((error as LocalCloudStateError).hint).toContain(`pid ${process.pid} is alive`);
    expect((error as LocalCloudStateError).hint).toContain(`kill ${process.pid}`);
  });

  it('reads a running cloud\'s state, and removes a stale one whose process is gone', async () => {
    // Prepare
    const running = dataDirWith(JSON.stringify(state(process.pid)));
    const stale = dataDirWith(JSON.stringify(state(2 ** 22 + 12_345)));

    // Act
    const found = await readLocalCloudState(running.dataDir);
    const gone = await readLocalCloudState(stale.dataDir);

    // Assess
    expect(found?.pid).toBe(process.pid);
    expect(gone).toBeUndefined();
    expect(existsSync(stale.file)).toBe(false);
  });
});

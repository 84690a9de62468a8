/**
 * The command line against a local cloud it started itself (`ebs-cdp local start`), as a user runs
 * it: every command a child process, `--json` output parsed and asserted, exit codes checked.
 *
 * ```
 *  volume create (2 GiB) ─► write 0-39 ─► protect ─► sync → point 0 (40 blocks)
 *  write 5-9, 100 ─► sync → point 1 (6 blocks) ─► restore point 0 → new volume = the volume at point 0
 * ```
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { freshHome, runCli, runCliJson, STACK_LINE } from './cli-harness';

/** Jobs compile the state machines in each child process: give them room on two shared cores. */
const JOB_TIMEOUT_MS = 120_000;

describe('ebs-cdp command line (local cloud)', () => {
  const home = freshHome();
  let volumeId = '';

  beforeAll(async () => {
    const started = await runCliJson<{ running: boolean; emulator: string }>(home, ['local', 'start']);
    expect(started.run.code).toBe(0);
    expect(started.json.emulator).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  }, JOB_TIMEOUT_MS);

  afterAll(async () => {
    await runCli(home, ['local', 'stop']);
  }, JOB_TIMEOUT_MS);

  describe('local status', () => {
    it('reports the running local cloud with its endpoints and data directory', async () => {
      // Act
      const { run, json } = await runCliJson<{ running: boolean; healthy: boolean; dataDir: string; dynamoDb: string }>(home, ['local', 'status']);

      // Assess
      expect(run.code).toBe(0);
      expect(json).toMatchObject({ running: true, healthy: true, dataDir: `${home}/local` });
      expect(json.dynamoDb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    });
  });

  describe('protect, sync, points, status, restore', () => {
    it('protects a written volume, syncs twice, lists the points and restores the first one byte for byte', async () => {
      // Prepare
      const created = await runCliJson<{ volumeId: string; size: number }>(home, ['volume', 'create', '--size', '2']);
      volumeId = created.json.volumeId;
      expect(created.json.size).toBe(2);
      expect((await runCliJson<{ written: number }>(home, ['volume', 'write', volumeId, '--blocks', '0-39'])).json.written).toBe(40);
      const protectedVolume = await runCliJson<{ volumeSize: number; config: { retention?: unknown } }>(home, ['protect', volumeId, '--local', '--retention', 'last=5']);
      expect(protectedVolume.json).toMatchObject({ volumeSize: 2, config: { retention: { keepLast: 5 } } });

      // Act
      const first = await runCliJson<{ seq: number; kind: string; blocks: number }>(home, ['sync', volumeId, '--local']);
      const atPointZero = await runCliJson<{ blocks: Record<string, string> }>(home, ['volume', 'digest', volumeId]);
      await runCliJson(home, ['volume', 'write', volumeId, '--blocks', '5-9,100']);
      const second = await runCliJson<{ seq: number; kind: string; blocks: number }>(home, ['sync', volumeId, '--local']);
      const unchanged = await runCliJson<{ skipped?: string; seq?: number }>(home, ['sync', volumeId, '--local']);
      const points = await runCliJson<Array<{ seq: number; kind: string; blocks: number; trust: string }>>(home, ['points', volumeId, '--local']);
      const status = await runCliJson<{ headSeq: number; restorePoints: number; lease: unknown; lastSync: { status: string } }>(home, ['status', volumeId, '--local']);
      const restored = await runCliJson<{ newVolumeId: string; blocksWritten: number; restorePoint: { seq: number } }>(home, ['restore', volumeId, '--local', '--point', '0']);
      const restoredDigest = await runCliJson<{ blocks: Record<string, string> }>(home, ['volume', 'digest', restored.json.newVolumeId]);

      // Assess
      expect(first.run.code).toBe(0);
      expect(first.json).toMatchObject({ seq: 0, kind: 'baseline', blocks: 40 });
      expect(second.json).toMatchObject({ seq: 1, kind: 'sync', blocks: 6 });
      // Nothing was written since point 1: the sync commits no empty restore point.
      expect(unchanged.run.code).toBe(0);
      expect(unchanged.json).toEqual({ skipped: 'unchanged' });
      expect(points.json.map((p) => [p.seq, p.kind, p.blocks, p.trust])).toEqual([[0, 'baseline', 40, 'trusted'], [1, 'sync', 6, 'trusted']]);
      expect(status.json).toMatchObject({ headSeq: 1, restorePoints: 2, lease: null, lastSync: { status: 'succeeded' } });
      expect(restored.run.code).toBe(0);
      expect(restored.json.restorePoint.seq).toBe(0);
      // A delta restore writes back only what changed since point 0: blocks 5-9 and 100.
      expect(restored.json.blocksWritten).toBe(6);
      expect(Object.keys(atPointZero.json.blocks)).toHaveLength(40);
      expect(restoredDigest.json.blocks).toEqual(atPointZero.json.blocks);
    }, 4 * JOB_TIMEOUT_MS);
  });

  /**
   * ```
   *  volume create (1 GiB) ─► write 0-19 ─► protect ─► sync → point 0 (20 blocks)
   *  scrub → clean (exit 0) ─► scrub --new → nothing new ─► corrupt block 7 of S_0 ─► scrub → 1 bad version (exit 1)
   * ```
   */
  describe('scrub', () => {
    it('reads the stored versions back (exit 0), a read-back reads nothing new, and damage at rest exits 1 with the report as the one JSON document', async () => {
      // Prepare
      const created = await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1']);
      const scrubbed = created.json.volumeId;
      await runCliJson(home, ['volume', 'write', scrubbed, '--blocks', '0-19']);
      await runCliJson(home, ['protect', scrubbed, '--local']);
      expect((await runCliJson<{ seq: number }>(home, ['sync', scrubbed, '--local'])).json.seq).toBe(0);
      const local = await runCliJson<{ emulator: string }>(home, ['local', 'status']);
      const [point] = (await runCliJson<Array<{ secondarySnapshotId: string }>>(home, ['points', scrubbed, '--local'])).json;

      // Act
      const clean = await runCliJson<{ scope: string; pointsRead: number; badVersions: number; suspectPoints: unknown[] }>(home, ['scrub', scrubbed, '--local']);
      const nothingNew = await runCliJson<{ scope: string; pointsRead: number; badVersions: number }>(home, ['scrub', scrubbed, '--local', '--new']);
      const corrupted = await fetch(`${local.json.emulator}/_emulator/corrupt`, { method: 'POST', body: JSON.stringify({ snapshotId: point?.secondarySnapshotId, blockIndex: 7 }) });
      const damaged = await runCliJson<{ badVersions: number; suspectPoints: Array<{ seq: number; suspectBlocks: number }> }>(home, ['scrub', scrubbed, '--local']);
      const text = await runCli(home, ['scrub', scrubbed, '--local']);
      const status = await runCliJson<{ lastScrub: { job: string; status: string } }>(home, ['status', scrubbed, '--local']);
      const points = await runCliJson<Array<{ seq: number; trust: string; suspectBlocks: number }>>(home, ['points', scrubbed, '--local']);

      // Assess
      expect(clean.run.code).toBe(0);
      expect(clean.json).toMatchObject({ scope: 'all', pointsRead: 1, badVersions: 0, suspectPoints: [] });
      expect(nothingNew.run.code).toBe(0);
      expect(nothingNew.json).toMatchObject({ scope: 'new', pointsRead: 0, badVersions: 0 });
      expect(corrupted.ok).toBe(true);
      expect(damaged.run.code).toBe(1);
      expect(damaged.json).toMatchObject({ badVersions: 1, suspectPoints: [{ seq: 0, suspectBlocks: 1 }] });
      expect(damaged.run.stderr).toContain('error: scrub found 1 bad stored versions');
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('found 1 bad stored versions');
      expect(text.stdout).toContain('suspect: point 0 (1 bad)');
      expect(text.stderr).toContain(`next: see which restore points are suspect: ebs-cdp points ${scrubbed} --local`);
      expect(text.stderr).not.toMatch(STACK_LINE);
      expect(status.json.lastScrub).toMatchObject({ job: 'scrub', status: 'succeeded' });
      expect(points.json.map((p) => [p.seq, p.trust, p.suspectBlocks])).toEqual([[0, 'suspect', 1]]);
    }, 8 * JOB_TIMEOUT_MS);
  });

  describe('errors', () => {
    it('answers an unknown volume with exit 3 and says what to do, without a stack trace', async () => {
      // Act
      const run = await runCli(home, ['points', 'vol-0000000000000dead', '--local']);

      // Assess
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('vol-0000000000000dead is not protected');
      expect(run.stderr).toContain('next: check the id (ebs-cdp volume list --local), then protect it');
      expect(run.stderr).not.toMatch(STACK_LINE);
    });

    it('answers an unknown volume under --json with the error as JSON', async () => {
      // Act
      const { run, json } = await runCliJson<{ error: string; exitCode: number; hint: string }>(home, ['sync', 'vol-0000000000000dead', '--local']);

      // Assess
      expect(run.code).toBe(3);
      expect(json).toMatchObject({ error: 'NotFoundError', exitCode: 3 });
      expect(json.hint).toContain('ebs-cdp protect vol-0000000000000dead');
    });

    it('answers bad arguments with exit 2 and no stack trace', async () => {
      // Act
      const badPoint = await runCli(home, ['restore', 'vol-0123', '--local', '--point', 'latest']);
      const bothPoints = await runCli(home, ['restore', 'vol-0123', '--local', '--point', '1', '--time', '2026-01-01T00:00:00Z']);
      const badVolume = await runCli(home, ['sync', 'snap-0123', '--local']);
      const unknownCommand = await runCli(home, ['backup']);

      // Assess
      for (const run of [badPoint, bothPoints, badVolume, unknownCommand]) {
        expect(run.code).toBe(2);
        expect(run.stderr).not.toMatch(STACK_LINE);
      }
      expect(badPoint.stderr).toContain('a restore point number');
      expect(badVolume.stderr).toContain('a volume id like vol-');
    });

    it('answers a usage error under --json with the error as JSON on stdout, exit 2', async () => {
      // Act
      const text = await runCli(home, ['volume', 'write', 'vol-0123', '--blocks', '5-1']);
      const { run, json } = await runCliJson<{ error: string; message: string; hint: string; exitCode: number }>(home, ['volume', 'write', 'vol-0123', '--blocks', '5-1']);

      // Assess
      expect(text.code).toBe(2);
      expect(text.stderr).toContain("argument '5-1' is invalid. range 5-1 runs backwards");
      expect(text.stderr).toContain('next: see ebs-cdp volume write --help');
      expect(run.code).toBe(2);
      expect(json).toEqual({ error: 'UsageError', message: expect.stringContaining('range 5-1 runs backwards'), hint: 'see ebs-cdp volume write --help', exitCode: 2 });
    });

    it('refuses --random beyond the volume and writes nothing (exit 2)', async () => {
      // Prepare
      const { json: created } = await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1']);

      // Act
      const run = await runCli(home, ['volume', 'write', created.volumeId, '--random', '99999', '--blocks', '0-9']);
      const digest = await runCliJson<{ dataBlocks: number }>(home, ['volume', 'digest', created.volumeId]);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--random 99999 asks for more blocks than ${created.volumeId} has (2048 blocks of 512 KiB)`);
      expect(digest.json.dataBlocks).toBe(0);
    }, JOB_TIMEOUT_MS);

    it('answers a prune of a restore point the volume does not have with exit 3, pruning nothing', async () => {
      // Prepare: the volume protected and synced twice above.
      expect(volumeId).not.toBe('');

      // Act
      const { run, json } = await runCliJson<{ error: string; message: string; exitCode: number }>(home, ['prune', volumeId, '--local', '--point', '0', '--point', '99']);
      const points = await runCliJson<Array<{ seq: number }>>(home, ['points', volumeId, '--local']);

      // Assess
      expect(run.code).toBe(3);
      expect(json).toMatchObject({ error: 'NotFoundError', exitCode: 3 });
      expect(json.message).toContain(`${volumeId} has no restore point 99`);
      expect(points.json.map((p) => p.seq)).toEqual([0, 1]);
    }, JOB_TIMEOUT_MS);

    it('refuses a local-cloud.json that is no state with exit 5, and neither deletes it nor loses the running cloud', async () => {
      // Prepare
      const file = path.join(home, 'local', 'local-cloud.json');
      const original = await fsp.readFile(file, 'utf8');
      let notJson: Awaited<ReturnType<typeof runCli>>;
      let empty: Awaited<ReturnType<typeof runCli>>;
      let kept: string;
      try {
        // Act
        await fsp.writeFile(file, '{ "pid": ');
        notJson = await runCli(home, ['points', 'vol-0123', '--local']);
        await fsp.writeFile(file, '{}');
        empty = await runCliJson<unknown>(home, ['local', 'status']).then(({ run }) => run);
        kept = await fsp.readFile(file, 'utf8');
      } finally {
        await fsp.writeFile(file, original);
      }
      const status = await runCliJson<{ running: boolean; healthy: boolean }>(home, ['local', 'status']);

      // Assess
      expect(notJson.code).toBe(5);
      expect(notJson.stderr).toContain(`error: ${file} is not valid JSON`);
      expect(notJson.stderr).toContain(`rm ${file}`);
      expect(notJson.stderr).not.toMatch(STACK_LINE);
      expect(empty.code).toBe(5);
      expect(JSON.parse(empty.stdout)).toMatchObject({ error: 'LocalCloudStateError', exitCode: 5 });
      expect(kept).toBe('{}');
      expect(status.json).toMatchObject({ running: true, healthy: true });
    }, JOB_TIMEOUT_MS);

    it('answers a write to a volume that does not exist with exit 3', async () => {
      // Act
      const run = await runCli(home, ['volume', 'write', 'vol-0000000000000beef', '--blocks', '1']);

      // Assess
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('ebs-cdp volume list');
    });
  });
});

describe('ebs-cdp command line (no local cloud)', () => {
  it('says the local cloud is not running (exit 5) and how to start it', async () => {
    // Act
    const run = await runCli(freshHome(), ['points', 'vol-0123', '--local']);

    // Assess
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('next: start it with: ebs-cdp local start');
    expect(run.stderr).not.toMatch(STACK_LINE);
  });
});

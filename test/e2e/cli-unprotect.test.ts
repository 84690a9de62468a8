/**
 * `ebs-cdp unprotect` against a local cloud it started itself, every command a child process.
 *
 * ```
 *  volume A: write 0-9 ─► protect ─► sync (point 0) ─► write 3 ─► sync (point 1) ─► unprotect                  → S_0, S_1, P_1 kept
 *  volume B: write 0-9 ─► protect ─► sync (point 0) ─► write 3 ─► sync (point 1) ─► unprotect --delete-restore-points → all 3 deleted
 *  volume C: protect ─► a job holds the lease ─► unprotect → busy (exit 4), still protected
 *  volume D: protect ─► a job holds the lease ─► sync → busy (exit 4), naming the holder
 * ```
 */
import * as path from 'node:path';
import { localEngineContext, requireLocalCloud } from '../../cli/local-cloud';
import type { EngineContext } from '../../shared/engine/context';
import { VOLUME_ID_TAG } from '../../shared/core/tags';
import { freshHome, runCli, runCliJson, STACK_LINE } from './cli-harness';

/** Jobs compile the state machines in each child process: give them room on two shared cores. */
const JOB_TIMEOUT_MS = 120_000;

/** Restore points each synced volume gets: the baseline and one sync. */
const RESTORE_POINTS = 2;

interface UnprotectJson {
  volumeId: string;
  restorePoints: number;
  deleted: string[];
  kept: string[];
  failed: unknown[];
}

describe('ebs-cdp unprotect (local cloud)', () => {
  const home = freshHome();
  let context: EngineContext;

  beforeAll(async () => {
    const started = await runCliJson<{ running: boolean }>(home, ['local', 'start']);
    expect(started.run.code).toBe(0);
    context = localEngineContext(await requireLocalCloud(path.join(home, 'local')));
  }, JOB_TIMEOUT_MS);

  afterAll(async () => {
    context.close();
    await runCli(home, ['local', 'stop']);
  }, JOB_TIMEOUT_MS);

  /** A 1 GiB volume with two restore points; returns its id. */
  async function volumeWithTwoPoints(): Promise<string> {
    const { json } = await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1']);
    await runCliJson(home, ['volume', 'write', json.volumeId, '--blocks', '0-9']);
    expect((await runCliJson(home, ['protect', json.volumeId, '--local'])).run.code).toBe(0);
    expect((await runCliJson<{ seq: number }>(home, ['sync', json.volumeId, '--local'])).json.seq).toBe(0);
    await runCliJson(home, ['volume', 'write', json.volumeId, '--blocks', '3']);
    expect((await runCliJson<{ seq: number }>(home, ['sync', json.volumeId, '--local'])).json.seq).toBe(1);
    return json.volumeId;
  }

  /** Snapshot ids ebs-cdp owns for the volume, on either side (the local cloud has one EC2). */
  async function ownedSnapshots(volumeId: string): Promise<string[]> {
    const owned = await context.secondary.lookup.findOwned([{ key: VOLUME_ID_TAG, value: volumeId }]);
    return owned.map((snapshot) => snapshot.snapshotId).sort();
  }

  describe('unprotect', () => {
    it('forgets the chain, keeps every snapshot and says how to delete them', async () => {
      // Prepare
      const volumeId = await volumeWithTwoPoints();
      const before = await ownedSnapshots(volumeId);

      // Act
      const { run, json } = await runCliJson<UnprotectJson>(home, ['unprotect', volumeId, '--local']);
      const text = await runCli(home, ['unprotect', volumeId, '--local']);
      const points = await runCli(home, ['points', volumeId, '--local']);

      // Assess
      expect(run.code).toBe(0);
      expect(json).toMatchObject({ volumeId, restorePoints: RESTORE_POINTS, deleted: [], failed: [] });
      // S_0, S_1 and P_1 (the base of the next ListChangedBlocks): the sync deleted P_0.
      expect(before).toHaveLength(RESTORE_POINTS + 1);
      expect([...json.kept].sort()).toEqual(before);
      expect(await ownedSnapshots(volumeId)).toEqual(before);
      expect(text.code).toBe(3);
      expect(text.stderr).toContain('is not protected');
      expect(points.code).toBe(3);
    }, 4 * JOB_TIMEOUT_MS);

    it('with --delete-restore-points deletes the restore points and the last primary snapshot, and the volume can be protected again', async () => {
      // Prepare
      const volumeId = await volumeWithTwoPoints();
      const before = await ownedSnapshots(volumeId);

      // Act
      const { run, json } = await runCliJson<UnprotectJson>(home, ['unprotect', volumeId, '--local', '--delete-restore-points']);
      const after = await ownedSnapshots(volumeId);
      const reprotected = await runCliJson<{ headSeq: number | null }>(home, ['protect', volumeId, '--local']);
      const baseline = await runCliJson<{ seq: number; kind: string; blocks: number }>(home, ['sync', volumeId, '--local']);

      // Assess
      expect(run.code).toBe(0);
      expect(json).toMatchObject({ volumeId, restorePoints: RESTORE_POINTS, kept: [], failed: [] });
      expect([...json.deleted].sort()).toEqual(before);
      expect(after).toEqual([]);
      expect(reprotected.json.headSeq).toBeNull();
      expect(baseline.json).toMatchObject({ seq: 0, kind: 'baseline', blocks: 10 });
    }, 5 * JOB_TIMEOUT_MS);

    it('refuses while a job holds the lease (exit 4), without a stack trace, and leaves the volume protected', async () => {
      // Prepare
      const { json } = await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1']);
      const volumeId = json.volumeId;
      await runCliJson(home, ['protect', volumeId, '--local']);
      await context.store.acquireLease(volumeId, { holder: 'exec-e2e', runId: 'sync-e2e', ttlMs: JOB_TIMEOUT_MS });

      // Act
      const run = await runCli(home, ['unprotect', volumeId, '--local', '--delete-restore-points']);

      // Assess
      expect(run.code).toBe(4);
      expect(run.stderr).toContain('run sync-e2e of exec-e2e holds its lease');
      expect(run.stderr).not.toMatch(STACK_LINE);
      expect((await context.store.getVolume(volumeId)).lease?.runId).toBe('sync-e2e');
    }, JOB_TIMEOUT_MS);
  });

  describe('sync of a busy volume', () => {
    it('exits 4 naming the run that holds the lease, with the error as JSON under --json', async () => {
      // Prepare
      const { json } = await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1']);
      const volumeId = json.volumeId;
      await runCliJson(home, ['protect', volumeId, '--local']);
      await context.store.acquireLease(volumeId, { holder: 'exec-busy', runId: 'sync-busy', ttlMs: JOB_TIMEOUT_MS });

      // Act
      const text = await runCli(home, ['sync', volumeId, '--local']);
      const asJson = await runCliJson<{ error: string; message: string; hint: string; exitCode: number }>(home, ['sync', volumeId, '--local']);

      // Assess
      expect(text.code).toBe(4);
      expect(text.stderr).toContain(`error: no new restore point of ${volumeId}: run sync-busy of exec-busy holds the volume's lease`);
      expect(text.stderr).toContain(`next: wait for that run to finish (ebs-cdp status ${volumeId} --local shows the lease)`);
      expect(text.stderr).not.toMatch(STACK_LINE);
      expect(asJson.run.code).toBe(4);
      expect(asJson.json).toMatchObject({ error: 'SyncBusyError', exitCode: 4 });
      expect(asJson.json.message).toContain('run sync-busy of exec-busy');
    }, 2 * JOB_TIMEOUT_MS);
  });
});

/**
 * `ebs-cdp unlock` against a local cloud it started itself, every command a child process.
 *
 * ```
 *  volume A: protect ─► sync (execution S, SUCCEEDED) ─► a lease left by S ─► unlock → broken (exit 0), status: free
 *  volume B: protect ─► a live lease whose holder is no execution ─► unlock → exit 3, lease kept
 *  volume C: protect ─► unlock → nothing to unlock (exit 0)
 * ```
 * Refusing a RUNNING execution (exit 4) needs an execution held running, which the local cloud's
 * jobs (well under a second) do not give: test/integration/local/unlock.test.ts covers it with
 * the local Step Functions endpoint and a runner the test holds.
 */
import * as path from 'node:path';
import { localEngineContext, requireLocalCloud } from '../../cli/local-cloud';
import type { EngineContext } from '../../shared/engine/context';
import { freshHome, runCli, runCliJson, STACK_LINE } from './cli-harness';

/** Jobs compile the state machines in each child process: give them room on two shared cores. */
const JOB_TIMEOUT_MS = 120_000;

interface UnlockJson {
  volumeId: string;
  unlocked: boolean;
  lease?: { runId: string; fencingToken: number };
  execution?: { executionArn: string; status: string };
}

describe('ebs-cdp unlock (local cloud)', () => {
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

  async function protectedVolume(): Promise<string> {
    const { json } = await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1']);
    await runCliJson(home, ['volume', 'write', json.volumeId, '--blocks', '0-3']);
    expect((await runCliJson(home, ['protect', json.volumeId, '--local'])).run.code).toBe(0);
    return json.volumeId;
  }

  it('breaks the lease an ended execution left behind, and status then shows the volume free', async () => {
    // Prepare: a sync's execution ran (SUCCEEDED); a lease in its name is left as a crash would leave it
    const volumeId = await protectedVolume();
    expect((await runCliJson<{ seq: number }>(home, ['sync', volumeId, '--local'])).json.seq).toBe(0);
    const status = await runCliJson<{ lastSync: { runId: string } | null }>(home, ['status', volumeId, '--local']);
    const runId = status.json.lastSync?.runId ?? '';
    const grant = await context.store.acquireLease(volumeId, { holder: runId, runId, ttlMs: JOB_TIMEOUT_MS });

    // Act
    const unlocked = await runCliJson<UnlockJson>(home, ['unlock', volumeId, '--local']);
    const after = await runCliJson<{ lease: unknown }>(home, ['status', volumeId, '--local']);

    // Assess
    expect(unlocked.run.code).toBe(0);
    expect(unlocked.json).toMatchObject({ volumeId, unlocked: true, lease: { runId, fencingToken: grant.fencingToken }, execution: { status: 'SUCCEEDED' } });
    expect(unlocked.json.execution?.executionArn).toContain(`:execution:`);
    expect(unlocked.json.execution?.executionArn).toContain(runId);
    expect(after.json.lease).toBeNull();
  }, 3 * JOB_TIMEOUT_MS);

  it('refuses a live lease whose holder is no execution of the stack (exit 3), without a stack trace, and keeps it', async () => {
    // Prepare
    const volumeId = await protectedVolume();
    await context.store.acquireLease(volumeId, { holder: 'exec-gone', runId: 'sync-gone', ttlMs: JOB_TIMEOUT_MS });

    // Act
    const run = await runCli(home, ['unlock', volumeId, '--local']);

    // Assess
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('no execution of the stack\'s jobs is exec-gone');
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect((await context.store.getVolume(volumeId)).lease?.runId).toBe('sync-gone');
  }, JOB_TIMEOUT_MS);

  it('says there is nothing to unlock on a free volume', async () => {
    // Prepare
    const volumeId = await protectedVolume();

    // Act
    const run = await runCli(home, ['unlock', volumeId, '--local']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`volume ${volumeId} holds no lease: nothing to unlock`);
  }, JOB_TIMEOUT_MS);
});

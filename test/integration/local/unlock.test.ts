/**
 * `unlock`'s logic (cli/unlock.ts) with real SDK clients: the chain store on dynalite, and the
 * local Step Functions endpoint answering DescribeExecution. The endpoint's runner is a gate the
 * test opens, so an execution stays RUNNING exactly as long as the test needs it to.
 *
 * ```
 *  StartExecution(sync-live) ─► RUNNING ─ unlock ✗ LeaseHeldError (exit 4), lease kept
 *  open the gate ─► FAILED (a crash without Catch: lease left) ─ unlock ✓ lease broken, next run takes it
 *  holder of no execution: live lease ✗ RunNotFoundError (exit 3) │ expired lease ✓ broken
 * ```
 */
import { SFNClient, StartExecutionCommand, DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { findDeployedJobs, findExecution } from '../../../cli/aws-jobs';
import { EXIT_CODES } from '../../../cli/errors';
import { LeaseHeldError, RunNotFoundError, unlockVolume, type ExecutionFinder } from '../../../cli/unlock';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/config';
import { startStepFunctions, type ExecutionEnd, type RunExecution, type RunningStepFunctions } from '../../../local/stepfunctions';
import { startHarness, TABLE_NAME, uniqueVolumeId, type Harness } from '../aws/chain-store-harness';

const STACK_NAME = 'EbsCdpEngine';
const TTL_MS = 300_000;
const WHERE = { where: ' --local' };

describe('unlock', () => {
  let harness: Harness;
  let endpoint: RunningStepFunctions;
  let sfn: SFNClient;
  let finder: ExecutionFinder;
  /** Opens the gate of each execution by name, ending it with the given end. */
  const gates = new Map<string, (end: ExecutionEnd) => void>();

  const run: RunExecution = (_job, _input, options) => new Promise<ExecutionEnd>((resolve) => gates.set(options.runId, resolve));

  beforeAll(async () => {
    harness = await startHarness();
    endpoint = await startStepFunctions({ run, region: LOCAL_REGION, stackName: STACK_NAME, chainTable: TABLE_NAME });
    sfn = new SFNClient({ endpoint: endpoint.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const machines = Object.values((await findDeployedJobs(sfn, STACK_NAME, 'the local endpoint')).machines);
    finder = { findExecution: (name) => findExecution(sfn, machines, name) };
  });

  afterAll(async () => {
    sfn.destroy();
    await endpoint.stop();
    await harness.stop();
  });

  async function protectedVolume(label: string): Promise<string> {
    const volumeId = uniqueVolumeId(label);
    await harness.store.protectVolume(volumeId, { volumeSize: 8, config: {} });
    return volumeId;
  }

  /** Starts a Sync execution named `name` that runs until its gate opens. */
  async function startExecution(name: string, volumeId: string): Promise<string> {
    const machines = (await findDeployedJobs(sfn, STACK_NAME, 'the local endpoint')).machines;
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: machines.Sync, name, input: JSON.stringify({ volumeId }) }));
    return started.executionArn ?? '';
  }

  async function endExecution(name: string, executionArn: string, end: ExecutionEnd): Promise<void> {
    gates.get(name)?.(end);
    for (let poll = 0; poll < 500; poll++) {
      if ((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status !== 'RUNNING') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${executionArn} still runs`);
  }

  it('refuses while the lease\'s execution is RUNNING (exit 4, naming it), and breaks the lease once it has died', async () => {
    // Prepare: a sync execution that holds the lease (its run id is the execution name)
    const volumeId = await protectedVolume('live');
    const name = `sync-live-${Date.now()}`;
    const executionArn = await startExecution(name, volumeId);
    const grant = await harness.store.acquireLease(volumeId, { holder: name, runId: name, ttlMs: TTL_MS });

    // Act: unlock while it runs, then after it died without its Catch (the lease left behind)
    const refused = unlockVolume(harness.store, finder, volumeId, { now: Date.now(), ...WHERE });
    await expect(refused).rejects.toBeInstanceOf(LeaseHeldError);
    const leaseWhileRunning = (await harness.store.getVolume(volumeId)).lease;
    await endExecution(name, executionArn, { status: 'FAILED', error: 'Lambda.Unknown', cause: 'the process died' });
    const unlocked = await unlockVolume(harness.store, finder, volumeId, { now: Date.now(), ...WHERE });

    // Assess
    await expect(refused).rejects.toMatchObject({ exitCode: EXIT_CODES.busy, name: 'LeaseHeldError' });
    await expect(refused).rejects.toThrow(`its execution ${executionArn} is still running`);
    expect(leaseWhileRunning?.fencingToken).toBe(grant.fencingToken);
    expect(unlocked).toMatchObject({ volumeId, unlocked: true, execution: { executionArn, status: 'FAILED' }, lease: { runId: name, fencingToken: grant.fencingToken } });
    expect((await harness.store.getVolume(volumeId)).lease).toBeUndefined();
    const next = await harness.store.acquireLease(volumeId, { holder: 'next', runId: 'next', ttlMs: TTL_MS });
    expect(next.fencingToken).toBe(grant.fencingToken + 1);
  });

  it('answers nothing to unlock for a free volume', async () => {
    // Prepare
    const volumeId = await protectedVolume('free');

    // Act
    const outcome = await unlockVolume(harness.store, finder, volumeId, { now: Date.now(), ...WHERE });

    // Assess
    expect(outcome).toEqual({ volumeId, unlocked: false });
  });

  it('refuses a live lease whose holder is no execution of the stack (exit 3), and breaks it once it has expired', async () => {
    // Prepare
    const volumeId = await protectedVolume('unknown');
    const now = Date.now();
    const grant = await harness.store.acquireLease(volumeId, { holder: 'not-an-execution', runId: 'not-an-execution', ttlMs: TTL_MS, now });

    // Act
    const refused = unlockVolume(harness.store, finder, volumeId, { now, ...WHERE });
    await expect(refused).rejects.toBeInstanceOf(RunNotFoundError);
    const later = await unlockVolume(harness.store, finder, volumeId, { now: now + TTL_MS + 1, ...WHERE });

    // Assess
    await expect(refused).rejects.toMatchObject({ exitCode: EXIT_CODES.notFound });
    expect(later).toMatchObject({ unlocked: true, lease: { fencingToken: grant.fencingToken } });
    expect(later.execution).toBeUndefined();
    expect((await harness.store.getVolume(volumeId)).lease).toBeUndefined();
  });
});

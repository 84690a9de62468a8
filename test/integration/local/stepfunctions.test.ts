/**
 * The local Step Functions endpoint through the real `SFNClient`: the four job machines listed and
 * tagged as a deployed stack's, executions of the synthesized definitions run against the local
 * cloud and followed with DescribeExecution, and AWS's error shapes for what does not exist.
 *
 * ```
 *  SFNClient ─awsJson1_0─► local/stepfunctions ─► runStateMachine('Sync', …) ─► emulator + dynalite
 *      ▲ DescribeExecution: RUNNING … SUCCEEDED { output } / FAILED { error, cause }
 * ```
 */
import { progressFromHistory } from '../../../cli/aws-jobs';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  ListTagsForResourceCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { JOB_NAMES } from '../../../infra/job-names';
import { CHAIN_TABLE_TAG_KEY, JOB_TAG_KEY, STACK_TAG_KEY } from '../../../infra/job-tags';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/config';
import { runnerExecutions, startStepFunctions, type RunExecution, type RunningStepFunctions } from '../../../local/stepfunctions';
import { startEngineHarness, TABLE_NAME, ZONE, type EngineHarness } from '../engine/engine-harness';

const REGION = LOCAL_REGION;
const STACK_NAME = 'EbsCdpEngine';
const CREDENTIALS = LOCAL_CREDENTIALS;
/** Waits and retry pauses of the runner: short, the emulator completes snapshots in the call. */
const RUNNER_PAUSE_MS = 2;
/** DescribeExecution polls this often: executions here last well under a second. */
const POLL_MS = 20;
/** Gives up on an execution after this long: a hung one must fail the test, not time it out. */
const EXECUTION_DEADLINE_MS = 60_000;

function client(endpoint: string): SFNClient {
  return new SFNClient({ endpoint, region: REGION, credentials: CREDENTIALS });
}

async function untilDone(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + EXECUTION_DEADLINE_MS;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING' || Date.now() > deadline) return described;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function machineArn(sfn: SFNClient, job: string): Promise<string> {
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  for (const machine of stateMachines) {
    const { tags = [] } = await sfn.send(new ListTagsForResourceCommand({ resourceArn: machine.stateMachineArn }));
    if (tags.some((tag) => tag.key === JOB_TAG_KEY && tag.value === job) && machine.stateMachineArn !== undefined) return machine.stateMachineArn;
  }
  throw new Error(`no machine tagged ${job}`);
}

describe('local Step Functions endpoint', () => {
  describe('with the runner on the local cloud', () => {
    let harness: EngineHarness;
    let endpoint: RunningStepFunctions;
    let sfn: SFNClient;

    beforeAll(async () => {
      harness = await startEngineHarness();
      endpoint = await startStepFunctions({
        run: runnerExecutions(harness.context, { waitMs: RUNNER_PAUSE_MS, retryMs: RUNNER_PAUSE_MS }),
        region: REGION,
        stackName: STACK_NAME,
        chainTable: TABLE_NAME,
      });
      sfn = client(endpoint.endpoint);
    });

    afterAll(async () => {
      sfn.destroy();
      await endpoint.stop();
      await harness.stop();
    });

    describe('ListStateMachines', () => {
      it('lists the job machines, each tagged with its job, stack and chain table', async () => {
        // Act
        const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
        const tags = await Promise.all(stateMachines.map((machine) => sfn.send(new ListTagsForResourceCommand({ resourceArn: machine.stateMachineArn }))));

        // Assess
        expect(stateMachines).toHaveLength(JOB_NAMES.length);
        expect(stateMachines.every((machine) => machine.type === 'STANDARD' && machine.creationDate instanceof Date)).toBe(true);
        const byJob = tags.map((answer) => Object.fromEntries((answer.tags ?? []).map((tag) => [tag.key, tag.value])));
        expect(byJob.map((tagged) => tagged[JOB_TAG_KEY]).sort()).toEqual(['Prune', 'Restore', 'Scrub', 'Sync', 'Verify']);
        expect(byJob.every((tagged) => tagged[STACK_TAG_KEY] === STACK_NAME && tagged[CHAIN_TABLE_TAG_KEY] === TABLE_NAME)).toBe(true);
      });
    });

    describe('StartExecution and DescribeExecution', () => {
      it('runs a Sync to SUCCEEDED with the engine output and a history of its task states', async () => {
        // Prepare: a protected volume with 3 written blocks.
        const { volumeId } = await harness.model.createVolume({ availabilityZone: ZONE, size: 1, volumeType: 'gp3' });
        await harness.protect(volumeId, 1);
        await harness.writeBlocks(volumeId, new Map([[0, 1], [7, 2], [300, 3]]));
        const arn = await machineArn(sfn, 'Sync');

        // Act
        const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'sync-test-1', input: JSON.stringify({ volumeId }) }));
        const ended = await untilDone(sfn, started.executionArn ?? '');
        const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }));
        const latest = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, reverseOrder: true, maxResults: 1 }));

        // Assess
        expect(started.executionArn).toMatch(/^arn:aws:states:us-east-1:\d{12}:execution:[^:]+:sync-test-1$/);
        expect(ended.status).toBe('SUCCEEDED');
        expect(ended.name).toBe('sync-test-1');
        expect(ended.stopDate?.getTime()).toBeGreaterThanOrEqual(ended.startDate?.getTime() ?? Infinity);
        expect(JSON.parse(ended.output ?? 'null')).toMatchObject({ volumeId, seq: 0, kind: 'baseline', blocks: 3 });
        const events = history.events ?? [];
        expect(events[0]).toMatchObject({ id: 1, type: 'ExecutionStarted' });
        expect(events.filter((e) => e.type === 'TaskStateEntered').map((e) => e.stateEnteredEventDetails?.name)).toContain('SyncBegin');
        expect(events[events.length - 1]).toMatchObject({ type: 'ExecutionSucceeded', id: events.length });
        expect(latest.events).toHaveLength(1);
        expect(latest.events?.[0].type).toBe('ExecutionSucceeded');
        expect(latest.nextToken).toBeDefined();
        // Finished Task states carry their output, as on AWS: the CLI's progress bar reads the
        // plan's blocks and each copied segment's from them.
        expect(events.find((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'SyncPlan')?.stateExitedEventDetails?.output).toMatch(/"blocks":3/);
        expect(progressFromHistory(events)).toMatchObject({ done: 3, total: 3 });
      });

      it('reports a failed execution with the engine error name and its cause', async () => {
        // Prepare: a volume nobody protected.
        const { volumeId } = await harness.model.createVolume({ availabilityZone: ZONE, size: 1, volumeType: 'gp3' });
        const arn = await machineArn(sfn, 'Sync');

        // Act
        const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: JSON.stringify({ volumeId }) }));
        const ended = await untilDone(sfn, started.executionArn ?? '');

        // Assess
        expect(ended.status).toBe('FAILED');
        expect(ended.error).toBe('VolumeNotProtectedError');
        expect(ended.cause).toContain(volumeId);
        expect(ended.output).toBeUndefined();
      });
    });

    describe('errors', () => {
      it('answers an unknown machine with StateMachineDoesNotExist', async () => {
        // Act
        const start = sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Nope', input: '{}' }));

        // Assess
        await expect(start).rejects.toBeInstanceOf(StateMachineDoesNotExist);
      });

      it('answers an unknown execution with ExecutionDoesNotExist', async () => {
        // Act
        const describeUnknown = sfn.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:JobsSync-x:nope' }));

        // Assess
        await expect(describeUnknown).rejects.toBeInstanceOf(ExecutionDoesNotExist);
      });

      it('answers the name of an ended execution started again with ExecutionAlreadyExists', async () => {
        // Prepare
        const arn = await machineArn(sfn, 'Prune');
        const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'prune-once', input: JSON.stringify({ volumeId: 'vol-0000000000000abcd' }) }));
        await untilDone(sfn, first.executionArn ?? '');

        // Act
        const again = sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'prune-once', input: JSON.stringify({ volumeId: 'vol-0000000000000beef' }) }));

        // Assess
        await expect(again).rejects.toBeInstanceOf(ExecutionAlreadyExists);
      });
    });
  });

  describe('with a runner held at its first task', () => {
    let endpoint: RunningStepFunctions;
    let sfn: SFNClient;
    let release: () => void = () => undefined;
    let runs = 0;
    let stoppedAtTask: unknown;

    /** A run that enters one Task state, waits to be released, then tries a second one. */
    const heldRun: RunExecution = async (_job, input, { beforeTask }) => {
      runs += 1;
      await beforeTask('First');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      try {
        await beforeTask('Second');
      } catch (error) {
        stoppedAtTask = error;
        throw error;
      }
      return { status: 'SUCCEEDED', output: { echoed: input } };
    };

    beforeAll(async () => {
      endpoint = await startStepFunctions({ run: heldRun, region: REGION, stackName: STACK_NAME, chainTable: TABLE_NAME });
      sfn = client(endpoint.endpoint);
    });

    afterAll(async () => {
      release();
      sfn.destroy();
      await endpoint.stop();
    });

    it('answers the same name and input while running with the running execution, a different input with ExecutionAlreadyExists', async () => {
      // Prepare
      const arn = await machineArn(sfn, 'Verify');
      const input = JSON.stringify({ volumeId: 'vol-0000000000000aaaa' });
      const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'verify-held', input }));

      // Act
      const retried = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'verify-held', input }));
      const other = sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'verify-held', input: JSON.stringify({ volumeId: 'vol-0000000000000bbbb' }) }));

      // Assess
      expect(retried.executionArn).toBe(first.executionArn);
      await expect(other).rejects.toBeInstanceOf(ExecutionAlreadyExists);
      expect(runs).toBe(1);
      expect((await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }))).status).toBe('RUNNING');
      release();
      expect(JSON.parse((await untilDone(sfn, first.executionArn ?? '')).output ?? 'null')).toEqual({ echoed: { volumeId: 'vol-0000000000000aaaa' } });
    });

    it('aborts a stopped execution at once and keeps its run from entering another task', async () => {
      // Prepare
      const arn = await machineArn(sfn, 'Restore');
      const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{}' }));

      // Act
      await sfn.send(new StopExecutionCommand({ executionArn: started.executionArn, error: 'Operator', cause: 'changed my mind' }));
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      release();
      await endpoint.registry.execution(started.executionArn ?? '').finished;
      const after = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));

      // Assess
      expect(described).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'changed my mind' });
      expect(after.status).toBe('ABORTED');
      expect((stoppedAtTask as Error).name).toBe('ExecutionStoppedError');
    });
  });
});

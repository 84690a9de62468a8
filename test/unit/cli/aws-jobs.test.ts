/**
 * The AWS job path's decisions that no local server produces: credentials AWS refuses, a machine
 * of another stack, an execution that timed out, the bounded poll backoff. `aws-sdk-client-mock`
 * stands in for Step Functions here only; the path itself runs against the local cloud's endpoint
 * in test/e2e/cli-aws-path.test.ts and test/integration/local/stepfunctions.test.ts.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  ListTagsForResourceCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  type StateMachineListItem,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { JOB_NAMES } from '../../../infra/job-names';
import { CHAIN_TABLE_TAG_KEY, JOB_TAG_KEY, STACK_TAG_KEY } from '../../../infra/job-tags';
import {
  FIRST_POLL_MS,
  findDeployedJobs,
  formatExecutionProgress,
  JobFailedError,
  MAX_POLL_MS,
  nextPollDelay,
  progressFromHistory,
  type ProgressEvent,
  runJobExecution,
  StackNotFoundError,
} from '../../../cli/aws-jobs';
import { classifyError, EXIT_CODES } from '../../../cli/errors';
import { Output } from '../../../cli/output';

const ARN = (name: string): string => `arn:aws:states:eu-west-1:111122223333:stateMachine:${name}`;
const JOBS = JOB_NAMES;
const LISTED = (arn: string): StateMachineListItem => ({ stateMachineArn: arn, name: arn.split(':').pop() ?? '', type: 'STANDARD', creationDate: new Date(0) });

function buffer(isTTY = false): { text: string; isTTY: boolean; write(chunk: string): boolean } {
  return { text: '', isTTY, write(chunk: string) { this.text += chunk; return true; } };
}

describe('aws-jobs', () => {
  const sfnMock = mockClient(SFNClient);
  let sfn: SFNClient;

  beforeEach(() => {
    sfnMock.reset();
    sfn = new SFNClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  });

  afterEach(() => sfn.destroy());

  describe('findDeployedJobs', () => {
    it('takes the machines tagged with the named stack, over pages, and the chain table they name', async () => {
      // Prepare: two deployments in one Region, the second page holding the rest of ours.
      const mine = JOBS.map((job) => ARN(`Jobs${job}ABCDEF12-mine`));
      const theirs = JOBS.map((job) => ARN(`Jobs${job}ABCDEF12-theirs`));
      sfnMock.on(ListStateMachinesCommand, { nextToken: undefined }).resolves({ stateMachines: [...mine.slice(0, 2), ...theirs].map(LISTED), nextToken: 'p2' });
      sfnMock.on(ListStateMachinesCommand, { nextToken: 'p2' }).resolves({ stateMachines: mine.slice(2).map(LISTED) });
      sfnMock.on(ListTagsForResourceCommand).callsFake((input: { resourceArn: string }) => {
        const job = JOBS.find((candidate) => input.resourceArn.includes(`Jobs${candidate}`));
        const stack = input.resourceArn.endsWith('mine') ? 'Mine' : 'Theirs';
        return { tags: [{ key: JOB_TAG_KEY, value: job }, { key: STACK_TAG_KEY, value: stack }, { key: CHAIN_TABLE_TAG_KEY, value: `${stack}-ChainTable-XYZ` }] };
      });

      // Act
      const found = await findDeployedJobs(sfn, 'Mine', 'eu-west-1');

      // Assess
      expect(found.machines).toEqual({ Sync: mine[0], Verify: mine[1], Restore: mine[2], Prune: mine[3], Scrub: mine[4] });
      expect(found.chainTable).toBe('Mine-ChainTable-XYZ');
    });

    it('names the missing jobs when the stack has not every machine (exit 3)', async () => {
      // Prepare
      sfnMock.on(ListStateMachinesCommand).resolves({ stateMachines: [LISTED(ARN('JobsSync1-x'))] });
      sfnMock.on(ListTagsForResourceCommand).resolves({ tags: [{ key: JOB_TAG_KEY, value: 'Sync' }, { key: STACK_TAG_KEY, value: 'EbsCdpEngine' }] });

      // Act
      const finding = findDeployedJobs(sfn, 'EbsCdpEngine', 'eu-west-1');

      // Assess
      await expect(finding).rejects.toBeInstanceOf(StackNotFoundError);
      await expect(finding).rejects.toThrow('no ebs-cdp Verify, Restore, Prune, Scrub state machines of stack EbsCdpEngine in eu-west-1');
      expect(classifyError(await finding.catch((error: unknown) => error)).exitCode).toBe(EXIT_CODES.notFound);
    });

    it('turns credentials AWS refuses into exit 5 with what to do', async () => {
      // Prepare: only AWS answers UnrecognizedClientException (the local cloud checks no signature).
      sfnMock.on(ListStateMachinesCommand).rejects(new SFNServiceException({ name: 'UnrecognizedClientException', $fault: 'client', $metadata: {}, message: 'The security token included in the request is invalid.' }));

      // Act
      const error = await findDeployedJobs(sfn, 'EbsCdpEngine', 'eu-west-1').catch((caught: unknown) => caught);

      // Assess
      const report = classifyError(error);
      expect(report.exitCode).toBe(EXIT_CODES.unreachable);
      expect(report.hint).toContain('refresh the AWS credentials');
    });
  });

  describe('runJobExecution', () => {
    it('starts the execution named by its run id with the input, and follows it to its output', async () => {
      // Prepare
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:JobsSync-x:run' });
      sfnMock.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING' }).resolvesOnce({ status: 'RUNNING' }).resolves({ status: 'SUCCEEDED', output: '{"seq":4}' });
      const sleeps: number[] = [];

      // Act
      const output = await runJobExecution<{ seq: number }>(sfn, ARN('JobsSync-x'), 'Sync', { volumeId: 'vol-1' }, { output: new Output(false, { stdout: buffer(), stderr: buffer() }), label: 'sync', sleep: async (ms) => void sleeps.push(ms) });

      // Assess
      expect(output).toEqual({ seq: 4 });
      const start = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
      expect(start.stateMachineArn).toBe(ARN('JobsSync-x'));
      expect(start.name).toMatch(/^sync-[0-9a-z]+-[0-9a-f]{6}$/);
      expect(JSON.parse(start.input ?? '')).toEqual({ volumeId: 'vol-1' });
      expect(sleeps).toEqual([FIRST_POLL_MS, nextPollDelay(FIRST_POLL_MS)]);
    });

    it('throws the job-failed error of a timed-out execution with States.Timeout', async () => {
      // Prepare: only a real Step Functions times an execution out (after the machine's 24 h).
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:JobsVerify-x:run' });
      sfnMock.on(DescribeExecutionCommand).resolves({ status: 'TIMED_OUT' });

      // Act
      const error = await runJobExecution(sfn, ARN('JobsVerify-x'), 'Verify', { volumeId: 'vol-2' }, { output: new Output(false, { stdout: buffer(), stderr: buffer() }), label: 'verify' }).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(JobFailedError);
      expect((error as JobFailedError).result.error).toBe('States.Timeout');
      expect((error as JobFailedError).exitCode).toBe(EXIT_CODES.checkFailed);
    });

    it('gives a failed execution the exit code of the engine error it failed with (InvalidTaskInputError → 2)', async () => {
      // Prepare: the Fail state carries the task's error name, the cause is the Lambda's JSON.
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:JobsPrune-x:run' });
      sfnMock.on(DescribeExecutionCommand).resolves({
        status: 'FAILED',
        error: 'InvalidTaskInputError',
        cause: JSON.stringify({ errorType: 'InvalidTaskInputError', errorMessage: 'Prune input is invalid: seqs.0: Too big', trace: [] }),
      });

      // Act
      const error = await runJobExecution(sfn, ARN('JobsPrune-x'), 'Prune', { volumeId: 'vol-3' }, { output: new Output(false, { stdout: buffer(), stderr: buffer() }), label: 'prune' }).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(JobFailedError);
      expect((error as JobFailedError).exitCode).toBe(EXIT_CODES.usage);
      expect((error as JobFailedError).message).toContain('InvalidTaskInputError: Prune input is invalid: seqs.0: Too big');
      expect((error as JobFailedError).hint).toContain('--help');
    });

    it('draws the state the execution is in on a terminal and clears the line at the end', async () => {
      // Prepare
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:JobsSync-x:run' });
      sfnMock.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING' }).resolves({ status: 'SUCCEEDED', output: '{}' });
      sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [{ id: 3, type: 'TaskStateEntered', timestamp: new Date(), stateEnteredEventDetails: { name: 'CopySegment' } }] });
      const stdout = buffer(true);

      // Act
      await runJobExecution(sfn, ARN('JobsSync-x'), 'Sync', { volumeId: 'vol-3' }, { output: new Output(false, { stdout, stderr: buffer() }), label: 'sync', sleep: async () => undefined });

      // Assess
      expect(stdout.text).toContain('sync  RUNNING  CopySegment');
      expect(stdout.text.endsWith('\r\u001b[2K')).toBe(true);
      expect(sfnMock.commandCalls(GetExecutionHistoryCommand)[0].args[0].input).toMatchObject({ includeExecutionData: true });
    });

    it('draws a block progress bar once the plan is known: blocks done of the plan, MiB/s and ETA', async () => {
      // Prepare
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:JobsSync-x:run' });
      sfnMock.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING' }).resolves({ status: 'SUCCEEDED', output: '{}' });
      const exited = (id: number, name: string, output: unknown): HistoryEvent => ({ id, type: 'TaskStateExited', timestamp: new Date(), stateExitedEventDetails: { name, output: JSON.stringify(output) } });
      sfnMock.on(GetExecutionHistoryCommand).resolves({
        events: [exited(2, 'SyncPlan', { seq: 1, blocks: 10 }), exited(4, 'CopySegment', { segment: 0, blocksWritten: 4 }), { id: 5, type: 'TaskStateEntered', timestamp: new Date(), stateEnteredEventDetails: { name: 'CopySegment' } }],
      });
      const stdout = buffer(true);
      let clock = 0;

      // Act
      await runJobExecution(sfn, ARN('JobsSync-x'), 'Sync', { volumeId: 'vol-3' }, {
        output: new Output(false, { stdout, stderr: buffer() }),
        label: 'sync',
        sleep: async () => undefined,
        now: () => (clock += 1_000),
      });

      // Assess
      expect(stdout.text).toMatch(/sync CopySegment \[#+-+\] 4\/10 blocks {2}[\d.]+ MiB\/s {2}ETA \d+s/);
    });
  });

  describe('progressFromHistory', () => {
    it('takes the plan as the total, adds each finished item, and restarts the count at a new plan', () => {
      // Prepare: a sync that first finished a crashed run's copy (plan 6), then planned its own (plan 9)
      const exited = (name: string, output: unknown): ProgressEvent => ({ stateExitedEventDetails: { name, output: JSON.stringify(output) } });
      const events: ProgressEvent[] = [
        exited('SyncPlan', { blocks: 6 }),
        exited('CopySegment', { blocksWritten: 6 }),
        exited('SnapshotStatus.Secondary', { status: 'COMPLETED' }),
        exited('SyncPlan', { blocks: 9 }),
        exited('CopySegment', { blocksWritten: 5 }),
        { stateEnteredEventDetails: { name: 'CopySegment' } },
        exited('CopySegment', { blocksWritten: 'not a number' }),
      ];

      // Act
      const progress = progressFromHistory(events);

      // Assess
      expect(progress).toEqual({ state: 'CopySegment', done: 5, total: 9 });
    });

    it('counts a verify scan by the blocks its segments scanned, without a total', () => {
      const progress = progressFromHistory([
        { stateExitedEventDetails: { name: 'VerifyScanSegment', output: '{"segment":0,"scanned":7,"mismatches":0}' } },
        { stateExitedEventDetails: { name: 'VerifyScanSegment', output: '{"segment":1,"scanned":3,"mismatches":1}' } },
      ]);
      expect(progress).toEqual({ state: undefined, done: 10, total: undefined });
    });

    it('counts a scrub by the stored versions its items read back, without a total', () => {
      const progress = progressFromHistory([
        { stateEnteredEventDetails: { name: 'ScrubSegment' } },
        { stateExitedEventDetails: { name: 'ScrubSegment', output: '{"seq":0,"segment":0,"read":40,"bad":0,"structural":0,"unchecked":0}' } },
        { stateExitedEventDetails: { name: 'ScrubSegment', output: '{"seq":1,"segment":0,"read":6,"bad":1,"structural":0,"unchecked":0}' } },
      ]);
      expect(progress).toEqual({ state: 'ScrubSegment', done: 46, total: undefined });
    });
  });

  describe('nextPollDelay', () => {
    it('grows from the first poll and never passes the cap', () => {
      // Act
      const delays: number[] = [];
      let delay: number | undefined;
      for (let poll = 0; poll < 30; poll++) delays.push((delay = nextPollDelay(delay)));

      // Assess
      expect(delays[0]).toBe(FIRST_POLL_MS);
      expect(delays[1]).toBeGreaterThan(delays[0]);
      expect(Math.max(...delays)).toBe(MAX_POLL_MS);
      expect(delays.every((value, index) => index === 0 || value >= delays[index - 1])).toBe(true);
    });
  });

  describe('formatExecutionProgress', () => {
    it('shows the label, status, state and elapsed time, leaving out an unknown state', () => {
      // Act / Assess
      expect(formatExecutionProgress('verify', 'RUNNING', 'ScanSegment', 12_300)).toBe('verify  RUNNING  ScanSegment  12.3s');
      expect(formatExecutionProgress('prune', 'RUNNING', undefined, 500)).toBe('prune  RUNNING  0.5s');
    });
  });
});

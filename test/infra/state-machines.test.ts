import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EbsCdpStack, TASK_METADATA_KEY } from '../../infra/ebs-cdp-stack';
import { JOB_NAMES, type JobName } from '../../infra/job-names';
import { SEGMENT_MAX_CONCURRENCY, TRANSIENT_ERRORS } from '../../infra/state-machines';
import { DEFAULT_SNAPSHOT_MAX_POLLS } from '../../infra/state-machines/job-builder';
import { RESTORE_REFUSAL_ERRORS } from '../../infra/state-machines/restore-state-machine';
import { TASK_NAMES } from '../../lambdas/task-names';
import { definitionsFromTemplate, type LocalDefinition } from '../../local/stepfunctions/runner';
import { SNAPSHOT_BLOCK_RATE } from '../../shared/core/quotas';
import { DEFAULT_TUNING, SEGMENT_MAP_MAX_CONCURRENCY } from '../../shared/engine/context';
import { NothingToVerifyError } from '../../shared/engine/errors';
import { VolumeBusyError } from '../../shared/core/ports/errors';

// asl-validator ships no types: its CommonJS export is one function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

type State = Record<string, unknown> & { Type: string };

/** Every state of a definition, Map item processors included, with the Map that holds it. */
function allStates(container: { States: Record<string, State> }, inMap?: string): Array<{ name: string; state: State; inMap?: string }> {
  return Object.entries(container.States).flatMap(([name, state]) => {
    const processor = state.ItemProcessor as { States: Record<string, State> } | undefined;
    return [{ name, state, inMap }, ...(processor === undefined ? [] : allStates(processor, name))];
  });
}

describe('EngineStack', () => {
  let template: Template;
  let definitions: Record<JobName, LocalDefinition>;

  beforeAll(() => {
    const app = new App();
    const stack = new EbsCdpStack(app, 'TestEngine', { taskCode: 'stub' });
    template = Template.fromStack(stack);
    definitions = definitionsFromTemplate(template.toJSON() as never);
  });

  const machines = (): LocalDefinition[] => Object.values(definitions);

  describe('resources', () => {
    it('synthesizes one state machine per job and one Node 22 arm64 function per task, tagged with its task', () => {
      // Assess
      expect(Object.keys(definitions).sort()).toEqual([...JOB_NAMES].sort());
      template.resourceCountIs('AWS::StepFunctions::StateMachine', JOB_NAMES.length);
      template.resourceCountIs('AWS::Lambda::Function', TASK_NAMES.length);
      for (const taskName of TASK_NAMES) {
        template.hasResource('AWS::Lambda::Function', {
          Metadata: { [TASK_METADATA_KEY]: taskName },
          Properties: Match.objectLike({ Runtime: 'nodejs22.x', Architectures: ['arm64'] }),
        });
      }
    });

    it('creates the chain table keyed by pk and sk and retains it with the stack', () => {
      // Assess
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      });
    });
  });

  describe('definitions', () => {
    it('are valid Amazon States Language per asl-validator', () => {
      for (const machine of machines()) {
        // Act
        const result = validateAsl(structuredClone(machine.definition)); // it writes QueryLanguage into what it checks

        // Assess
        expect({ machine: machine.name, errors: result.isValid ? '' : result.errorsText('\n') }).toEqual({ machine: machine.name, errors: '' });
      }
    });

    it('name every Task state after its task (a qualifier after a dot when a machine calls a task twice)', () => {
      for (const machine of machines()) {
        for (const [stateName, taskName] of machine.taskStates) {
          // Assess
          expect(stateName.split('.')[0]).toBe(taskName);
        }
      }
      expect([...definitions.Sync.taskStates.values()].sort()).toEqual(
        ['CompleteSnapshot', 'CopySegment', 'JobFailed', 'SnapshotStatus', 'SnapshotStatus', 'SyncBegin', 'SyncCommit', 'SyncPlan'],
      );
    });

    it('fan segments out through a Map whose MaxConcurrency is the EBS block quota over one worker’s rate', () => {
      // Prepare
      const maps = machines().flatMap((machine) =>
        allStates(machine.definition as never).filter((s) => s.state.Type === 'Map').map((s) => ({ machine: machine.name, ...s })),
      );

      // Assess
      expect(maps.map((m) => `${m.machine}.${m.name}`).sort()).toEqual(['Restore.CopySegments', 'Scrub.ScrubSegments', 'Sync.CopySegments', 'Verify.CopySegments', 'Verify.ScanSegments']);
      expect(SEGMENT_MAX_CONCURRENCY).toBe(SNAPSHOT_BLOCK_RATE / DEFAULT_TUNING.accountRates.GetSnapshotBlock);
      expect(SEGMENT_MAX_CONCURRENCY).toBe(SEGMENT_MAP_MAX_CONCURRENCY);
      for (const map of maps) {
        expect(map.state.MaxConcurrency).toBe(SEGMENT_MAX_CONCURRENCY);
        expect(map.state.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'JobFailed' })]);
      }
    });

    it('give every Task state a Retry on the transient errors and a Catch into JobFailed (its Map’s, inside a Map)', () => {
      for (const machine of machines()) {
        for (const { name, state, inMap } of allStates(machine.definition as never).filter((s) => s.state.Type === 'Task')) {
          // Assess
          const retry = state.Retry as Array<{ ErrorEquals: string[]; BackoffRate: number; MaxAttempts: number }>;
          expect(retry[0]?.ErrorEquals).toEqual([...TRANSIENT_ERRORS]);
          expect(retry[0]?.BackoffRate).toBeGreaterThan(1);
          expect(retry[0]?.ErrorEquals).toEqual(expect.arrayContaining(['ThrottledError', 'EbsServiceError', 'States.Timeout', 'Lambda.ServiceException']));
          const catchers = (state.Catch ?? []) as Array<{ ErrorEquals: string[]; Next: string }>;
          if (inMap !== undefined) {
            expect(catchers).toEqual([]);
          } else if (name === 'JobFailed') {
            expect(catchers.map((c) => c.Next)).toEqual([`${machine.name}Failed`]);
          } else {
            expect({ name, last: catchers.at(-1) }).toEqual({ name, last: expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'JobFailed' }) });
          }
        }
      }
    });

    it('end every failure in a Fail state that carries the original error name and cause', () => {
      for (const machine of machines()) {
        // Prepare
        const states = machine.definition.States as Record<string, State>;

        // Assess
        expect(states.JobFailed?.Next).toBe(`${machine.name}Failed`);
        expect(states[`${machine.name}Failed`]).toEqual({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
        expect((states.JobFailed?.Parameters as Record<string, unknown>)['error.$']).toBe('$.error');
      }
    });

    it('wait for snapshots with a bounded Wait / SnapshotStatus / Choice loop', () => {
      // Prepare
      const states = definitions.Sync.definition.States as Record<string, State>;
      const ready = states.PrimarySnapshotReady as unknown as { Choices: Array<Record<string, unknown>>; Default: string };

      // Assess
      expect(states.StartPrimarySnapshotWait?.Next).toBe('WaitPrimarySnapshot');
      expect(states.WaitPrimarySnapshot?.Next).toBe('SnapshotStatus');
      expect(ready.Choices).toEqual([
        { Variable: '$.snapshotStatus.status', StringEquals: 'COMPLETED', Next: 'SyncPlan' },
        { Variable: '$.polls.count', NumericGreaterThanEquals: DEFAULT_SNAPSHOT_MAX_POLLS, Next: 'PrimarySnapshotWaitExhausted' },
      ]);
      expect(ready.Default).toBe('WaitPrimarySnapshot');
      expect(states.PrimarySnapshotWaitExhausted?.Next).toBe('JobFailed');
    });

    it('run the sync pipeline in Verify’s repair branch with extraFromRun, and not in a plain sync', () => {
      // Prepare
      const verify = definitions.Verify.definition.States as Record<string, State>;
      const sync = definitions.Sync.definition.States as Record<string, State>;
      const outcome = verify.VerifyOutcome as unknown as { Choices: Array<Record<string, unknown>>; Default: string };

      // Assess
      expect(outcome.Choices).toEqual([{ Variable: '$.finish.outcome', StringEquals: 'repair', Next: 'SyncBegin' }]);
      expect(outcome.Default).toBe('VerifyReport');
      expect((verify.SyncPlan?.Parameters as Record<string, unknown>)['extraFromRun.$']).toBe('$$.Execution.Name');
      expect(sync.SyncPlan?.Parameters).not.toHaveProperty('extraFromRun.$');
      expect(verify.SyncRecovered).toEqual(expect.objectContaining({ Default: 'VerifyReport' }));
    });

    it('end a sync that finds the volume busy in a Succeed naming the holder, and fail a fix-up that does', () => {
      // Prepare
      const sync = definitions.Sync.definition.States as Record<string, State>;
      const verify = definitions.Verify.definition.States as Record<string, State>;
      const catchers = sync.SyncBegin?.Catch as Array<{ ErrorEquals: string[]; Next: string }>;
      const busyChoice = sync.SyncBusy as unknown as { Choices: Array<{ Variable: string; StringEquals: string; Next: string }> };

      // Assess: the holder comes from SyncBegin's structured answer, never from an error message.
      expect((sync.SyncBegin?.Parameters as Record<string, unknown>).onBusy).toBe('skip');
      expect(catchers.map((c) => [c.ErrorEquals, c.Next])).toEqual([[['States.ALL'], 'JobFailed']]);
      expect(busyChoice.Choices).toEqual([expect.objectContaining({ Variable: '$.begin.action', StringEquals: 'busy', Next: 'SyncSkippedBusy' })]);
      expect(sync.SyncSkippedBusy?.Parameters).toEqual({ skipped: 'busy', 'holder.$': '$.begin.holder', 'runId.$': '$.begin.holderRunId' });
      expect(sync[String(sync.SyncSkippedBusy?.Next)]?.Type).toBe('Succeed');
      expect((verify.SyncBegin?.Catch as Array<{ ErrorEquals: string[] }>).map((c) => c.ErrorEquals)).toEqual([['States.ALL']]);
      expect(verify.SyncBegin?.Parameters).not.toHaveProperty('onBusy');
      expect(verify.SyncBusy).toBeUndefined();
    });

    it('end a sync whose plan skipped (nothing changed) in a Succeed (with the commit of a recovery made before), and send a fix-up’s plan straight to the copy', () => {
      // Prepare
      const sync = definitions.Sync.definition.States as Record<string, State>;
      const verify = definitions.Verify.definition.States as Record<string, State>;

      // Assess
      expect(sync.SyncPlan?.Next).toBe('SyncChanged');
      expect(sync.SyncChanged).toEqual({
        Type: 'Choice',
        Choices: [
          { And: [{ Variable: '$.plan.skipped', IsPresent: true }, { Variable: '$.commit', IsPresent: true }], Next: 'SyncSucceeded' },
          { And: [{ Variable: '$.plan.skipped', IsPresent: true }, { Variable: '$.begin.recovery.commit', IsPresent: true }], Next: 'SyncSucceeded.Adopted' },
          { Variable: '$.plan.skipped', IsPresent: true, Next: 'SyncSkippedUnchanged' },
        ],
        Default: 'CopySegments',
      });
      expect(sync.SyncSkippedUnchanged).toEqual({ Type: 'Pass', Parameters: { 'skipped.$': '$.plan.skipped' }, Next: 'SyncSkipped.Unchanged' });
      expect(sync['SyncSkipped.Unchanged']).toEqual({ Type: 'Succeed' });
      expect(sync['SyncSucceeded.Adopted']).toEqual({ Type: 'Succeed', OutputPath: '$.begin.recovery.commit' });
      expect(verify.SyncPlan?.Next).toBe('CopySegments');
    });

    it('run a scrub as ScrubBegin, a Map of ScrubSegment over the begun items, then ScrubFinish, and fail through JobFailed as job scrub', () => {
      // Prepare
      const scrub = definitions.Scrub.definition;
      const states = scrub.States as Record<string, State>;
      const map = states.ScrubSegments as State & { ItemsPath: string; ItemSelector: Record<string, unknown>; ItemProcessor: { StartAt: string } };

      // Assess: the order of local/drivers/scrub.ts, scope defaulted to a full scrub
      expect(scrub.StartAt).toBe('ScrubDefaults');
      expect(states.ScrubDefaults).toEqual({ Type: 'Pass', Parameters: { scope: 'all' }, ResultPath: '$.defaults', Next: 'ScrubInput' });
      expect(states.ScrubInput?.Next).toBe('ScrubBegin');
      expect(states.ScrubBegin?.Parameters).toEqual({ 'volumeId.$': '$.volumeId', 'runId.$': '$$.Execution.Name', 'scope.$': '$.scope' });
      expect(states.ScrubBegin?.ResultPath).toBe('$.begin');
      expect(states.ScrubBegin?.Next).toBe('ScrubSegments');
      expect(map.ItemsPath).toBe('$.begin.items');
      expect(map.ItemSelector).toEqual({
        'volumeId.$': '$.volumeId', 'runId.$': '$$.Execution.Name', 'seq.$': '$$.Map.Item.Value.seq', 'segment.$': '$$.Map.Item.Value.segment',
      });
      expect(map.ItemProcessor.StartAt).toBe('ScrubSegment');
      expect(map.ResultPath).toBeNull();
      expect(map.Next).toBe('ScrubFinish');
      expect(states.ScrubFinish?.Parameters).toEqual({
        'volumeId.$': '$.volumeId', 'runId.$': '$$.Execution.Name', 'scope.$': '$.begin.scope', 'throughSeq.$': '$.begin.throughSeq', 'seqs.$': '$.begin.seqs',
      });
      expect(states.ScrubFinish?.Next).toBe('ScrubSucceeded');
      expect(states.ScrubSucceeded).toEqual({ Type: 'Succeed', OutputPath: '$.report' });
      expect((states.JobFailed?.Parameters as Record<string, unknown>).job).toBe('scrub');
      expect([...definitions.Scrub.taskStates.values()].sort()).toEqual(['JobFailed', 'ScrubBegin', 'ScrubFinish', 'ScrubSegment']);
    });

    it('retry ScrubFinish on VolumeBusyError (a sync holds the lease) with the verify’s backoff, after the transient errors, and nothing else on a busy volume', () => {
      // Prepare
      const retriers = (machine: JobName, state: string): Array<{ ErrorEquals: string[]; IntervalSeconds: number; MaxAttempts: number; BackoffRate: number }> =>
        (definitions[machine].definition.States as Record<string, State>)[state]?.Retry as never;

      // Act
      const scrubFinish = retriers('Scrub', 'ScrubFinish');
      const verifyFinish = retriers('Verify', 'VerifyFinishScan');

      // Assess
      expect(scrubFinish.map((retrier) => retrier.ErrorEquals)).toEqual([[...TRANSIENT_ERRORS], [VolumeBusyError.errorName]]);
      expect(VolumeBusyError.errorName).toBe('VolumeBusyError');
      expect(scrubFinish[1]).toEqual(verifyFinish[1]);
      expect(scrubFinish[1]?.MaxAttempts).toBeGreaterThan(1);
      expect(retriers('Scrub', 'ScrubBegin').map((retrier) => retrier.ErrorEquals)).toEqual([[...TRANSIENT_ERRORS]]);
      // A volume without a restore point is no transient state: it fails at once, through JobFailed.
      expect(TRANSIENT_ERRORS).not.toContain(NothingToVerifyError.errorName);
    });

    it('send a refused restore straight to a Fail state with the refusal, and anything else to JobFailed', () => {
      // Prepare
      const states = definitions.Restore.definition.States as Record<string, State>;
      const catchers = states.RestoreBegin?.Catch as Array<{ ErrorEquals: string[]; Next: string }>;

      // Assess
      expect(definitions.Restore.definition.StartAt).toBe('RestoreRun');
      expect(catchers[0]).toEqual(expect.objectContaining({ ErrorEquals: [...RESTORE_REFUSAL_ERRORS], Next: 'RestoreRefused' }));
      expect(RESTORE_REFUSAL_ERRORS).toEqual(expect.arrayContaining(['SuspectRestorePointError', 'RestorePointNotFoundError', 'InvalidTaskInputError']));
      expect(catchers[1]).toEqual(expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'JobFailed' }));
      expect(states.RestoreRefused).toEqual({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
      expect(states.RestoreSucceeded).toEqual({ Type: 'Succeed', OutputPath: '$.report' });
    });
  });
});

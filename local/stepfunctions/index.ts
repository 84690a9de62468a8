/**
 * The local cloud's Step Functions endpoint (see `server.ts`), with executions run by the
 * state-machine runner against the local cloud's engine context: the same synthesized
 * definitions, started and followed through the real `@aws-sdk/client-sfn` calls.
 */
import { runStateMachine, type RunStateMachineOptions } from './runner';
import type { EngineContext } from '../../shared/engine/context';
import type { RunExecution } from './executions';

export { StepFunctionsApiError, type StepFunctionsErrorCode } from './errors';
export { ExecutionRegistry, ExecutionStoppedError, type ExecutionEnd, type ExecutionRecord, type HistoryEvent, type MachineRecord, type RunExecution } from './executions';
export { LOCAL_ACCOUNT, startStepFunctions, type RunningStepFunctions, type StepFunctionsOptions } from './server';

/**
 * Executions through `runStateMachine` against `context`: the execution name is the run id, as
 * `$$.Execution.Name` is on AWS. `options` tunes the runner (shorter waits in tests).
 */
export function runnerExecutions(context: EngineContext, options: Pick<RunStateMachineOptions, 'waitMs' | 'retryMs' | 'logger'> = {}): RunExecution {
  return async (job, input, { runId, beforeTask, afterTask }) => {
    const result = await runStateMachine(job, input, { ...options, context, runId, beforeTask: (stateName) => beforeTask(stateName), afterTask });
    return { status: result.status, output: result.output, error: result.error, cause: result.cause };
  };
}

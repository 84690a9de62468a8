/**
 * The executions of the local Step Functions endpoint: the job machines, each execution's
 * status, input, output or error, and a minimal history (started, each Task state entered, the
 * end). An execution runs in process through a {@link RunExecution} (the state-machine runner
 * against the local cloud's engine context) while the caller polls, exactly as on AWS.
 *
 * ```
 *  StartExecution ─► record RUNNING ─► run(job, input, runId = name) ─┬─► SUCCEEDED (output)
 *        │                   ▲ beforeTask(state): TaskStateEntered   ├─► FAILED (error, cause)
 *        │                   │ afterTask(state, output): TaskStateExited │
 *  DescribeExecution ────────┘ (reads the record)                    └─► ABORTED (StopExecution)
 * ```
 */
import { JOB_TAG_KEY, STACK_TAG_KEY, CHAIN_TABLE_TAG_KEY } from '../../infra/job-tags';
import { JOB_NAMES, type JobName } from '../../infra/job-names';
import { EbsCdpError } from '../../shared/core/errors';
import { StepFunctionsApiError } from './errors';

/** The jobs, as `infra/job-names.ts` names them (no CDK there: nothing to load at runtime). */
const JOBS: readonly JobName[] = JOB_NAMES;

/** How one execution ended, as the runner reports it. */
export interface ExecutionEnd {
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

/** Runs `job` to its end; `beforeTask` is called as each Task state starts (may throw to stop it). */
export type RunExecution = (
  job: JobName,
  input: Record<string, unknown>,
  options: {
    readonly runId: string;
    readonly beforeTask: (stateName: string) => Promise<void>;
    readonly afterTask: (stateName: string, result: unknown) => void;
  },
) => Promise<ExecutionEnd>;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** One event of an execution's history, in the API's shape. */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  readonly type: 'ExecutionStarted' | 'TaskStateEntered' | 'TaskStateExited' | 'ExecutionSucceeded' | 'ExecutionFailed' | 'ExecutionAborted';
  readonly executionStartedEventDetails?: { readonly input: string; readonly roleArn: string };
  readonly stateEnteredEventDetails?: { readonly name: string };
  /** A Task state that finished, with its output (JSON) as AWS records it. */
  readonly stateExitedEventDetails?: { readonly name: string; readonly output: string };
  readonly executionSucceededEventDetails?: { readonly output: string };
  readonly executionFailedEventDetails?: { readonly error?: string; readonly cause?: string };
  readonly executionAbortedEventDetails?: { readonly error?: string; readonly cause?: string };
}

/** A job machine as ListStateMachines shows it. */
export interface MachineRecord {
  readonly job: JobName;
  readonly name: string;
  readonly arn: string;
  readonly creationDate: Date;
  readonly tags: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** One execution, as DescribeExecution shows it. */
export interface ExecutionRecord {
  readonly arn: string;
  readonly name: string;
  readonly machine: MachineRecord;
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  readonly events: HistoryEvent[];
  /** Set by StopExecution: the next Task state throws instead of running. */
  stopRequested?: { readonly error?: string; readonly cause?: string };
  /** Settles when the runner returns (after an abort too). */
  finished: Promise<void>;
}

/** Thrown into a running execution at its next Task state after StopExecution. */
export class ExecutionStoppedError extends EbsCdpError {
  static override readonly errorName: string = 'ExecutionStoppedError';
}

export interface ExecutionRegistryOptions {
  readonly run: RunExecution;
  readonly region: string;
  readonly account: string;
  /** The stack name and chain table the machines' tags name (what a deployed stack's tags say). */
  readonly stackName: string;
  readonly chainTable: string;
}

/** AWS's limit on an execution name, and the characters the CLI and the runner use in one. */
const MAX_EXECUTION_NAME_LENGTH = 80;
const EXECUTION_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * The ARN patterns of a machine and an execution; anything else is `InvalidArn`, as on AWS. The
 * execution name's part is free-form so that an unknown name in a valid ARN is "does not exist".
 */
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

/** The machines of the local cloud and their executions. */
export class ExecutionRegistry {
  readonly machines: readonly MachineRecord[];
  private readonly executions = new Map<string, ExecutionRecord>();
  private counter = 0;

  constructor(private readonly options: ExecutionRegistryOptions) {
    const created = new Date();
    this.machines = JOBS.map((job) => {
      // CloudFormation's naming (`<logicalId>-<suffix>`), so a client never relies on a fixed name.
      const name = `Jobs${job}-${options.stackName}`;
      return {
        job,
        name,
        arn: `arn:aws:states:${options.region}:${options.account}:stateMachine:${name}`,
        creationDate: created,
        tags: [
          { key: JOB_TAG_KEY, value: job },
          { key: STACK_TAG_KEY, value: options.stackName },
          { key: CHAIN_TABLE_TAG_KEY, value: options.chainTable },
        ],
      };
    });
  }

  /** The machine with this ARN. @throws StepFunctionsApiError InvalidArn / StateMachineDoesNotExist */
  machine(arn: string): MachineRecord {
    if (!STATE_MACHINE_ARN.test(arn)) throw new StepFunctionsApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    const machine = this.machines.find((candidate) => candidate.arn === arn);
    if (machine === undefined) throw new StepFunctionsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  /** The execution with this ARN. @throws StepFunctionsApiError InvalidArn / ExecutionDoesNotExist */
  execution(arn: string): ExecutionRecord {
    if (!EXECUTION_ARN.test(arn)) throw new StepFunctionsApiError('InvalidArn', `Invalid Arn: '${arn}'`);
    const execution = this.executions.get(arn);
    if (execution === undefined) throw new StepFunctionsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  /**
   * Starts an execution. Like a Standard workflow on AWS, the same name with the same input while
   * it runs answers the running execution (an idempotent retry); a closed one, or another input,
   * is `ExecutionAlreadyExists`.
   */
  start(machineArn: string, name: string | undefined, input: string | undefined): ExecutionRecord {
    const machine = this.machine(machineArn);
    this.counter += 1;
    const executionName = name ?? `${machine.job.toLowerCase()}-${Date.now().toString(36)}-${this.counter}`;
    if (executionName.length > MAX_EXECUTION_NAME_LENGTH || !EXECUTION_NAME.test(executionName)) {
      throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${executionName}'`);
    }
    const inputText = input ?? '{}';
    const parsedInput = parseInput(inputText);
    const arn = `arn:aws:states:${this.options.region}:${this.options.account}:execution:${machine.name}:${executionName}`;
    const existing = this.executions.get(arn);
    if (existing !== undefined) {
      if (existing.status === 'RUNNING' && existing.input === inputText) return existing;
      throw new StepFunctionsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const startDate = new Date();
    const record: ExecutionRecord = {
      arn,
      name: executionName,
      machine,
      input: inputText,
      startDate,
      status: 'RUNNING',
      events: [],
      finished: Promise.resolve(),
    };
    addEvent(record, { type: 'ExecutionStarted', executionStartedEventDetails: { input: inputText, roleArn: `${machine.arn}-role` } });
    this.executions.set(arn, record);
    record.finished = this.options
      .run(machine.job, parsedInput, {
        runId: executionName,
        beforeTask: async (stateName) => {
          if (record.stopRequested !== undefined) throw new ExecutionStoppedError(`execution ${executionName} was stopped`);
          addEvent(record, { type: 'TaskStateEntered', stateEnteredEventDetails: { name: stateName } });
        },
        afterTask: (stateName, result) => {
          addEvent(record, { type: 'TaskStateExited', stateExitedEventDetails: { name: stateName, output: JSON.stringify(result ?? null) } });
        },
      })
      .then(
        (end) => finish(record, end),
        (error: unknown) => finish(record, { status: 'FAILED', error: error instanceof Error ? error.name : 'Error', cause: error instanceof Error ? error.message : String(error) }),
      );
    return record;
  }

  /** Stops a running execution: ABORTED now; the run itself ends at its next Task state. */
  stop(arn: string, error: string | undefined, cause: string | undefined): ExecutionRecord {
    const record = this.execution(arn);
    if (record.status !== 'RUNNING') return record;
    record.stopRequested = { error, cause };
    record.status = 'ABORTED';
    record.stopDate = new Date();
    record.error = error;
    record.cause = cause;
    addEvent(record, { type: 'ExecutionAborted', executionAbortedEventDetails: { error, cause } });
    return record;
  }

  /** Stops every running execution and waits for their runs to return. */
  async close(): Promise<void> {
    const all = [...this.executions.values()];
    for (const record of all) if (record.status === 'RUNNING') this.stop(record.arn, 'States.Aborted', 'the local cloud is stopping');
    await Promise.allSettled(all.map((record) => record.finished));
  }
}

function parseInput(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StepFunctionsApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${text.slice(0, 100)}'`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StepFunctionsApiError('InvalidExecutionInput', 'the jobs take a JSON object as input');
  }
  return parsed as Record<string, unknown>;
}

type NewEvent = Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'>;

function addEvent(record: ExecutionRecord, event: NewEvent): void {
  const id = record.events.length + 1;
  record.events.push({ ...event, id, previousEventId: id - 1, timestamp: new Date() });
}

function finish(record: ExecutionRecord, end: ExecutionEnd): void {
  // StopExecution already closed it: what the run did after that is not the execution's result.
  if (record.status !== 'RUNNING') return;
  record.stopDate = new Date();
  if (end.status === 'SUCCEEDED') {
    record.status = 'SUCCEEDED';
    record.output = JSON.stringify(end.output ?? null);
    addEvent(record, { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: record.output } });
    return;
  }
  record.status = end.status;
  record.error = end.error;
  record.cause = end.cause;
  addEvent(record, end.status === 'ABORTED'
    ? { type: 'ExecutionAborted', executionAbortedEventDetails: { error: end.error, cause: end.cause } }
    : { type: 'ExecutionFailed', executionFailedEventDetails: { error: end.error, cause: end.cause } });
}

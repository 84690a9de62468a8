/**
 * Jobs as executions of the deployed state machines: find the stack's job machines by their tags,
 * start one (StartExecution, the run id as the execution name), follow it with DescribeExecution
 * until it ends, and hand back its output or the engine's error. The same code runs against AWS
 * and against the local cloud's Step Functions endpoint: there is one job path.
 *
 * ```
 *  ListStateMachines ─► ListTagsForResource (ebs-cdp:job, ebs-cdp:stack) ─► machine ARN per job
 *  StartExecution(name = runId, input) ─► DescribeExecution … (backoff 0.1 s → 5 s) ─► output | JobFailedError
 *                                         └ GetExecutionHistory: the state it is in and the blocks done of the plan, for the progress bar
 * ```
 */
import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  ListTagsForResourceCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { CHAIN_TABLE_TAG_KEY, JOB_TAG_KEY, STACK_TAG_KEY } from '../infra/job-tags';
import { JOB_NAMES, type JobName } from '../infra/job-names';
import { classifyError, CliError, EXIT_CODES, NotFoundError } from './errors';
import { formatDuration, formatProgress, type Output } from './output';

/** The jobs, as `infra/job-names.ts` names them. */
const JOBS: readonly JobName[] = JOB_NAMES;

/** The CloudFormation stack `infra/app.ts` deploys (ENGINE_STACK_NAME), unless `--stack` names another. */
export const DEFAULT_STACK_NAME = 'EbsCdpEngine';

/** A job that ended without succeeding: carries the execution's error name and message. */
export class JobFailedError extends CliError {
  static override readonly errorName: string = 'JobFailedError';

  constructor(
    readonly job: JobName,
    readonly result: { readonly runId: string; readonly error?: string; readonly cause?: string },
    volumeId: string,
  ) {
    const name = result.error ?? 'Error';
    const message = causeMessage(result.cause);
    const known = classifyError(Object.assign(new Error(message), { name }));
    super(`${job} ${result.runId} of ${volumeId} failed: ${name}: ${message}`, {
      exitCode: known.exitCode,
      hint: known.hint ?? `run ebs-cdp status ${volumeId} to see the lease and the last runs`,
      volumeId,
    });
  }
}

/** A Lambda's cause is JSON `{ errorType, errorMessage }`; a plain message otherwise. */
function causeMessage(cause: string | undefined): string {
  if (cause === undefined) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

/** No (or not every) job machine of the stack was found in the Region (exit 3). */
export class StackNotFoundError extends NotFoundError {
  static override readonly errorName: string = 'StackNotFoundError';
}

/** What the stack's tags tell: each job's machine ARN and the chain table they work on. */
export interface DeployedJobs {
  readonly machines: Readonly<Record<JobName, string>>;
  readonly chainTable?: string;
}

/** ListTagsForResource calls in flight while looking for the machines: well under Step Functions' rate. */
const TAG_LOOKUP_CONCURRENCY = 4;

/**
 * Finds the job machines of `stackName`: the machines whose tags say which job and which stack
 * they belong to (`ebs-cdp:job`, `ebs-cdp:stack`), and the chain table they are tagged with.
 * @throws StackNotFoundError (exit 3) when a job's machine is missing.
 */
export async function findDeployedJobs(sfn: SFNClient, stackName: string, where: string): Promise<DeployedJobs> {
  const named: string[] = [];
  const others: string[] = [];
  let nextToken: string | undefined;
  do {
    const listed = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    for (const machine of listed.stateMachines ?? []) {
      if (machine.stateMachineArn === undefined) continue;
      // CloudFormation's generated name starts with the logical id (`JobsSync3F29567E-…`): look
      // at those first, and at the rest only if that did not find every job.
      (JOBS.some((job) => machine.name?.includes(job) === true) ? named : others).push(machine.stateMachineArn);
    }
    nextToken = listed.nextToken;
  } while (nextToken !== undefined);

  const found: { machines: Partial<Record<JobName, string>>; chainTable?: string } = { machines: {} };
  await readJobTags(sfn, named, stackName, found);
  if (JOBS.some((job) => found.machines[job] === undefined)) await readJobTags(sfn, others, stackName, found);
  const missing = JOBS.filter((job) => found.machines[job] === undefined);
  if (missing.length > 0) {
    throw new StackNotFoundError(
      `no ebs-cdp ${missing.join(', ')} state machine${missing.length > 1 ? 's' : ''} of stack ${stackName} in ${where}`,
      `deploy the stack (npx cdk deploy), or name the Region (--region) and stack (--stack) it is deployed in`,
    );
  }
  return { machines: found.machines as Record<JobName, string>, chainTable: found.chainTable };
}

/** An execution a lease's holder names, and its status as Step Functions reports it. */
export interface ExecutionLookup {
  readonly executionArn: string;
  /** `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` (or a status newer than this code). */
  readonly status: string;
}

/**
 * The execution `name` names: an execution ARN as it is, or an execution name (the run id a job's
 * lease records) looked up under each of `machines` (DescribeExecution, at most one per machine).
 * @returns undefined when none of the machines has such an execution
 */
export async function findExecution(sfn: SFNClient, machines: readonly string[], name: string): Promise<ExecutionLookup | undefined> {
  const candidates = name.startsWith('arn:')
    ? [name]
    : machines.map((machine) => `${machine.replace(':stateMachine:', ':execution:')}:${name}`);
  for (const executionArn of candidates) {
    try {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return { executionArn, status: described.status ?? 'UNKNOWN' };
    } catch (error) {
      // Not this machine's (or not a name Step Functions accepts): try the next one.
      const errorName = error instanceof Error ? error.name : '';
      if (errorName !== 'ExecutionDoesNotExist' && errorName !== 'InvalidArn') throw error;
    }
  }
  return undefined;
}

/** Reads the tags of `arns` and records the machines of `stackName` into `found`. */
async function readJobTags(sfn: SFNClient, arns: readonly string[], stackName: string, found: { machines: Partial<Record<JobName, string>>; chainTable?: string }): Promise<void> {
  for (let at = 0; at < arns.length; at += TAG_LOOKUP_CONCURRENCY) {
    const batch = arns.slice(at, at + TAG_LOOKUP_CONCURRENCY);
    const tagged = await Promise.all(batch.map(async (resourceArn) => ({ resourceArn, tags: (await sfn.send(new ListTagsForResourceCommand({ resourceArn }))).tags ?? [] })));
    for (const { resourceArn, tags } of tagged) {
      const tag = (key: string): string | undefined => tags.find((candidate) => candidate.key === key)?.value;
      const job = JOBS.find((candidate) => candidate === tag(JOB_TAG_KEY));
      if (job === undefined || tag(STACK_TAG_KEY) !== stackName) continue;
      found.machines[job] = resourceArn;
      found.chainTable ??= tag(CHAIN_TABLE_TAG_KEY);
    }
  }
}

// ── following an execution ──────────────────────────────────────────────────────────────

/**
 * DescribeExecution polls: the first soon (a local job or a prune ends in well under a second),
 * then ×1.5 up to 5 s (a long verify needs no finer news, and Step Functions throttles
 * DescribeExecution per account).
 */
export const FIRST_POLL_MS = 100;
export const POLL_BACKOFF = 1.5;
export const MAX_POLL_MS = 5_000;

/**
 * How long the CLI follows an execution: the machines time out after 24 h (infra's
 * EXECUTION_TIMEOUT), so an execution still RUNNING an hour later than that is not ours to wait for.
 */
const FOLLOW_LIMIT_MS = 25 * 3_600_000;

/** History events per GetExecutionHistory page (the API's maximum). */
const HISTORY_PAGE_EVENTS = 1_000;

/** The pause after a poll that waited `previousMs`. */
export function nextPollDelay(previousMs: number | undefined): number {
  return previousMs === undefined ? FIRST_POLL_MS : Math.min(MAX_POLL_MS, Math.round(previousMs * POLL_BACKOFF));
}

/** The progress line of a followed execution: `sync  RUNNING  CopySegment  12.3s`. */
export function formatExecutionProgress(label: string, status: string, stateName: string | undefined, elapsedMs: number): string {
  return [label, status, stateName, formatDuration(elapsedMs)].filter((part) => part !== undefined).join('  ');
}

/** A fresh run id: the execution's name, so `$$.Execution.Name` (every task's runId) is this. */
export function newRunId(job: JobName): string {
  const RANDOM_BYTES = 3;
  return `${job.toLowerCase()}-${Date.now().toString(36)}-${randomBytes(RANDOM_BYTES).toString('hex')}`;
}

/** The followed execution did not end within {@link FOLLOW_LIMIT_MS} (exit 1). */
export class ExecutionStillRunningError extends CliError {
  static override readonly errorName: string = 'ExecutionStillRunningError';
}

export interface RunExecutionOptions {
  /** Where the progress line goes (on a terminal only); none when absent (the tour tells its own story). */
  readonly output?: Output;
  /** The progress line's label (`sync`, `verify`, …); the job's name in lower case when absent. */
  readonly label?: string;
  /** Sleeps between polls (tests pass a fake). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** What the progress line shows of a running execution. */
export interface ExecutionProgress {
  /** The Task state entered last. */
  readonly state?: string;
  /** Blocks the finished copy, scan or scrub items did (CopySegment `blocksWritten`, VerifyScanSegment `scanned`, ScrubSegment `read`). */
  readonly done: number;
  /** Blocks the plan will copy (SyncPlan's or RestorePlan's `blocks`), once planned. */
  readonly total?: number;
}

/** The history fields {@link progressFromHistory} reads (the SDK's HistoryEvent has them). */
export interface ProgressEvent {
  readonly stateEnteredEventDetails?: { readonly name?: string };
  readonly stateExitedEventDetails?: { readonly name?: string; readonly output?: string };
}

/** Tasks whose output names the blocks a job will copy, and those whose items count done blocks. */
const PLAN_TASKS = new Set(['SyncPlan', 'RestorePlan']);
const ITEM_BLOCKS: Readonly<Record<string, string>> = { CopySegment: 'blocksWritten', VerifyScanSegment: 'scanned', ScrubSegment: 'read' };

/**
 * Block progress from an execution's history (oldest first): the plan's `blocks` is the total, and
 * each finished Map item adds its blocks. A new plan (a sync that first finished a crashed run's
 * copy, then planned its own) starts the count again. Task state names may carry a qualifier
 * after a dot (`SnapshotStatus.Secondary`): the task is the part before it.
 */
export function progressFromHistory(events: readonly ProgressEvent[]): ExecutionProgress {
  let state: string | undefined;
  let done = 0;
  let total: number | undefined;
  for (const event of events) {
    state = event.stateEnteredEventDetails?.name ?? state;
    const exited = event.stateExitedEventDetails;
    if (exited?.name === undefined || exited.output === undefined) continue;
    const task = exited.name.split('.')[0];
    let output: unknown;
    try {
      output = JSON.parse(exited.output);
    } catch {
      continue;
    }
    if (typeof output !== 'object' || output === null) continue;
    const fields = output as Record<string, unknown>;
    if (PLAN_TASKS.has(task) && typeof fields.blocks === 'number') {
      total = fields.blocks;
      done = 0;
    }
    const field = ITEM_BLOCKS[task];
    if (field !== undefined && typeof fields[field] === 'number') done += fields[field] as number;
  }
  return { state, done, total };
}

/** The execution's progress, from its whole history; undefined if the history cannot be read. */
async function readProgress(sfn: SFNClient, executionArn: string): Promise<ExecutionProgress | undefined> {
  try {
    const events: ProgressEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: HISTORY_PAGE_EVENTS, includeExecutionData: true, nextToken }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return progressFromHistory(events);
  } catch {
    // The progress line is a nicety: a role without GetExecutionHistory still runs the job.
    return undefined;
  }
}

/**
 * Starts `job`'s machine with `input` and follows the execution to its end.
 * @returns the execution's output, parsed.
 * @throws JobFailedError when it FAILED, TIMED_OUT or was ABORTED (the engine's error name and message).
 */
export async function runJobExecution<T>(sfn: SFNClient, machineArn: string, job: JobName, input: Record<string, unknown>, options: RunExecutionOptions = {}): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const runId = newRunId(job);
  const volumeId = String(input.volumeId);
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name: runId, input: JSON.stringify(input) }));
  const executionArn = started.executionArn;
  if (executionArn === undefined) throw new CliError(`StartExecution of ${job} answered no execution ARN`, { exitCode: EXIT_CODES.checkFailed, volumeId });
  const { output } = options;
  const interactive = output?.interactive === true;
  const label = options.label ?? job.toLowerCase();
  const startedAt = now();
  if (interactive) output?.say(`${label} ${runId}: ${executionArn}`);
  let described: DescribeExecutionCommandOutput;
  let delay: number | undefined;
  try {
    for (;;) {
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') break;
      if (now() - startedAt > FOLLOW_LIMIT_MS) {
        throw new ExecutionStillRunningError(`${job} ${runId} of ${volumeId} is still running after ${formatDuration(now() - startedAt)}`, {
          exitCode: EXIT_CODES.checkFailed,
          hint: `look at ${executionArn} in the Step Functions console`,
          volumeId,
        });
      }
      if (interactive) {
        const progress = await readProgress(sfn, executionArn);
        const line =
          progress !== undefined && (progress.total !== undefined || progress.done > 0)
            ? formatProgress(`${label} ${progress.state ?? ''}`.trim(), progress.done, progress.total, now() - startedAt)
            : formatExecutionProgress(label, described.status, progress?.state, now() - startedAt);
        output?.streams.stdout.write(`\r\u001b[2K${line}`);
      }
      delay = nextPollDelay(delay);
      await sleep(delay);
    }
  } finally {
    if (interactive) output?.streams.stdout.write('\r\u001b[2K');
  }
  if (described.status === 'SUCCEEDED') return JSON.parse(described.output ?? 'null') as T;
  const error = described.error ?? (described.status === 'TIMED_OUT' ? 'States.Timeout' : described.status === 'ABORTED' ? 'States.Aborted' : undefined);
  throw new JobFailedError(job, { runId, error, cause: described.cause }, volumeId);
}

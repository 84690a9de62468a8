/**
 * Runs the engine's state machines locally: the definitions come from the synthesized CDK
 * template, in process (no deploy), exactly as CloudFormation would receive them; the
 * interpreter is `aws-local-stepfunctions`; each Lambda Task state calls its handler in process
 * (the same middleware bundle as in AWS) with an injected `EngineContext` pointed at the local
 * cloud (emulator + dynalite over HTTP, real SDK clients). Waits and retry pauses are shortened.
 *
 * ```
 *  EbsCdpStack (stub code) ─synth─► template ─► DefinitionString (Fn::Join, Fn::GetAtt of function ARNs)
 *        │                                              │ resolved: arn:…:function:<logicalId>
 *        └─ function Metadata ebs-cdp:task ─────────────┴─► Task state → task name → handler(context)
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { Logger } from '@aws-lambda-powertools/logger';
import { TASKS, type TaskName } from '../../lambdas';
import { createTaskHandler } from '../../lambdas/middleware';
import { TASK_NAMES } from '../../lambdas/task-names';
import type * as EbsCdpStackModule from '../../infra/ebs-cdp-stack';
import { JOB_NAMES, type JobName } from '../../infra/job-names';
import { EbsCdpError } from '../../shared/core/errors';
import type { EngineContext } from '../../shared/engine/context';
import { InjectedCrashError } from '../drivers/errors';

// ── Promise.withResolvers on Node 20 ──────────────────────────────────────────────────────

type WithResolvers = <T>() => { promise: Promise<T>; resolve: (value: T) => void; reject: (reason?: unknown) => void };

/**
 * `aws-local-stepfunctions` calls `Promise.withResolvers` (ES2024, Node 22) for every Task
 * state's timeout. On Node 20 that call throws inside the task, which the interpreter treats as
 * the task failing: every task would silently go down its Catch path. Installed once, only when
 * missing.
 */
export function installPromiseWithResolvers(): void {
  const promiseConstructor = Promise as PromiseConstructor & { withResolvers?: WithResolvers };
  if (typeof promiseConstructor.withResolvers === 'function') return;
  const withResolvers: WithResolvers = <T>() => {
    let resolve: (value: T) => void = () => undefined;
    let reject: (reason?: unknown) => void = () => undefined;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
  Object.defineProperty(Promise, 'withResolvers', { value: withResolvers, writable: true, configurable: true });
}

installPromiseWithResolvers();

// ── definitions from the synthesized template ─────────────────────────────────────────────

/** What the local cloud pretends its account and Region are, to give the definitions real-looking ARNs. */
const LOCAL_ACCOUNT = '123456789012';
const LOCAL_REGION = 'us-east-1';
const LOCAL_PARTITION = 'aws';
const FUNCTION_ARN_PREFIX = `arn:${LOCAL_PARTITION}:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:`;

/** The stack the runner synthesizes (never deployed). */
const RUNNER_STACK_NAME = 'EbsCdpLocal';

/** One machine's definition and the task each of its Task states runs. */
export interface LocalDefinition {
  readonly name: JobName;
  readonly definition: StateMachineDefinition;
  /** Task state name → task name (a machine may call one task from several states, e.g. SnapshotStatus). */
  readonly taskStates: ReadonlyMap<string, TaskName>;
  readonly waitStates: readonly string[];
  readonly retryStates: readonly string[];
}

/** The template does not hold what the runner expects (a machine, a function's task, an intrinsic). */
export class RunnerDefinitionError extends EbsCdpError {
  static override readonly errorName: string = 'RunnerDefinitionError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface TemplateResource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
}

/** Resolves the intrinsics CDK puts into a DefinitionString: Fn::Join, Fn::GetAtt (function ARNs), Ref (pseudo parameters). */
function resolveIntrinsic(value: Json): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(resolveIntrinsic).join(join[0]);
    }
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && getAtt[1] === 'Arn') {
      return `${FUNCTION_ARN_PREFIX}${getAtt[0]}`;
    }
    const ref = value.Ref;
    if (ref === 'AWS::Partition') return LOCAL_PARTITION;
    if (ref === 'AWS::Region') return LOCAL_REGION;
    if (ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
  }
  throw new RunnerDefinitionError(`cannot resolve ${JSON.stringify(value)} in a state machine definition`);
}

interface StatesContainer {
  States: Record<string, Record<string, Json>>;
}

/** Visits every state, including those of Map item processors and Parallel branches. */
function forEachState(container: StatesContainer, visit: (name: string, state: Record<string, Json>) => void): void {
  for (const [name, state] of Object.entries(container.States)) {
    visit(name, state);
    const processor = (state.ItemProcessor ?? state.Iterator) as unknown as StatesContainer | undefined;
    if (processor !== undefined) forEachState(processor, visit);
    const branches = state.Branches as unknown as StatesContainer[] | undefined;
    for (const branch of branches ?? []) forEachState(branch, visit);
  }
}

/**
 * Extracts the job machines' definitions from a synthesized template, resolving function ARNs
 * and mapping every Task state to its task through the functions' `ebs-cdp:task` metadata.
 */
export function definitionsFromTemplate(template: { Resources: Record<string, TemplateResource> }): Record<JobName, LocalDefinition> {
  const { TASK_METADATA_KEY } = loadEngineStack();
  const taskOfFunction = new Map<string, TaskName>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const task = resource.Metadata?.[TASK_METADATA_KEY];
    if (resource.Type === 'AWS::Lambda::Function' && typeof task === 'string' && (TASK_NAMES as readonly string[]).includes(task)) {
      taskOfFunction.set(logicalId, task as TaskName);
    }
  }
  const definitions: Partial<Record<JobName, LocalDefinition>> = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const body = resource.Properties?.DefinitionString;
    if (body === undefined) throw new RunnerDefinitionError(`state machine ${logicalId} has no DefinitionString`);
    const definition = JSON.parse(resolveIntrinsic(body)) as StateMachineDefinition;
    const name = jobNameOf(logicalId);
    const taskStates = new Map<string, TaskName>();
    const waitStates: string[] = [];
    const retryStates: string[] = [];
    forEachState(definition as unknown as StatesContainer, (stateName, state) => {
      if (state.Type === 'Wait') waitStates.push(stateName);
      if (Array.isArray(state.Retry)) retryStates.push(stateName);
      if (state.Type !== 'Task') return;
      const resourceArn = String(state.Resource);
      const task = resourceArn.startsWith(FUNCTION_ARN_PREFIX) ? taskOfFunction.get(resourceArn.slice(FUNCTION_ARN_PREFIX.length)) : undefined;
      if (task === undefined) throw new RunnerDefinitionError(`Task state ${stateName} of ${name} calls ${resourceArn}, which is no task function`);
      taskStates.set(stateName, task);
    });
    definitions[name] = { name, definition, taskStates, waitStates, retryStates };
  }
  for (const name of JOB_NAMES) {
    if (definitions[name] === undefined) throw new RunnerDefinitionError(`the template has no ${name} state machine`);
  }
  return definitions as Record<JobName, LocalDefinition>;
}

/** `JobsSync3F29567E` → `Sync`: CDK's logical ids start with the construct path (`Jobs` / `<name>`). */
const JOB_MACHINE_LOGICAL_ID = new RegExp(`^Jobs(${JOB_NAMES.join('|')})[0-9A-F]{8}$`);

function jobNameOf(logicalId: string): JobName {
  const match = JOB_MACHINE_LOGICAL_ID.exec(logicalId);
  if (match === null) throw new RunnerDefinitionError(`unexpected state machine ${logicalId}`);
  return match[1] as JobName;
}

/**
 * The engine stack's module, loaded on first use: it pulls in aws-cdk-lib (≈1.5 s to load), which
 * a CLI process that finds the definitions in the cache never needs.
 */
function loadEngineStack(): typeof EbsCdpStackModule {
  // A static import would load aws-cdk-lib in every process that runs a job.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../infra/ebs-cdp-stack') as typeof EbsCdpStackModule;
}

/** Synthesizes the engine stack with stub function code (no bundling: only the definitions matter here). */
export function synthesizeDefinitions(): Record<JobName, LocalDefinition> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { EbsCdpStack } = loadEngineStack();
  const app = new App();
  const stack = new EbsCdpStack(app, RUNNER_STACK_NAME, { taskCode: 'stub' });
  const template = app.synth().getStackArtifact(stack.artifactId).template as { Resources: Record<string, TemplateResource> };
  return definitionsFromTemplate(template);
}

// ── the definitions cache ─────────────────────────────────────────────────────────────────

/**
 * Bumped when the cached file's shape changes, so an older file is a miss rather than a misread.
 */
const DEFINITIONS_CACHE_FORMAT = 1;

const REPOSITORY_ROOT = path.resolve(__dirname, '../..');

/**
 * What the synthesized definitions depend on: the infra code, the task names and handlers, what
 * the machines read from `shared/` (MaxConcurrency from the quotas, poll and lease timings, the
 * error names of every Retry and Catch), this extraction code, and the CDK version that renders
 * them.
 */
const DEFINITION_SOURCE_DIRS = ['infra', 'lambdas', 'shared'];
const DEFINITION_SOURCE_FILES = ['local/stepfunctions/runner.ts'];
const DEFINITION_PACKAGES = ['aws-cdk-lib', 'constructs'];

/** Every `.ts` file under `dir`, relative to the repository, in a stable order. */
function sourceFilesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(REPOSITORY_ROOT, relative), { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts')) found.push(child);
    }
  };
  walk(dir);
  return found.sort();
}

function packageVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version?: string };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The cache key of the definitions: SHA-256 over the sources that determine them (name and bytes
 * of each file) and the versions of the packages that render them.
 */
export function definitionsCacheKey(): string {
  const hash = createHash('sha256').update(`format ${DEFINITIONS_CACHE_FORMAT}\n`);
  const files = [...DEFINITION_SOURCE_DIRS.flatMap(sourceFilesUnder), ...DEFINITION_SOURCE_FILES];
  for (const file of files) {
    const bytes = readFileSync(path.join(REPOSITORY_ROOT, file));
    hash.update(`${file} ${bytes.length}\n`).update(bytes);
  }
  for (const name of DEFINITION_PACKAGES) hash.update(`${name}@${packageVersion(name)}\n`);
  return hash.digest('hex');
}

/**
 * `node_modules/.cache/ebs-cdp` (where tools keep such caches, wiped with node_modules), or the
 * OS temp directory when there is no writable node_modules.
 */
export function defaultDefinitionsCacheDir(): string {
  return path.join(REPOSITORY_ROOT, 'node_modules', '.cache', 'ebs-cdp');
}

function fallbackDefinitionsCacheDir(): string {
  return path.join(tmpdir(), 'ebs-cdp-cache');
}

/** A definition as the cache file holds it (the task-state map as entries). */
interface CachedDefinition {
  readonly name: JobName;
  readonly definition: StateMachineDefinition;
  readonly taskStates: Array<[string, TaskName]>;
  readonly waitStates: string[];
  readonly retryStates: string[];
}

interface DefinitionsCacheFile {
  readonly format: number;
  readonly key: string;
  readonly definitions: CachedDefinition[];
}

function cacheFileName(key: string): string {
  return `definitions-${key}.json`;
}

/** The cached definitions of `key` in `dir`, or undefined on a miss (absent, unreadable, or of another key or format). */
function readCachedDefinitions(dir: string, key: string): Record<JobName, LocalDefinition> | undefined {
  let file: DefinitionsCacheFile;
  try {
    file = JSON.parse(readFileSync(path.join(dir, cacheFileName(key)), 'utf8')) as DefinitionsCacheFile;
  } catch {
    return undefined;
  }
  if (file.format !== DEFINITIONS_CACHE_FORMAT || file.key !== key || !Array.isArray(file.definitions)) return undefined;
  const definitions: Partial<Record<JobName, LocalDefinition>> = {};
  for (const cached of file.definitions) {
    definitions[cached.name] = { ...cached, taskStates: new Map(cached.taskStates) };
  }
  for (const name of JOB_NAMES) {
    if (definitions[name]?.definition.States === undefined) return undefined;
  }
  return definitions as Record<JobName, LocalDefinition>;
}

/**
 * Writes the cache file through a temporary name and a rename, so that a process reading it at the
 * same time sees the whole file or none. Returns false when `dir` is not writable.
 */
function writeCachedDefinitions(dir: string, key: string, definitions: Record<JobName, LocalDefinition>): boolean {
  const file: DefinitionsCacheFile = {
    format: DEFINITIONS_CACHE_FORMAT,
    key,
    definitions: Object.values(definitions).map((local) => ({ ...local, taskStates: [...local.taskStates], waitStates: [...local.waitStates], retryStates: [...local.retryStates] })),
  };
  try {
    mkdirSync(dir, { recursive: true });
    const target = path.join(dir, cacheFileName(key));
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(file));
    renameSync(temporary, target);
  } catch {
    return false;
  }
  // Files of other keys are stale sources' definitions: drop them so the cache does not grow per edit.
  for (const name of readdirSync(dir)) {
    if (name.startsWith('definitions-') && name.endsWith('.json') && name !== cacheFileName(key)) {
      try {
        rmSync(path.join(dir, name), { force: true });
      } catch {
        // Another process may hold or have removed it: harmless either way.
      }
    }
  }
  return true;
}

export interface LocalDefinitionsOptions {
  /** Where the cache lives; {@link defaultDefinitionsCacheDir}, then the OS temp directory, when absent. */
  readonly cacheDir?: string;
  /** The cache key; {@link definitionsCacheKey} when absent (tests inject one). */
  readonly cacheKey?: string;
  /** How to build the definitions on a miss; {@link synthesizeDefinitions} when absent (tests count calls). */
  readonly synthesize?: () => Record<JobName, LocalDefinition>;
}

/** This process's definitions (default key and directory), once read or synthesized. */
let synthesized: { key: string; definitions: Record<JobName, LocalDefinition> } | undefined;

/**
 * The definitions of the engine stack. Synthesizing the CDK stack takes seconds (3–10 s on two
 * loaded cores) and every CLI command is a new process, so they are cached on disk under a key
 * of everything that determines them (see {@link definitionsCacheKey}): a hit costs a file read,
 * a miss synthesizes and writes the file. Within a process they are kept in memory too.
 */
export function localDefinitions(options: LocalDefinitionsOptions = {}): Record<JobName, LocalDefinition> {
  // The sources do not change under a running process: hash them once.
  if (options.cacheKey === undefined && options.cacheDir === undefined && synthesized !== undefined) return synthesized.definitions;
  const key = options.cacheKey ?? definitionsCacheKey();
  const dirs = options.cacheDir === undefined ? [defaultDefinitionsCacheDir(), fallbackDefinitionsCacheDir()] : [options.cacheDir];
  let definitions: Record<JobName, LocalDefinition> | undefined;
  for (const dir of dirs) {
    definitions = readCachedDefinitions(dir, key);
    if (definitions !== undefined) break;
  }
  if (definitions === undefined) {
    definitions = (options.synthesize ?? synthesizeDefinitions)();
    for (const dir of dirs) {
      if (writeCachedDefinitions(dir, key, definitions)) break;
    }
  }
  if (options.cacheKey === undefined && options.cacheDir === undefined) synthesized = { key, definitions };
  return definitions;
}

// ── running ──────────────────────────────────────────────────────────────────────────────

// Thrown by the crash-injection hook (a task that died at a boundary): one class with the drivers'.
export { InjectedCrashError };

/**
 * Makes the `atTask`-th task invocation of the execution (1-based, Map items included, JobFailed
 * included) die before or after its engine call. `throw`: the task fails like a crashed Lambda
 * whose retries are exhausted, so the machine's Catch runs (JobFailed releases the lease).
 * `abort`: the whole execution stops at that point and nothing else runs, as if Step Functions
 * itself lost it (the lease stays held until it expires).
 */
export interface CrashInjection {
  readonly atTask: number;
  readonly when: 'before' | 'after';
  readonly mode?: 'throw' | 'abort';
}

export interface RunStateMachineOptions {
  /** The engine context every handler gets (the local cloud's). */
  readonly context: EngineContext;
  /** The execution name (`runId` of every task); generated when absent. */
  readonly runId?: string;
  /** Every Wait state pauses this long instead (milliseconds). */
  readonly waitMs?: number;
  /** Every Retry pauses this long instead (milliseconds). */
  readonly retryMs?: number;
  readonly crash?: CrashInjection;
  /**
   * Called before each task invocation's engine call (after the `before` crash check), with the
   * Task state's name and the 1-based invocation number: lets a test act between two tasks of a
   * running execution, e.g. commit a sync during a verify's scan interval, deterministically.
   */
  readonly beforeTask?: (stateName: string, invocation: number) => Promise<void>;
  /**
   * Called after each task invocation's engine call succeeded, with its result: what a
   * `TaskStateExited` history event carries on AWS (the local Step Functions endpoint records it).
   */
  readonly afterTask?: (stateName: string, result: unknown) => void;
  /** The handlers' Powertools logger; a silent one when absent. */
  readonly logger?: Logger;
}

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface RunStateMachineResult {
  readonly status: ExecutionStatus;
  readonly runId: string;
  readonly output?: unknown;
  /** The failed execution's error name (the Fail state's, i.e. the original error's). */
  readonly error?: string;
  /** Its cause: a Lambda error's cause is JSON `{ errorType, errorMessage, trace }`, as in AWS. */
  readonly cause?: string;
  /** Task state names in the order they were invoked (each Map item once). */
  readonly history: readonly string[];
  /** The same, as task names. */
  readonly tasks: readonly TaskName[];
  /** Where the injected crash happened, if it did. */
  readonly crashed?: { readonly stateName: string; readonly when: 'before' | 'after' };
}

/** Pauses of Wait states and retries locally: long enough to yield, short enough for many polls. */
const DEFAULT_WAIT_MS = 5;
const DEFAULT_RETRY_MS = 5;

let executionCounter = 0;

/** A Lambda invocation error as Step Functions sees it: `Error` = the name, `Cause` = the runtime's JSON. */
class LambdaInvocationError extends Error {
  constructor(error: unknown) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const trace = error instanceof Error && error.stack !== undefined ? error.stack.split('\n') : [];
    super(JSON.stringify({ errorType: name, errorMessage: message, trace }));
    this.name = name;
  }
}

/**
 * Runs one of the engine's state machines to its end, locally.
 *
 * @example
 * const run = await runStateMachine('Sync', { volumeId }, { context });
 * // run.status === 'SUCCEEDED', run.output = { seq, kind, blocks, … }, run.tasks = ['SyncBegin', …]
 */
export async function runStateMachine(name: JobName, input: Record<string, unknown>, options: RunStateMachineOptions): Promise<RunStateMachineResult> {
  const local = localDefinitions()[name];
  executionCounter += 1;
  const runId = options.runId ?? `${name.toLowerCase()}-${Date.now().toString(36)}-${executionCounter}`;
  const logger = options.logger ?? new Logger({ serviceName: 'ebs-cdp-local', logLevel: 'SILENT' });
  const history: string[] = [];
  const tasks: TaskName[] = [];
  let invocations = 0;
  let crashed: { stateName: string; when: 'before' | 'after' } | undefined;
  let abortExecution: () => void = () => undefined;

  const crashIfDue = (stateName: string, when: 'before' | 'after', invocation: number): void => {
    const crash = options.crash;
    if (crash === undefined || crash.atTask !== invocation || crash.when !== when) return;
    crashed = { stateName, when };
    if (crash.mode === 'abort') abortExecution();
    throw new InjectedCrashError(`injected crash ${when} the engine call of ${stateName} (task invocation ${invocation})`);
  };

  const taskResourceLocalHandlers: Record<string, (event: unknown) => Promise<never>> = {};
  for (const [stateName, taskName] of local.taskStates) {
    const { task } = TASKS[taskName];
    const handler = createTaskHandler(
      {
        taskName,
        schema: task.schema,
        run: async (parsed, context) => {
          invocations += 1;
          const invocation = invocations;
          crashIfDue(stateName, 'before', invocation);
          await options.beforeTask?.(stateName, invocation);
          const result = await task.run(parsed, context);
          crashIfDue(stateName, 'after', invocation);
          options.afterTask?.(stateName, result);
          return result;
        },
      },
      { context: options.context, logger },
    );
    taskResourceLocalHandlers[stateName] = async (event) => {
      history.push(stateName);
      tasks.push(taskName);
      try {
        // JSON round trip: what a real invocation does to the payload both ways.
        return JSON.parse(JSON.stringify(await handler(event))) as never;
      } catch (error) {
        throw new LambdaInvocationError(error);
      }
    };
  }

  // A copy: the interpreter's validator writes defaults (QueryLanguage) into the definition it checks.
  const machine = new StateMachine(structuredClone(local.definition), { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: taskResourceLocalHandlers as never,
      waitTimeOverrides: Object.fromEntries(local.waitStates.map((state) => [state, options.waitMs ?? DEFAULT_WAIT_MS])),
      retryIntervalOverrides: Object.fromEntries(local.retryStates.map((state) => [state, options.retryMs ?? DEFAULT_RETRY_MS])),
    },
    noThrowOnAbort: true,
    context: {
      Execution: {
        Id: `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${name}:${runId}`,
        Name: runId,
        Input: input as never,
        StartTime: new Date().toISOString(),
      },
      StateMachine: { Id: `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`, Name: name },
    },
  });
  abortExecution = execution.abort;
  const base = { runId, history, tasks, crashed: crashed as RunStateMachineResult['crashed'] };
  try {
    const output = await execution.result;
    if (output === null && crashed !== undefined && options.crash?.mode === 'abort') {
      return { ...base, crashed, status: 'ABORTED' };
    }
    return { ...base, crashed, status: 'SUCCEEDED', output };
  } catch (error) {
    const failure = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return {
      ...base,
      crashed,
      status: 'FAILED',
      error: failure instanceof Error ? failure.name : 'Error',
      cause: failure instanceof Error ? failure.message : String(failure),
    };
  }
}

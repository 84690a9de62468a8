/**
 * The one middy bundle around every state-machine task (STYLE.md, "Thin handlers"):
 *
 * ```
 *   event ──► injectLambdaContext ──► captureLambdaHandler ──► logMetrics ──► taskInput ──► task.run(input, context) ──► result
 *             (Powertools: Lambda      (Tracer: X-Ray           (Metrics: a     (zod parse;    (one engine step)
 *              context, resetKeys)      segment per task)        count per task) log keys)
 *                          ▲                                   │ throws
 *                          └──────────── taskErrors ◄──────────┘
 *                         (stable name, no stack, cause logged)
 * ```
 *
 * Step Functions Retry/Catch match on the `name` of what a Lambda throws, and the Node runtime
 * puts `error.stack` into the execution history as `Cause.trace`. So every error leaves with a
 * stable name and a stack that is only `name: message`; the full error, cause chain included,
 * goes to the log instead.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { z } from 'zod';
import { EbsCdpError } from '../shared/core/errors';
import { InternalTaskError, InvalidTaskInputError, TransientTaskError } from './errors';

/** The fields of a Lambda context Powertools and the log lines read. */
export interface LambdaContextLike {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** One state-machine task: its name (the Task state's name), its input schema and its engine step. */
export interface TaskDefinition<TSchema extends z.ZodType, TResult, TContext> {
  readonly taskName: string;
  readonly schema: TSchema;
  run(input: z.output<TSchema>, context: TContext): Promise<TResult>;
}

/** Builds (or returns) the context a task runs with; called once per invocation, cached by the provider. */
export type ContextProvider<TContext> = () => Promise<TContext>;

export interface TaskHandlerOptions<TContext> {
  /** A context (tests, the local runner) or a provider of one (a Lambda's cold start). */
  context: TContext | ContextProvider<TContext>;
  /** The logger to enrich and write to; the module's shared logger when absent. */
  logger?: Logger;
  /** Tracer (tests); the module's shared one when absent. */
  tracer?: Tracer;
  /** Metrics (tests); the module's shared one inside Lambda, none elsewhere. */
  metrics?: Metrics;
}

/** A wrapped task: what Lambda invokes, and what the local runner calls in process. */
export type TaskHandler<TResult> = (event: unknown, lambdaContext?: LambdaContextLike) => Promise<TResult>;

/** The service name every log line carries. */
const SERVICE_NAME = 'ebs-cdp';

/** Shared by every handler of one Lambda process, like the engine context. */
const sharedLogger = new Logger({ serviceName: SERVICE_NAME });

/** X-Ray segments per task; Powertools turns tracing off by itself outside Lambda. */
const sharedTracer = new Tracer({ serviceName: SERVICE_NAME });

/** EMF metrics (namespace from POWERTOOLS_METRICS_NAMESPACE, set by the stack). */
const sharedMetrics = new Metrics({ serviceName: SERVICE_NAME });

/**
 * Metrics are flushed as EMF lines on stdout, which only CloudWatch reads: in the local runner,
 * the CLI and tests they would be noise, so they are on only inside Lambda.
 */
function inLambda(): boolean {
  return process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined;
}

/** Per-task outcome counts, dimension `task` (the alarms on failed executions sit on Step Functions' own metrics). */
export const TASK_SUCCEEDED_METRIC = 'TaskSucceeded';
export const TASK_FAILED_METRIC = 'TaskFailed';

/** The logger the handlers write to unless given another. */
export function taskLogger(): Logger {
  return sharedLogger;
}

/**
 * What Powertools reads when there is no real Lambda context (the local runner, tests). The
 * remaining time is Lambda's maximum, so nothing that checks it gives up early.
 */
const LAMBDA_MAX_DURATION_MS = 900_000;

function localLambdaContext(taskName: string): LambdaContextLike {
  return {
    functionName: `local-${taskName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:local-${taskName}`,
    memoryLimitInMB: '0',
    awsRequestId: `local-${Date.now().toString(36)}`,
    logGroupName: 'local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => LAMBDA_MAX_DURATION_MS,
  };
}

/**
 * Input fields that name the snapshot a task is about, in order of preference: the snapshot it
 * polls, the one it writes, the secondary it commits, the primary it read. One key, `snapshotId`,
 * so a search in the logs finds every line about a snapshot whatever role it played.
 */
const SNAPSHOT_ID_FIELDS = ['snapshotId', 'targetSnapshotId', 'secondarySnapshotId', 'primarySnapshotId'] as const;

/** The log keys of an input: `volumeId`, `runId`, `snapshotId` where the input has them. */
export function logKeysOf(event: unknown): Record<string, string> {
  if (typeof event !== 'object' || event === null) return {};
  const record = event as Record<string, unknown>;
  const keys: Record<string, string> = {};
  if (typeof record.volumeId === 'string') keys.volumeId = record.volumeId;
  if (typeof record.runId === 'string') keys.runId = record.runId;
  for (const field of SNAPSHOT_ID_FIELDS) {
    const value = record[field];
    if (typeof value === 'string') {
      keys.snapshotId = value;
      break;
    }
  }
  return keys;
}

/** Formats zod issues as `path: message`, the path dotted (`segments.3`), `(input)` for the root. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.length === 0 ? '(input)' : issue.path.map(String).join('.')}: ${issue.message}`);
}

/** Node network error codes: the connection failed, not the request. */
const TRANSIENT_NETWORK_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'];

/** Error names of a request that timed out or lost its socket (the SDK's and Node's). */
const TRANSIENT_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/** The fields of a thrown value that look like an error; duck-typed, since errors from another realm fail `instanceof`. */
interface ErrorLike {
  name: string;
  message: string;
  $retryable?: unknown;
  $fault?: unknown;
  code?: unknown;
}

function asErrorLike(error: unknown): ErrorLike | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const fields = error as Partial<ErrorLike>;
  return typeof fields.name === 'string' && typeof fields.message === 'string' ? (fields as ErrorLike) : undefined;
}

/**
 * Whether an untyped error is one the AWS SDK (or the network) says is worth retrying. The SDK
 * wraps a non-Error rejection as `AWS SDK error wrapper for TimeoutError: read ECONNRESET`, so
 * the network codes are looked for in the message too.
 */
function isTransientSdkError(error: ErrorLike): boolean {
  return (
    error.$retryable !== undefined ||
    error.$fault === 'server' ||
    TRANSIENT_ERROR_NAMES.has(error.name) ||
    (typeof error.code === 'string' && TRANSIENT_NETWORK_CODES.includes(error.code)) ||
    TRANSIENT_NETWORK_CODES.some((code) => error.message.includes(code))
  );
}

/**
 * Maps whatever a task threw to the error Step Functions sees: our typed errors keep their class
 * and name; transient SDK errors become {@link TransientTaskError}; anything else becomes
 * {@link InternalTaskError}. The stack is cut to `name: message` because the Node runtime copies
 * it into the execution history (`Cause.trace`), which is no place for file paths and frames.
 */
export function toTaskError(error: unknown, taskName: string, keys: { volumeId?: string } = {}): EbsCdpError {
  let mapped: EbsCdpError;
  const errorLike = asErrorLike(error);
  if (error instanceof EbsCdpError) {
    mapped = error;
  } else if (errorLike !== undefined && isTransientSdkError(errorLike)) {
    mapped = new TransientTaskError(`${taskName}: transient AWS error ${errorLike.name}: ${errorLike.message}`, { ...keys, cause: error });
  } else {
    const described = errorLike !== undefined ? `${errorLike.name}: ${errorLike.message}` : String(error);
    mapped = new InternalTaskError(`${taskName} failed unexpectedly (${described}); see the task's log for the cause`, {
      ...keys,
      cause: error,
    });
  }
  mapped.stack = `${mapped.name}: ${mapped.message}`;
  return mapped;
}

/**
 * Caches a provider's context for the life of the process (a Lambda's cold start builds it
 * once). A failed build is not cached, so the next invocation tries again instead of failing
 * forever on a transient error.
 */
export function onceProvider<TContext>(build: ContextProvider<TContext>): ContextProvider<TContext> {
  let pending: Promise<TContext> | undefined;
  return () => {
    if (pending === undefined) {
      pending = build().catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
    }
    return pending;
  };
}

function isProvider<TContext>(context: TContext | ContextProvider<TContext>): context is ContextProvider<TContext> {
  return typeof context === 'function';
}

/**
 * Wraps one task in the bundle: Powertools logger (Lambda context, `volumeId`/`runId`/`snapshotId`
 * keys reset after each invocation so a warm container never logs a previous volume's ids), zod
 * validation of the input, and error mapping ({@link toTaskError}).
 *
 * @example
 * export const handler = createTaskHandler(syncBeginTask, { context: onceProvider(contextFromEnv) });
 * // the local runner: createTaskHandler(syncBeginTask, { context: engineContextOfTheLocalCloud })
 */
export function createTaskHandler<TSchema extends z.ZodType, TResult, TContext>(
  task: TaskDefinition<TSchema, TResult, TContext>,
  options: TaskHandlerOptions<TContext>,
): TaskHandler<TResult> {
  const logger = options.logger ?? sharedLogger;
  const { context } = options;
  const provide: ContextProvider<TContext> = isProvider(context) ? context : () => Promise.resolve(context);

  const metrics = options.metrics ?? (inLambda() ? sharedMetrics : undefined);
  const count = (name: string): void => {
    if (metrics === undefined) return;
    metrics.addDimension('task', task.taskName);
    metrics.addMetric(name, MetricUnit.Count, 1);
  };
  let handler = middy(async (input: z.output<TSchema>): Promise<TResult> => {
    const result = await task.run(input, await provide());
    count(TASK_SUCCEEDED_METRIC);
    return result;
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(options.tracer ?? sharedTracer, { captureResponse: false }));
  if (metrics !== undefined) handler = handler.use(logMetrics(metrics));
  const wrapped = handler
    .use({
      name: 'taskInput',
      before: (request) => {
        // Keys first, from the raw event: a rejected input is still logged with its volume.
        logger.appendKeys({ taskName: task.taskName, ...logKeysOf(request.event) });
        const parsed = task.schema.safeParse(request.event);
        if (!parsed.success) {
          throw new InvalidTaskInputError(task.taskName, formatIssues(parsed.error.issues), {
            ...logKeysOf(request.event),
            cause: parsed.error,
          });
        }
        request.event = parsed.data;
      },
    })
    .use({
      name: 'taskErrors',
      onError: (request) => {
        // Logged before mapping: the mapping cuts the stack, the log is where it must survive.
        logger.error(`${task.taskName} failed`, { error: request.error });
        count(TASK_FAILED_METRIC);
        request.error = toTaskError(request.error, task.taskName, logKeysOf(request.event));
      },
    });

  return async (event, lambdaContext) => (await wrapped(event, lambdaContext ?? localLambdaContext(task.taskName))) as TResult;
}

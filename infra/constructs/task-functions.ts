/**
 * The task functions: one Lambda per state-machine task (`lambdas/task-names.ts`), all built by
 * one construct that carries the defaults (Node 22 on arm64, X-Ray tracing, a log group with
 * retention, Powertools settings) and an environment typed from what the handlers read
 * (`engineEnvSchema`), so a variable the handlers need cannot be forgotten here.
 */
import * as path from 'node:path';
import { CfnResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TASK_NAMES, taskFileName, type TaskName } from '../../lambdas/task-names';
import type { EngineEnv } from '../../shared/wiring/engine-context';
import { acknowledge } from './nag';

/** The repository root: entries, lock file and the local esbuild are resolved from here. */
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** CloudFormation metadata key naming the task a function runs: the local runner maps Task states by it. */
export const TASK_METADATA_KEY = 'ebs-cdp:task';

/** The service name every log line and metric carries (the handlers' Powertools logger uses the same). */
export const SERVICE_NAME = 'ebs-cdp';

/** The CloudWatch namespace of ebs-cdp's own metrics (metric filters over the task logs). */
export const METRICS_NAMESPACE = 'EbsCdp';

/**
 * The tasks that move blocks (a whole segment per invocation): 64 block workers × two 512 KiB
 * buffers = 64 MiB of buffers, and Lambda gives CPU and network in proportion to memory.
 */
const BLOCK_MOVING_TASKS: ReadonlySet<TaskName> = new Set<TaskName>(['CopySegment', 'VerifyScanSegment', 'ScrubSegment']);
/** One full vCPU: hashing every block read and written is CPU-bound. */
const BLOCK_MOVING_MEMORY_MB = 1_769;
/** Planning and bookkeeping tasks hold a segment's delta map (≤ 8 KiB) at a time: the default is plenty. */
const DEFAULT_MEMORY_MB = 512;

/** Lambda's maximum: a segment copy at 250 blocks/s takes ≈262 s; listing a large volume's changes a few minutes. */
const FUNCTION_TIMEOUT = Duration.minutes(15);

/** Replaces bundling when only the definitions matter (tests, the local runner): synthesizes in milliseconds. */
const STUB_CODE = "exports.handler = async () => { throw new Error('stub: this stack was synthesized for its definitions only'); };";

/** `bundled`: esbuild each handler (deployable); `stub`: an inline throwing handler (definitions only). */
export type TaskCode = 'bundled' | 'stub';

/** Powertools' own settings, read by the Logger from the environment. */
export interface PowertoolsEnv {
  readonly POWERTOOLS_SERVICE_NAME: string;
  readonly POWERTOOLS_LOG_LEVEL: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly POWERTOOLS_METRICS_NAMESPACE: string;
}

/** Everything a task function's environment holds: the engine's variables and Powertools'. */
export type TaskEnvironment = EngineEnv & PowertoolsEnv;

/** Drops unset optional variables: CloudFormation takes strings only. */
export function environmentVariables(environment: TaskEnvironment): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export interface TaskFunctionProps {
  readonly taskName: TaskName;
  readonly code: TaskCode;
  readonly environment: TaskEnvironment;
  readonly logRetention: logs.RetentionDays;
}

/** One task's Lambda with the house defaults, tagged with its task in the template's metadata. */
export class TaskFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TaskFunctionProps) {
    super(scope, id);
    const { taskName } = props;
    // Logs go when the stack goes: they describe runs, the chain table holds the state.
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // Our own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `ebs-cdp ${taskName} task` });
    this.logGroup.grantWrite(role);
    const common = {
      role,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: BLOCK_MOVING_TASKS.has(taskName) ? BLOCK_MOVING_MEMORY_MB : DEFAULT_MEMORY_MB,
      timeout: FUNCTION_TIMEOUT,
      environment: environmentVariables(props.environment),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      description: `ebs-cdp ${taskName} task`,
    };
    this.function = props.code === 'stub'
      ? new lambda.Function(this, 'Function', { ...common, handler: 'index.handler', code: lambda.Code.fromInline(STUB_CODE) })
      : new nodejs.NodejsFunction(this, 'Function', {
        ...common,
        entry: path.join(PROJECT_ROOT, 'lambdas', `${taskFileName(taskName)}.ts`),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
        bundling: {
          forceDockerBundling: false,
          format: nodejs.OutputFormat.CJS,
          target: 'node22',
          minify: true,
          sourceMap: true,
        },
      });
    (this.function.node.defaultChild as CfnResource).addMetadata(TASK_METADATA_KEY, taskName);
    acknowledge(this, 'L1', 'Node 22 is the runtime ebs-cdp is built and tested for (tsconfig target, esbuild target node22, the local runner); moving to a newer runtime is a deliberate upgrade, not a default.');
    acknowledge(this, 'IAM5', 'X-Ray PutTraceSegments/PutTelemetryRecords and EC2 Describe* support no resource-level permissions: `*` is the narrowest AWS allows.', 'Resource::*');
  }
}

export interface TaskFunctionsProps {
  readonly code: TaskCode;
  readonly environment: TaskEnvironment;
  readonly logRetention: logs.RetentionDays;
}

/** Every task's function, by task name. */
export class TaskFunctions extends Construct {
  readonly byTask: Readonly<Record<TaskName, TaskFunction>>;

  constructor(scope: Construct, id: string, props: TaskFunctionsProps) {
    super(scope, id);
    const byTask = {} as Record<TaskName, TaskFunction>;
    for (const taskName of TASK_NAMES) {
      byTask[taskName] = new TaskFunction(this, taskName, { taskName, ...props });
    }
    this.byTask = byTask;
  }

  /** The Lambda functions, by task name (what the state machines call). */
  functions(): Record<TaskName, lambda.Function> {
    return Object.fromEntries(TASK_NAMES.map((taskName) => [taskName, this.byTask[taskName].function])) as Record<TaskName, lambda.Function>;
  }
}

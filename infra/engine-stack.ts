/**
 * The engine's minimal stack: the chain table, one function per task, the four state machines.
 * Enough to synthesize the definitions (the local runner reads them from here) and to deploy
 * the jobs; the full deployable stack (least-privilege IAM per function, schedules, alarms,
 * cdk-nag) is another issue.
 */
import * as path from 'node:path';
import { CfnResource, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { TASK_NAMES, taskFileName, type TaskName } from '../lambdas/task-names';
import { CHAIN_TABLE_KEY } from '../shared/aws/chain-store';
import type { EngineEnv } from '../shared/engine/context';
import { EngineStateMachines } from './state-machines';

/** The repository root: entries, lock file and the local esbuild are resolved from here. */
const PROJECT_ROOT = path.resolve(__dirname, '..');

/** CloudFormation metadata key naming the task a function runs: the local runner maps Task states by it. */
export const TASK_METADATA_KEY = 'ebs-cdp:task';

/**
 * The tasks that move blocks (a whole segment per invocation): 64 block workers × two 512 KiB
 * buffers = 64 MiB of buffers, and Lambda gives CPU and network in proportion to memory.
 */
const BLOCK_MOVING_TASKS: ReadonlySet<TaskName> = new Set<TaskName>(['CopySegment', 'VerifyScanSegment']);
const BLOCK_MOVING_MEMORY_MB = 1_769; // one full vCPU: hashing every block is CPU-bound
const DEFAULT_MEMORY_MB = 512;

/** Lambda's maximum: a segment copy at 250 blocks/s takes ≈262 s; listing a large volume's changes a few minutes. */
const FUNCTION_TIMEOUT = Duration.minutes(15);

/** Replaces bundling when only the definitions matter (tests, the local runner): synthesizes in milliseconds. */
const STUB_CODE = "exports.handler = async () => { throw new Error('stub: this stack was synthesized for its definitions only'); };";

export type TaskCode = 'bundled' | 'stub';

export interface EngineStackProps extends StackProps {
  /** Region of the protected (primary) volumes; the stack's own Region when absent. */
  readonly primaryRegion?: string;
  /** Region of the secondary lineage; the primary's when absent. */
  readonly secondaryRegion?: string;
  /** KMS key for an encrypted secondary lineage. */
  readonly secondaryKmsKeyId?: string;
  /** `stub` skips esbuild and ships a throwing inline handler: for synthesizing definitions only. */
  readonly taskCode?: TaskCode;
  /** Seconds between snapshot polls in the state machines. */
  readonly pollSeconds?: number;
}

/** The chain table, the task functions and the state machines. */
export class EngineStack extends Stack {
  readonly table: dynamodb.Table;
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  readonly stateMachines: EngineStateMachines;

  constructor(scope: Construct, id: string, props: EngineStackProps = {}) {
    super(scope, id, props);
    this.table = new dynamodb.Table(this, 'ChainTable', {
      partitionKey: { name: CHAIN_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: CHAIN_TABLE_KEY.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The chain is the only record of which blocks each restore point holds: never lose it with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const primaryRegion = props.primaryRegion ?? this.region;
    const environment: EngineEnv = {
      CHAIN_TABLE: this.table.tableName,
      PRIMARY_REGION: primaryRegion,
      SECONDARY_REGION: props.secondaryRegion ?? primaryRegion,
      SECONDARY_KMS_KEY_ID: props.secondaryKmsKeyId,
    };
    const definedEnvironment = Object.fromEntries(
      Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );

    const functions = {} as Record<TaskName, lambda.IFunction>;
    for (const taskName of TASK_NAMES) {
      const fn = this.taskFunction(taskName, props.taskCode ?? 'bundled', definedEnvironment);
      this.table.grantReadWriteData(fn);
      (fn.node.defaultChild as CfnResource).addMetadata(TASK_METADATA_KEY, taskName);
      functions[taskName] = fn;
    }
    this.functions = functions;
    this.grantSnapshotAccess(Object.values(functions));

    this.stateMachines = new EngineStateMachines(this, 'Jobs', { functions, pollSeconds: props.pollSeconds });
  }

  private taskFunction(taskName: TaskName, code: TaskCode, environment: Record<string, string>): lambda.Function {
    const common = {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: BLOCK_MOVING_TASKS.has(taskName) ? BLOCK_MOVING_MEMORY_MB : DEFAULT_MEMORY_MB,
      timeout: FUNCTION_TIMEOUT,
      environment,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: new logs.LogGroup(this, `${taskName}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
      description: `ebs-cdp ${taskName} task`,
    };
    if (code === 'stub') {
      return new lambda.Function(this, taskName, { ...common, handler: 'index.handler', code: lambda.Code.fromInline(STUB_CODE) });
    }
    return new nodejs.NodejsFunction(this, taskName, {
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
  }

  /**
   * The EBS direct APIs and EC2 snapshot/volume calls the engine makes. Snapshot and volume ids
   * are created at run time, so these are not scoped to resources here; scoping them by our
   * ownership tag is part of the least-privilege work of the deployable stack.
   */
  private grantSnapshotAccess(functions: lambda.IFunction[]): void {
    const statement = new iam.PolicyStatement({
      actions: [
        'ebs:ListSnapshotBlocks', 'ebs:ListChangedBlocks', 'ebs:GetSnapshotBlock',
        'ebs:StartSnapshot', 'ebs:PutSnapshotBlock', 'ebs:CompleteSnapshot',
        'ec2:CreateSnapshot', 'ec2:DeleteSnapshot', 'ec2:DescribeSnapshots', 'ec2:CreateTags',
        'ec2:DescribeVolumes', 'ec2:CreateVolume', 'ec2:DescribeInstances',
        'ec2:StopInstances', 'ec2:StartInstances', 'ec2:AttachVolume', 'ec2:DetachVolume',
      ],
      resources: ['*'],
    });
    for (const fn of functions) fn.addToRolePolicy(statement);
  }
}

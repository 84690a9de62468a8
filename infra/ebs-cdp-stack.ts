/**
 * The deployable stack: one `cdk deploy` protects the volumes the protection config names.
 * Thin on purpose: it wires the constructs grouped by concern (ARCHITECTURE.md, STYLE.md).
 *
 * ```
 *  ChainTable ◄── TaskFunctions (one per task, least-privilege grants) ◄── Jobs (Sync/Verify/Restore/Prune/Scrub)
 *                                                                            ▲
 *  Schedules (one per volume and job) ──► Dispatch ── protect + start ───────┘
 *  Alarms (SNS topic, failed executions, sync lag, verify and scrub damage) + dashboard
 * ```
 */
import { CfnOutput, Stack, Tags, Token, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TaskName } from '../lambdas/task-names';
import { CHAIN_TABLE_TAG_KEY, JOB_TAG_KEY, STACK_TAG_KEY } from './job-tags';
import { parseProtectionConfig, ProtectionConfigFileError, rpoMinutesOf, splitSelectors, type ProtectionConfig } from './config';
import { Alarms } from './constructs/alarms';
import { ChainTable } from './constructs/chain-table';
import { grantTaskPermissions } from './constructs/permissions';
import { Schedules } from './constructs/schedules';
import { jobStateMachines } from './constructs/state-machines';
import { SERVICE_NAME, METRICS_NAMESPACE, TaskFunctions, type TaskCode } from './constructs/task-functions';
import { JOB_NAMES, type EngineStateMachines } from './state-machines';

export { TASK_METADATA_KEY, type TaskCode } from './constructs/task-functions';

export interface EbsCdpStackProps extends StackProps {
  /** What to protect and how; an empty config (no volumes) when absent. */
  readonly config?: ProtectionConfig;
  /** `stub` skips esbuild and ships a throwing inline handler: for synthesizing definitions only. */
  readonly taskCode?: TaskCode;
  /** Seconds between snapshot polls in the state machines. */
  readonly pollSeconds?: number;
}

/** The chain table, task functions, job state machines, schedules, alarms and dashboard. */
export class EbsCdpStack extends Stack {
  readonly config: ProtectionConfig;
  readonly table: dynamodb.Table;
  readonly taskFunctions: TaskFunctions;
  readonly stateMachines: EngineStateMachines;
  readonly schedules?: Schedules;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: EbsCdpStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? parseProtectionConfig({}, 'the empty default config');
    this.config = config;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const primaryRegion = this.region;
    const secondaryRegion = config.secondaryRegion ?? primaryRegion;
    checkPrimaryKeyRegions(config, primaryRegion);

    this.table = new ChainTable(this, 'Chain', { deletionProtection: config.tableDeletionProtection }).table;

    this.taskFunctions = new TaskFunctions(this, 'Tasks', {
      code: props.taskCode ?? 'bundled',
      logRetention,
      environment: {
        CHAIN_TABLE: this.table.tableName,
        PRIMARY_REGION: primaryRegion,
        SECONDARY_REGION: secondaryRegion,
        SECONDARY_KMS_KEY_ID: config.kmsKeyArn,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    const functions = this.taskFunctions.functions();

    const { volumeIds, tags } = splitSelectors(config);
    grantTaskPermissions(this, {
      table: this.table,
      functions,
      volumeIds,
      volumeTags: tags,
      primaryRegion,
      secondaryRegion,
      kmsKeyArn: config.kmsKeyArn,
      primaryKmsKeyArns: config.primaryKmsKeyArns,
      allowInPlaceRestore: config.allowInPlaceRestore,
    });

    const jobs = jobStateMachines(this, { functions, pollSeconds: props.pollSeconds, logRetention });
    this.stateMachines = jobs.machines;

    // Without volumes there is nothing to schedule (and the local runner's synth stays the job machines alone).
    if (config.volumes.length > 0) {
      this.schedules = new Schedules(this, 'Schedules', { config, table: this.table, machines: this.stateMachines.machines, logGroup: jobs.logGroup });
    }

    const log = (taskName: TaskName): logs.ILogGroup => this.taskFunctions.byTask[taskName].logGroup;
    this.alarms = new Alarms(this, 'Alarms', {
      machines: { ...this.stateMachines.machines, ...(this.schedules === undefined ? {} : { Dispatch: this.schedules.dispatch }) },
      commitLogGroup: log('SyncCommit'),
      verifyLogGroup: log('VerifyFinishScan'),
      scrubLogGroup: log('ScrubFinish'),
      volumeIds,
      hasTagSelectors: tags.length > 0,
      rpoMinutes: rpoMinutesOf(config),
      alarmEmail: config.alarmEmail,
    });

    new CfnOutput(this, 'ChainTableName', { value: this.table.tableName, description: 'The chain table (the CLI reads restore points from it)' });
    for (const job of JOB_NAMES) {
      const machine = this.stateMachines.machines[job];
      // How the CLI finds the machines and the table without ARNs pasted in (see job-tags.ts).
      // Only on the machine itself: its role is no job.
      const onMachine = { includeResourceTypes: ['AWS::StepFunctions::StateMachine'] };
      Tags.of(machine).add(JOB_TAG_KEY, job, onMachine);
      Tags.of(machine).add(STACK_TAG_KEY, this.stackName, onMachine);
      Tags.of(machine).add(CHAIN_TABLE_TAG_KEY, this.table.tableName, onMachine);
      new CfnOutput(this, `${job}StateMachineArn`, {
        value: machine.stateMachineArn,
        description: job === 'Restore'
          ? 'Start a restore here: Step Functions console → this state machine → Start execution (or: ebs-cdp restore)'
          : `The ${job} job (ebs-cdp ${job.toLowerCase()} starts executions of it)`,
      });
    }
    new CfnOutput(this, 'AlertsTopicArn', { value: this.alarms.topic.topicArn, description: 'Alarms publish here: subscribe to be told when something is wrong' });
  }
}

/**
 * A primary-side key of another Region than the stack's can never encrypt a primary volume: the
 * grant would be dead weight and the volume still unreadable. Checked only when the stack has a
 * Region (an environment-agnostic synth knows none).
 */
function checkPrimaryKeyRegions(config: ProtectionConfig, primaryRegion: string): void {
  if (Token.isUnresolved(primaryRegion)) return;
  const elsewhere = (config.primaryKmsKeyArns ?? []).filter((keyArn) => keyArn.split(':')[3] !== primaryRegion);
  if (elsewhere.length > 0) {
    throw new ProtectionConfigFileError(`primaryKmsKeyArns: ${elsewhere.join(', ')} not in the stack's Region ${primaryRegion}, where the primary volumes are`);
  }
}

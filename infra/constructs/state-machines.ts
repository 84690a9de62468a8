/**
 * The job state machines (Sync, Verify, Restore, Prune, Scrub; definitions in
 * `infra/state-machines/`) as deployed: Standard type, execution logging of every state with
 * its data, X-Ray tracing. Their construct id stays `Jobs`, directly under the stack, because
 * the local runner finds each machine by its logical id (`JobsSync…`).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { TaskName } from '../../lambdas/task-names';
import { EngineStateMachines } from '../state-machines';
import { acknowledge, nagRendering } from './nag';

/** The construct id the local runner expects the machines under. */
export const JOBS_CONSTRUCT_ID = 'Jobs';

export interface JobStateMachinesProps {
  readonly functions: Readonly<Record<TaskName, IFunction>>;
  readonly pollSeconds?: number;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Builds the machines with logging and tracing. Level ALL with execution data: every payload is
 * ids and counts (never block data), and a person reading a failed restore needs the states'
 * inputs next to the error.
 */
export function jobStateMachines(scope: Construct, props: JobStateMachinesProps): { machines: EngineStateMachines; logGroup: logs.LogGroup } {
  const logGroup = new logs.LogGroup(scope, 'JobLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const machines = new EngineStateMachines(scope, JOBS_CONSTRUCT_ID, {
    functions: props.functions,
    pollSeconds: props.pollSeconds,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
  });
  acknowledgeStateMachineRole(machines, Object.values(props.functions));
  return { machines, logGroup };
}

/** The wildcards CDK puts into every state machine's role, with why they stay. */
export function acknowledgeStateMachineRole(scope: Construct, functions: readonly IFunction[]): void {
  acknowledge(scope, 'IAM5', 'Step Functions log delivery (logs:CreateLogDelivery, …) and X-Ray tracing support no resource-level permissions.', 'Resource::*');
  for (const fn of functions) {
    acknowledge(scope, 'IAM5', 'The task grant covers the function\'s versions (`<arn>:*`), which is how CDK lets a machine call a published version; it names this one function.',
      `Resource::${nagRendering(fn, `${fn.functionArn}:*`)}`);
  }
}

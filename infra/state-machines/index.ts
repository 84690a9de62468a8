/**
 * The five state machines of the engine (Sync, Verify, Restore, Prune, Scrub) over one set of task
 * functions. Each definition lives in its own construct scope: state names are construct ids,
 * and Sync and Verify's fix-up share theirs (`SyncBegin`, `CopySegment`, …).
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { TaskName } from '../../lambdas/task-names';
import { JOB_NAMES } from '../job-names';
import type { JobBuilderProps, JobName } from './job-builder';
import { pruneDefinition } from './prune-state-machine';
import { restoreDefinition } from './restore-state-machine';
import { scrubDefinition } from './scrub-state-machine';
import { syncDefinition } from './sync-state-machine';
import { verifyDefinition } from './verify-state-machine';

export { SEGMENT_MAX_CONCURRENCY, TRANSIENT_ERRORS, type JobName } from './job-builder';

/** Every job's machine, by name: the names the runner and the CLI use. */
export { JOB_NAMES };

/**
 * An execution runs at most a day: a verify of a large volume reads both sides of every
 * allocated block (hours at 1,000 blocks/s), and anything longer is stuck, not slow.
 */
const EXECUTION_TIMEOUT = Duration.hours(24);

export interface EngineStateMachinesProps {
  readonly functions: Readonly<Record<TaskName, IFunction>>;
  /** Seconds between snapshot polls. */
  readonly pollSeconds?: number;
  /** Polls before a snapshot wait gives up. */
  readonly maxPolls?: number;
  /** Execution logging (the deployable stack sets it; the local runner needs none). */
  readonly logs?: sfn.LogOptions;
  /** X-Ray tracing of executions. */
  readonly tracingEnabled?: boolean;
}

type Definition = (scope: Construct, props: Omit<JobBuilderProps, 'job'>) => sfn.IChainable;

const DEFINITIONS: Readonly<Record<JobName, Definition>> = {
  Sync: syncDefinition,
  Verify: verifyDefinition,
  Restore: restoreDefinition,
  Prune: pruneDefinition,
  Scrub: scrubDefinition,
};

/** The job state machines; `machines.Sync` etc. for wiring schedules, alarms and permissions. */
export class EngineStateMachines extends Construct {
  readonly machines: Readonly<Record<JobName, sfn.StateMachine>>;

  constructor(scope: Construct, id: string, props: EngineStateMachinesProps) {
    super(scope, id);
    const machines = {} as Record<JobName, sfn.StateMachine>;
    for (const name of JOB_NAMES) {
      const definitionScope = new Construct(this, `${name}Definition`);
      const definition = DEFINITIONS[name](definitionScope, {
        functions: props.functions,
        pollSeconds: props.pollSeconds,
        maxPolls: props.maxPolls,
      });
      machines[name] = new sfn.StateMachine(this, name, {
        definitionBody: sfn.DefinitionBody.fromChainable(definition),
        stateMachineType: sfn.StateMachineType.STANDARD,
        timeout: EXECUTION_TIMEOUT,
        comment: `ebs-cdp ${name} job`,
        logs: props.logs,
        tracingEnabled: props.tracingEnabled,
      });
    }
    this.machines = machines;
  }
}

/**
 * What makes protection run by itself: one EventBridge Scheduler schedule per protected volume
 * (or tag selector) and job, each targeting the Dispatch state machine with its own input.
 *
 * ```
 *  Schedule "Sync vol-1" ──► Dispatch { job: Sync, filters: [volume-id = vol-1] }
 *                              DescribeVolumes(filters) ─► Map, per volume:
 *                                 ProtectVolume (META: config, size if new) ─► StartExecution(Sync, { volumeId })
 * ```
 *
 * Per volume (or selector) there are five schedules: Sync, Verify, Prune, and two of the Scrub
 * (`Scrub-…`: the full scrub, `scope: all`; `ScrubReadBack-…`: the read-back of new points,
 * `scope: new`).
 *
 * Dispatch is what turns "names the volumes" into protected volumes: it writes each volume's
 * protection config into its chain META (creating META on first sight, so the first sync finds
 * the volume protected) and resolves tag selectors to the volumes carrying the tag at that
 * moment (volumes tagged later are picked up by the next run). It is pure Step Functions service
 * integrations: no Lambda, nothing to bundle.
 *
 * When the deployment allows in-place restores, Dispatch also tags the instances each protected
 * volume is attached to with `ebs-cdp:in-place-restore=allowed` (IN_PLACE_RESTORE_TAG): the swap
 * role may stop, start and swap volumes only on instances carrying it. Tagging is best effort
 * (an instance terminated since DescribeVolumes must not stop the volume's sync).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CHAIN_TABLE_KEY, META_SORT_KEY, VOLUME_PARTITION_PREFIX } from '../../shared/core/table-keys';
import { IN_PLACE_RESTORE_TAG } from '../../shared/core/tags';
import type { JobName } from '../state-machines';
import { acknowledge, nagRendering } from './nag';
import { acknowledgeStateMachineRole } from './state-machines';
import type { ScrubScope } from '../../shared/engine/scrub';
import { engineVolumeConfig, ratePeriodMinutes, splitSelectors, type ProtectionConfig, type TagSelector } from '../config';

/** The jobs a schedule starts (Restore is started by a person). */
export type ScheduledJob = Exclude<JobName, 'Restore'>;
export const SCHEDULED_JOBS: readonly ScheduledJob[] = ['Sync', 'Verify', 'Prune', 'Scrub'];

/**
 * Volumes dispatched at once. StartExecution is cheap, but every started sync lists changed
 * blocks at once, and List* calls share 50/s per account: ten keeps a tag selecting hundreds of
 * volumes from bursting them all in the same second.
 */
const DISPATCH_MAX_CONCURRENCY = 10;

/** A dispatch describes volumes and starts executions: minutes at most; longer is stuck. */
const DISPATCH_TIMEOUT = Duration.minutes(15);

/**
 * Flexible window of a sync: up to a third of the interval, capped at five minutes. It spreads
 * many volumes' syncs (and their List* calls) over a few minutes, and stays far enough under the
 * interval that the RPO still holds.
 */
const SYNC_WINDOW_MAX = Duration.minutes(5);
const SYNC_WINDOW_FRACTION = 3;

/** Verify and prune run rarely and long: an hour of flex spreads the account's weekly scans. */
const LONG_JOB_WINDOW = Duration.hours(1);

/**
 * The read-back runs often and reads little: a window of a quarter of its period, at most 15
 * minutes, spreads the volumes' read-backs without letting one slip past the next.
 */
const READ_BACK_WINDOW_MAX = Duration.minutes(15);
/** A window of a quarter of the period (the read-back's, and a full scrub scheduled unusually often). */
const WINDOW_FRACTION_OF_PERIOD = 4;

/** A read-back trigger is superseded by the next one (which reads everything new since): an hour of retries is plenty. */
const READ_BACK_MAX_EVENT_AGE = Duration.hours(1);

/** A sync trigger that could not be delivered is superseded by the next one: retry twice, then drop it. */
const SYNC_RETRY_ATTEMPTS = 2;
/** Verify and prune triggers come once a day or a week: retry them for six hours before giving up. */
const LONG_JOB_RETRY_ATTEMPTS = 5;
const LONG_JOB_MAX_EVENT_AGE = Duration.hours(6);

/** The Dispatch state machine's input, as each schedule sends it. */
export interface DispatchInput {
  readonly job: ScheduledJob;
  /** DescribeVolumes filters: `volume-id` for a volume named by id, `tag:<key>` for a selector. */
  readonly filters: ReadonlyArray<{ Name: string; Values: string[] }>;
  /** Verify only: compare only the dirty regions. */
  readonly quick: boolean;
  /** Scrub only: `all` reads every retained stored version, `new` those committed since the last scrub. */
  readonly scope: ScrubScope;
}

/** One schedule of a volume (or selector): which job it starts, how, and when. */
export interface ScheduledRun {
  /** The schedule's construct id stem (`Sync`, …, `Scrub`, `ScrubReadBack`): `<id>-<volume or tagN>`. */
  readonly id: string;
  readonly job: ScheduledJob;
  readonly scope: ScrubScope;
  readonly expression: string;
  readonly window: Duration;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

/**
 * The schedules each protected volume (or tag selector) gets, from the config. The first three
 * keep the construct ids they have always had, so a deploy of this version replaces none of them.
 */
export function scheduledRuns(config: ProtectionConfig): ScheduledRun[] {
  const long = { retryAttempts: LONG_JOB_RETRY_ATTEMPTS, maxEventAge: LONG_JOB_MAX_EVENT_AGE, scope: 'all' as const };
  const readBackPeriod = ratePeriodMinutes(config.scrub.readBack);
  return [
    {
      id: 'Sync', job: 'Sync', scope: 'all', expression: `rate(${config.syncEveryMinutes} minutes)`, window: syncWindow(config.syncEveryMinutes),
      retryAttempts: SYNC_RETRY_ATTEMPTS, maxEventAge: Duration.minutes(config.syncEveryMinutes),
    },
    { id: 'Verify', job: 'Verify', expression: config.verifySchedule, window: LONG_JOB_WINDOW, ...long },
    { id: 'Prune', job: 'Prune', expression: config.pruneSchedule, window: LONG_JOB_WINDOW, ...long },
    { id: 'Scrub', job: 'Scrub', expression: config.scrub.full, window: windowWithin(config.scrub.full, LONG_JOB_WINDOW), ...long },
    {
      id: 'ScrubReadBack', job: 'Scrub', scope: 'new', expression: config.scrub.readBack, window: windowWithin(config.scrub.readBack, READ_BACK_WINDOW_MAX),
      retryAttempts: SYNC_RETRY_ATTEMPTS,
      maxEventAge: readBackPeriod === undefined ? READ_BACK_MAX_EVENT_AGE : Duration.minutes(Math.min(readBackPeriod, READ_BACK_MAX_EVENT_AGE.toMinutes())),
    },
  ];
}

/** A sync's flexible window: a third of the interval, from one to five minutes. */
function syncWindow(syncEveryMinutes: number): Duration {
  const fraction = Math.floor(syncEveryMinutes / SYNC_WINDOW_FRACTION);
  return Duration.minutes(Math.max(1, Math.min(fraction, SYNC_WINDOW_MAX.toMinutes())));
}

/** `max`, or a quarter of a `rate(…)`'s period when that is shorter (at least a minute); `max` for a `cron(…)`. */
function windowWithin(expression: string, max: Duration): Duration {
  const period = ratePeriodMinutes(expression);
  if (period === undefined) return max;
  return Duration.minutes(Math.max(1, Math.min(Math.floor(period / WINDOW_FRACTION_OF_PERIOD), max.toMinutes())));
}

export interface SchedulesProps {
  readonly config: ProtectionConfig;
  readonly table: dynamodb.ITable;
  readonly machines: Readonly<Record<JobName, sfn.IStateMachine>>;
  readonly logGroup: logs.ILogGroup;
}

/** The DescribeVolumes filters of a volume id or a tag selector. */
export function volumeFilters(selector: { volumeId: string } | { tag: TagSelector }): DispatchInput['filters'] {
  return 'volumeId' in selector
    ? [{ Name: 'volume-id', Values: [selector.volumeId] }]
    : [{ Name: `tag:${selector.tag.key}`, Values: [selector.tag.value] }];
}

/** A JSON value as a DynamoDB attribute (what the DocumentClient would marshal it to). */
function attributeOf(value: unknown): tasks.DynamoAttributeValue {
  if (typeof value === 'string') return tasks.DynamoAttributeValue.fromString(value);
  if (typeof value === 'number') return tasks.DynamoAttributeValue.fromNumber(value);
  if (typeof value === 'boolean') return tasks.DynamoAttributeValue.fromBoolean(value);
  if (Array.isArray(value)) return tasks.DynamoAttributeValue.fromList(value.map(attributeOf));
  if (value !== null && typeof value === 'object') {
    return tasks.DynamoAttributeValue.fromMap(Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, attributeOf(inner)])));
  }
  return tasks.DynamoAttributeValue.fromNull(true);
}

/** The input Dispatch starts `job` with: the volume, and what only Verify (`quick`) or Scrub (`scope`) reads. */
function jobInput(job: ScheduledJob): Record<string, unknown> {
  const volumeId = sfn.JsonPath.stringAt('$.volumeId');
  switch (job) {
    case 'Verify': return { volumeId, quick: sfn.JsonPath.objectAt('$.quick') };
    case 'Scrub': return { volumeId, scope: sfn.JsonPath.stringAt('$.scope') };
    case 'Sync':
    case 'Prune': return { volumeId };
  }
}

/** The Dispatch state machine and the schedules that start it. */
export class Schedules extends Construct {
  readonly dispatch: sfn.StateMachine;
  readonly schedules: scheduler.Schedule[] = [];

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    this.dispatch = this.dispatchMachine(props);
    const { config } = props;
    const { volumeIds, tags } = splitSelectors(config);
    const selectors: Array<{ name: string; selector: { volumeId: string } | { tag: TagSelector } }> = [
      ...volumeIds.map((volumeId) => ({ name: volumeId, selector: { volumeId } })),
      ...tags.map((tag, index) => ({ name: `tag${index}`, selector: { tag } })),
    ];
    const runs = scheduledRuns(config);
    for (const { name, selector } of selectors) {
      for (const run of runs) {
        const input: DispatchInput = { job: run.job, filters: volumeFilters(selector), quick: run.job === 'Verify' && config.quickVerify, scope: run.scope };
        const what = run.id === 'ScrubReadBack' ? 'Scrub read-back' : run.job;
        this.schedules.push(new scheduler.Schedule(this, `${run.id}-${name}`, {
          description: `ebs-cdp ${what} of ${'volumeId' in selector ? selector.volumeId : `volumes tagged ${selector.tag.key}=${selector.tag.value}`}`,
          schedule: run.job === 'Sync'
            ? scheduler.ScheduleExpression.rate(Duration.minutes(config.syncEveryMinutes))
            : scheduler.ScheduleExpression.expression(run.expression),
          timeWindow: scheduler.TimeWindow.flexible(run.window),
          target: new targets.StepFunctionsStartExecution(this.dispatch, {
            input: scheduler.ScheduleTargetInput.fromObject(input),
            retryAttempts: run.retryAttempts,
            maxEventAge: run.maxEventAge,
          }),
        }));
      }
    }
  }

  private dispatchMachine(props: SchedulesProps): sfn.StateMachine {
    const describe = new tasks.CallAwsService(this, 'DescribeVolumes', {
      service: 'ec2',
      action: 'describeVolumes',
      parameters: { 'Filters.$': '$.filters' },
      // DescribeVolumes takes no resource: `*` is the only scope AWS allows.
      iamResources: ['*'],
      resultSelector: { 'volumes.$': '$.Volumes' },
      resultPath: '$.described',
    });

    const protect = new tasks.DynamoUpdateItem(this, 'ProtectVolume', {
      table: props.table,
      key: {
        [CHAIN_TABLE_KEY.partitionKey]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format(`${VOLUME_PARTITION_PREFIX}{}`, sfn.JsonPath.stringAt('$.volumeId'))),
        [CHAIN_TABLE_KEY.sortKey]: tasks.DynamoAttributeValue.fromString(META_SORT_KEY),
      },
      // Config is the deployment's to set; size, counters and version are created once and then
      // belong to the engine. The version is bumped so an engine read-modify-write of META that
      // raced this one retries instead of putting the old config back.
      updateExpression: 'SET #config = :config, #volumeId = if_not_exists(#volumeId, :volumeId), '
        + '#volumeSize = if_not_exists(#volumeSize, :volumeSize), #fencingCounter = if_not_exists(#fencingCounter, :zero), '
        + '#version = if_not_exists(#version, :zero) + :one',
      expressionAttributeNames: {
        '#config': 'config', '#volumeId': 'volumeId', '#volumeSize': 'volumeSize', '#fencingCounter': 'fencingCounter', '#version': 'version',
      },
      expressionAttributeValues: {
        ':config': attributeOf(engineVolumeConfig(props.config)),
        ':volumeId': tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.volumeId')),
        ':volumeSize': tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.stringAt('$.volumeSize')),
        ':zero': tasks.DynamoAttributeValue.fromNumber(0),
        ':one': tasks.DynamoAttributeValue.fromNumber(1),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });

    const start = (job: ScheduledJob): tasks.StepFunctionsStartExecution => new tasks.StepFunctionsStartExecution(this, `Start${job}`, {
      stateMachine: props.machines[job],
      input: sfn.TaskInput.fromObject(jobInput(job)),
      // Fire and forget: each job's own alarms watch its executions.
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      resultSelector: { 'executionArn.$': '$.ExecutionArn' },
    });
    const whichJob = new sfn.Choice(this, 'WhichJob');
    for (const job of SCHEDULED_JOBS) whichJob.when(sfn.Condition.stringEquals('$.job', job), start(job));
    whichJob.otherwise(new sfn.Fail(this, 'UnknownJob', { error: 'UnknownJob', cause: `job must be one of ${SCHEDULED_JOBS.join(', ')}` }));

    const perVolume = new sfn.Map(this, 'EachVolume', {
      itemsPath: '$.described.volumes',
      maxConcurrency: DISPATCH_MAX_CONCURRENCY,
      itemSelector: {
        job: sfn.JsonPath.stringAt('$.job'),
        quick: sfn.JsonPath.objectAt('$.quick'),
        scope: sfn.JsonPath.stringAt('$.scope'),
        volumeId: sfn.JsonPath.stringAt('$$.Map.Item.Value.VolumeId'),
        volumeSize: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$$.Map.Item.Value.Size')),
        ...(props.config.allowInPlaceRestore ? { attachments: sfn.JsonPath.objectAt('$$.Map.Item.Value.Attachments') } : {}),
      },
      resultPath: '$.started',
    });
    const markInstances = props.config.allowInPlaceRestore ? this.markInstances(whichJob) : undefined;
    perVolume.itemProcessor(protect.next(markInstances ?? whichJob));

    acknowledgeStateMachineRole(this, []);
    acknowledge(this, 'IAM5', 'ec2:DescribeVolumes supports no resource-level permissions.', 'Resource::*');
    const machine = new sfn.StateMachine(this, 'Dispatch', {
      definitionBody: sfn.DefinitionBody.fromChainable(describe.next(perVolume)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: DISPATCH_TIMEOUT,
      comment: 'ebs-cdp: protect the scheduled volumes and start their job',
      logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    if (markInstances !== undefined) this.grantTagInstances(machine);
    return machine;
  }

  /**
   * `HasInstance?` ─ yes ─► TagInstances (CreateTags on the volume's instances) ─┬─► next
   *                 └ no (the volume is detached) ────────────────────────────────┘
   */
  private markInstances(next: sfn.IChainable): sfn.Choice {
    const tagInstances = new sfn.CustomState(this, 'TagInstances', {
      // A CustomState, not CallAwsService: its generated grant could not carry the tag conditions.
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Stack.of(this).partition}:states:::aws-sdk:ec2:createTags`,
        Parameters: {
          'Resources.$': '$.attachments[*].InstanceId',
          Tags: [{ Key: IN_PLACE_RESTORE_TAG.key, Value: IN_PLACE_RESTORE_TAG.value }],
        },
        ResultPath: null,
      },
    });
    // Best effort: without the tag only an in-place restore is refused (by IAM), never the job.
    tagInstances.addCatch(next, { errors: ['States.ALL'], resultPath: '$.tagInstancesError' });
    return new sfn.Choice(this, 'HasInstance')
      .when(sfn.Condition.isPresent('$.attachments[0].InstanceId'), tagInstances.next(next))
      .otherwise(next);
  }

  /** ec2:CreateTags on instances, and only to put the in-place-restore tag (no other key, no other value). */
  private grantTagInstances(machine: sfn.StateMachine): void {
    const stack = Stack.of(this);
    const instances = `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:instance/*`;
    machine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ec2:CreateTags'],
      resources: [instances],
      conditions: {
        StringEquals: { [`aws:RequestTag/${IN_PLACE_RESTORE_TAG.key}`]: IN_PLACE_RESTORE_TAG.value },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [IN_PLACE_RESTORE_TAG.key] },
      },
    }));
    acknowledge(machine, 'IAM5', 'Which instance a protected volume is attached to is known only at run time; the statement may only put '
      + `the ${IN_PLACE_RESTORE_TAG.key}=${IN_PLACE_RESTORE_TAG.value} tag (aws:RequestTag, aws:TagKeys) and change nothing else.`,
    `Resource::${nagRendering(machine, instances)}`);
  }
}

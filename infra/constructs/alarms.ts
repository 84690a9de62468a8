/**
 * Telling the platform engineer when something is wrong: an SNS topic, the alarms that publish
 * to it, and a dashboard. Step Functions' own metrics give failed executions; the rest comes
 * from metric filters over the task functions' Powertools log lines, so the handlers need no
 * metrics code:
 *
 * | metric                   | from the log line (shared/engine)                 | dimension  |
 * |--------------------------|---------------------------------------------------|------------|
 * | RestorePointsCommitted   | `restore point committed` (SyncCommit)            | volumeId   |
 * | BlocksSynced             | its `blocks`                                      | volumeId   |
 * | VerifyClean              | `verify scan finished` with `mismatches = 0`      | volumeId   |
 * | VerifyFoundDamage        | `verify scan finished` with `mismatches > 0`      | volumeId   |
 * | ScrubClean               | `scrub finished` with `badVersions = 0`           | volumeId   |
 * | ScrubFoundDamage         | `scrub finished` with `badVersions > 0`           | volumeId   |
 *
 * Each is also published without a dimension, for the alarms over volumes selected by tag
 * (whose ids are not known at synth time).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './task-functions';

/** The metrics the filters publish. */
export const METRICS = {
  restorePointsCommitted: 'RestorePointsCommitted',
  blocksSynced: 'BlocksSynced',
  verifyClean: 'VerifyClean',
  verifyFoundDamage: 'VerifyFoundDamage',
  scrubClean: 'ScrubClean',
  scrubFoundDamage: 'ScrubFoundDamage',
} as const;

/** The log lines the filters match (the engine's messages: keep them in step with shared/engine). */
const COMMIT_PATTERN = '{ $.message = "restore point committed" }';
const VERIFY_CLEAN_PATTERN = '{ $.message = "verify scan finished" && $.mismatches = 0 }';
const VERIFY_DAMAGE_PATTERN = '{ $.message = "verify scan finished" && $.mismatches > 0 }';
const SCRUB_CLEAN_PATTERN = '{ $.message = "scrub finished" && $.badVersions = 0 }';
const SCRUB_DAMAGE_PATTERN = '{ $.message = "scrub finished" && $.badVersions > 0 }';

/** CloudWatch evaluates an alarm over at most one day of periods. */
const MAX_ALARM_WINDOW = Duration.days(1);

/** Failed executions are counted per five minutes: one failure is worth an alert. */
const FAILURE_PERIOD = Duration.minutes(5);

/** CloudWatch dashboards are 24 columns wide: two widgets a row, or one full-width graph. */
const DASHBOARD_WIDTH = 24;
const WIDGET_WIDTH = 12;
const WIDGET_HEIGHT = 6;

export interface AlarmsProps {
  /** The machines whose failed, timed-out or aborted executions alert (the jobs and Dispatch). */
  readonly machines: Readonly<Record<string, sfn.IStateMachine>>;
  /** SyncCommit's log group (restore points committed). */
  readonly commitLogGroup: logs.ILogGroup;
  /** VerifyFinishScan's log group (verify outcome). */
  readonly verifyLogGroup: logs.ILogGroup;
  /** ScrubFinish's log group (scrub outcome). */
  readonly scrubLogGroup: logs.ILogGroup;
  /** Volumes named by id: one sync-lag and one damage alarm each. */
  readonly volumeIds: readonly string[];
  /** Whether tag selectors exist: then the aggregate sync-lag alarm is added. */
  readonly hasTagSelectors: boolean;
  readonly rpoMinutes: number;
  readonly alarmEmail?: string;
}

/** The alerts topic, the alarms and the dashboard. */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  /** The topic's key: customer managed, because CloudWatch alarms cannot publish to a topic under `alias/aws/sns`. */
  readonly topicKey: kms.Key;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topicKey = this.alertsKey();
    this.topic = new sns.Topic(this, 'Alerts', {
      displayName: 'ebs-cdp alerts',
      enforceSSL: true,
      masterKey: this.topicKey,
    });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new actions.SnsAction(this.topic);

    this.metricFilters(props);

    // ── failed executions, per machine ──
    for (const [name, machine] of Object.entries(props.machines)) {
      const failed = new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: {
          failed: machine.metricFailed({ period: FAILURE_PERIOD, statistic: 'Sum' }),
          timedOut: machine.metricTimedOut({ period: FAILURE_PERIOD, statistic: 'Sum' }),
          aborted: machine.metricAborted({ period: FAILURE_PERIOD, statistic: 'Sum' }),
        },
        label: `${name} executions failed`,
        period: FAILURE_PERIOD,
      });
      this.add(action, failed.createAlarm(this, `${name}Failed`, {
        alarmDescription: `An ebs-cdp ${name} execution failed, timed out or was aborted: open it in the Step Functions console for the error.`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }));
    }

    // ── sync lag beyond the RPO: no restore point committed within it ──
    const rpo = Duration.minutes(Math.min(props.rpoMinutes, MAX_ALARM_WINDOW.toMinutes()));
    const lagTargets: Array<{ id: string; volumeId?: string }> = props.volumeIds.map((volumeId) => ({ id: volumeId, volumeId }));
    if (props.hasTagSelectors) lagTargets.push({ id: 'AnyVolume' });
    for (const target of lagTargets) {
      this.add(action, this.metric(METRICS.restorePointsCommitted, target.volumeId, rpo).createAlarm(this, `SyncLag-${target.id}`, {
        alarmDescription: `No restore point of ${target.volumeId ?? 'any tag-selected volume'} was committed in the last ${rpo.toMinutes()} minutes (the RPO).`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No commit at all is exactly the lag this alarm is for.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }));
    }

    // ── a verify found damage (the fix-up repaired the secondary; older restore points are suspect) ──
    this.add(action, this.metric(METRICS.verifyFoundDamage, undefined, Duration.hours(1)).createAlarm(this, 'VerifyFoundDamage', {
      alarmDescription: 'A verify found secondary blocks that differ from the primary: the fix-up repaired the head, and older restore points holding those blocks are marked suspect.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));

    // ── a scrub found bad stored versions (the points holding them are suspect; the next sync repairs the head's) ──
    this.add(action, this.metric(METRICS.scrubFoundDamage, undefined, Duration.hours(1)).createAlarm(this, 'ScrubFoundDamage', {
      alarmDescription: 'A scrub read back stored block versions that differ from their digests: the restore points holding them are suspect, and the next sync rewrites those the head holds.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));

    this.dashboard = this.buildDashboard(props);
  }

  /**
   * The alerts topic's key. The AWS managed SNS key's policy cannot be changed and does not admit
   * CloudWatch, so alarms could not publish to a topic under it; this key's policy lets
   * `cloudwatch.amazonaws.com` encrypt messages, and only for this account's alarms in this
   * Region (`aws:SourceAccount`, `aws:SourceArn`: no other account's alarm can use it as a
   * confused deputy). The account keeps administering it through IAM (CDK's default statement).
   * Destroyed with the stack (after KMS's 30-day pending window): it protects alert messages in
   * transit through the topic only, and nothing encrypted under it outlives the topic.
   */
  private alertsKey(): kms.Key {
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'AlertsKey', {
      description: 'ebs-cdp: encrypts the alerts topic; CloudWatch alarms of this account may use it',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'], // in a key policy, `*` is this key
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
      },
    }));
    return key;
  }

  private add(action: actions.SnsAction, alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(action);
    this.alarms.push(alarm);
  }

  private metric(metricName: string, volumeId: string | undefined, period: Duration, statistic = 'Sum'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: volumeId === undefined ? undefined : { volumeId },
      period,
      statistic,
    });
  }

  /** Two filters per metric: one by volume, one across volumes. */
  private metricFilters(props: AlarmsProps): void {
    const filters: Array<{ id: string; logGroup: logs.ILogGroup; pattern: string; metricName: string; metricValue: string }> = [
      { id: 'Commits', logGroup: props.commitLogGroup, pattern: COMMIT_PATTERN, metricName: METRICS.restorePointsCommitted, metricValue: '1' },
      { id: 'Blocks', logGroup: props.commitLogGroup, pattern: COMMIT_PATTERN, metricName: METRICS.blocksSynced, metricValue: '$.blocks' },
      { id: 'VerifyClean', logGroup: props.verifyLogGroup, pattern: VERIFY_CLEAN_PATTERN, metricName: METRICS.verifyClean, metricValue: '1' },
      { id: 'VerifyDamage', logGroup: props.verifyLogGroup, pattern: VERIFY_DAMAGE_PATTERN, metricName: METRICS.verifyFoundDamage, metricValue: '1' },
      { id: 'ScrubClean', logGroup: props.scrubLogGroup, pattern: SCRUB_CLEAN_PATTERN, metricName: METRICS.scrubClean, metricValue: '1' },
      { id: 'ScrubDamage', logGroup: props.scrubLogGroup, pattern: SCRUB_DAMAGE_PATTERN, metricName: METRICS.scrubFoundDamage, metricValue: '1' },
    ];
    for (const filter of filters) {
      for (const byVolume of [true, false]) {
        new logs.MetricFilter(this, `${filter.id}${byVolume ? 'ByVolume' : ''}`, {
          logGroup: filter.logGroup,
          filterPattern: logs.FilterPattern.literal(filter.pattern),
          metricNamespace: METRICS_NAMESPACE,
          metricName: filter.metricName,
          metricValue: filter.metricValue,
          dimensions: byVolume ? { volumeId: '$.volumeId' } : undefined,
          unit: filter.metricName === METRICS.blocksSynced ? cloudwatch.Unit.COUNT : undefined,
        });
      }
    }
  }

  private buildDashboard(props: AlarmsProps): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `ebs-cdp-${Stack.of(this).stackName}` });
    const hour = Duration.hours(1);
    dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Restore-point age: newest restore point per volume',
        logGroupNames: [props.commitLogGroup.logGroupName],
        queryLines: [
          'filter message = "restore point committed"',
          'stats max(@timestamp) as newestRestorePoint, latest(seq) as headSeq by volumeId',
          'sort newestRestorePoint asc',
        ],
        width: WIDGET_WIDTH,
        height: WIDGET_HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: 'Blocks synced (all volumes, per hour)',
        left: [this.metric(METRICS.blocksSynced, undefined, hour)],
        width: WIDGET_WIDTH,
        height: WIDGET_HEIGHT,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Verify and scrub outcome (all volumes)',
        left: [
          this.metric(METRICS.verifyClean, undefined, hour), this.metric(METRICS.verifyFoundDamage, undefined, hour),
          this.metric(METRICS.scrubClean, undefined, hour), this.metric(METRICS.scrubFoundDamage, undefined, hour),
        ],
        width: WIDGET_WIDTH,
        height: WIDGET_HEIGHT,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'ebs-cdp alarms', alarms: this.alarms, width: WIDGET_WIDTH, height: WIDGET_HEIGHT }),
    );
    dashboard.addWidgets(new cloudwatch.GraphWidget({
      title: 'Restore points committed per volume',
      left: [
        this.metric(METRICS.restorePointsCommitted, undefined, hour).with({ label: 'all volumes' }),
        ...props.volumeIds.map((volumeId) => this.metric(METRICS.restorePointsCommitted, volumeId, hour).with({ label: volumeId })),
      ],
      width: DASHBOARD_WIDTH,
      height: WIDGET_HEIGHT,
    }));
    return dashboard;
  }
}

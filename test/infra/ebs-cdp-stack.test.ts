import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseProtectionConfig, type ProtectionConfig } from '../../infra/config';
import { EBS_READ_ACTIONS, KMS_ACTIONS, KMS_READ_ACTIONS } from '../../infra/constructs/permissions';
import { JOB_NAMES } from '../../infra/job-names';
import { EbsCdpStack } from '../../infra/ebs-cdp-stack';
import { TASK_NAMES } from '../../lambdas/task-names';
import { actionsOf, allStatements, resolvePart, statementsOfTask, synth } from './template-helpers';

// asl-validator ships no types: its CommonJS export is one function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

const VOLUME_ID = 'vol-0123456789abcdef0';
const KMS_KEY_ARN = 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The example deployment: one volume by id, one tag selector, a secondary Region and key. */
const CONFIG: ProtectionConfig = parseProtectionConfig({
  volumes: [{ volumeId: VOLUME_ID }, { tag: { key: 'ebs-cdp', value: 'protect' } }],
  secondaryRegion: 'us-west-2',
  kmsKeyArn: KMS_KEY_ARN,
  alarmEmail: 'oncall@example.com',
}, 'test');

describe('EbsCdpStack', () => {
  let template: Template;

  beforeAll(() => {
    template = synth(CONFIG);
  });

  describe('chain table', () => {
    it('is on-demand, with point-in-time recovery, encryption and deletion protection, and retained', () => {
      // Assess
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      });
    });

    it('drops deletion protection when the config says so', () => {
      // Act
      const throwaway = synth(parseProtectionConfig({ tableDeletionProtection: false }, 'test'));

      // Assess
      throwaway.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    });
  });

  describe('task functions', () => {
    it('run Node 22 on arm64 with active tracing, their own log group and the engine environment', () => {
      // Assess
      template.resourceCountIs('AWS::Lambda::Function', TASK_NAMES.length);
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));
      for (const fn of functions) {
        expect(fn.Properties).toEqual(expect.objectContaining({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: { LogGroup: expect.objectContaining({ Ref: expect.any(String) }) },
        }));
        expect(fn.Properties.Environment.Variables).toEqual({
          CHAIN_TABLE: { Ref: expect.stringMatching(/^ChainTable/) },
          PRIMARY_REGION: { Ref: 'AWS::Region' },
          SECONDARY_REGION: 'us-west-2',
          SECONDARY_KMS_KEY_ID: KMS_KEY_ARN,
          POWERTOOLS_SERVICE_NAME: 'ebs-cdp',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          POWERTOOLS_METRICS_NAMESPACE: 'EbsCdp',
        });
      }
      template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, TASK_NAMES.length + 1);
    });

    it('use their own roles, with no AWS managed policy', () => {
      // Assess
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('permissions', () => {
    it('scope the EBS direct APIs to snapshots carrying the ownership tag', () => {
      // Prepare
      const ebs = allStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('ebs:')));

      // Assess
      expect(ebs.length).toBeGreaterThan(0);
      for (const statement of ebs) {
        expect(JSON.stringify(statement.Resource)).toContain('snapshot/*');
        expect(statement.Condition).toEqual({ StringEquals: { [actionsOf(statement).includes('ebs:StartSnapshot') ? 'aws:RequestTag/ebs-cdp:managed' : 'aws:ResourceTag/ebs-cdp:managed']: 'true' } });
      }
    });

    it('scope ec2:CreateSnapshot to the protected volume by id and to volumes carrying the protection tag', () => {
      // Prepare
      const createSnapshot = statementsOfTask(template, 'SyncBegin').filter((s) => actionsOf(s).includes('ec2:CreateSnapshot'));

      // Assess
      const rendered = createSnapshot.map((s) => JSON.stringify(s));
      expect(rendered.some((s) => s.includes(`volume/${VOLUME_ID}`) && !s.includes('Condition'))).toBe(true);
      expect(createSnapshot.some((s) => s.Condition !== undefined && JSON.stringify(s.Condition).includes('aws:ResourceTag/ebs-cdp'))).toBe(true);
      expect(createSnapshot.every((s) => s.Resource !== '*')).toBe(true);
    });

    it('give each task only its capabilities: the block copier takes and deletes nothing', () => {
      // Prepare
      const copier = statementsOfTask(template, 'CopySegment').flatMap(actionsOf);
      const status = statementsOfTask(template, 'SnapshotStatus').flatMap(actionsOf);

      // Assess
      expect(copier).toEqual(expect.arrayContaining(['ebs:GetSnapshotBlock', 'ebs:PutSnapshotBlock']));
      expect(copier).not.toContain('ec2:CreateSnapshot');
      expect(copier).not.toContain('ec2:DeleteSnapshot');
      expect(status.filter((a) => a.startsWith('ebs:') || a.startsWith('kms:'))).toEqual([]);
    });

    it('let the scrub read only the secondary’s tagged snapshots and decrypt only through the secondary’s EBS, and write nothing', () => {
      // Prepare
      const segment = statementsOfTask(template, 'ScrubSegment');
      const ebs = segment.filter((s) => actionsOf(s).some((a) => a.startsWith('ebs:')));
      const kms = segment.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      const ec2 = segment.flatMap(actionsOf).filter((a) => a.startsWith('ec2:'));
      const bookkeeping = ['ScrubBegin', 'ScrubFinish'].flatMap((task) => statementsOfTask(template, task).flatMap(actionsOf)).filter((a) => /^(ebs|ec2|kms):/.test(a));

      // Assess
      expect(ebs).toEqual([{
        Effect: 'Allow',
        Action: [...EBS_READ_ACTIONS],
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:us-west-2::snapshot/*']] },
        Condition: { StringEquals: { 'aws:ResourceTag/ebs-cdp:managed': 'true' } },
      }]);
      expect(kms).toEqual([{
        Effect: 'Allow',
        Action: [...KMS_READ_ACTIONS],
        Resource: KMS_KEY_ARN,
        Condition: { StringLike: { 'kms:ViaService': ['ec2.us-west-2.amazonaws.com', 'ebs.us-west-2.amazonaws.com'] } },
      }]);
      expect(ec2).toEqual([]);
      expect(bookkeeping).toEqual([]);
    });

    it('give ScrubBegin the chain table to read only, and the other scrub tasks read and write', () => {
      // Prepare
      const dynamoActions = (task: string): string[] => statementsOfTask(template, task).flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));

      // Assess
      expect(dynamoActions('ScrubBegin')).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem']));
      expect(dynamoActions('ScrubBegin').filter((a) => /Put|Update|Delete|Write/.test(a))).toEqual([]);
      expect(dynamoActions('ScrubSegment')).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:BatchWriteItem']));
      expect(dynamoActions('ScrubFinish')).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem']));
    });

    it('grant KMS only on the named key, only through EC2 and EBS', () => {
      // Prepare
      const kms = allStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));

      // Assess
      expect(kms.length).toBeGreaterThan(0);
      for (const statement of kms) {
        expect(statement.Resource).toBe(KMS_KEY_ARN);
        expect(JSON.stringify(statement.Condition)).toContain('kms:ViaService');
      }
      // kms:CreateGrant has a statement of its own (conditioned on kms:GrantIsForAWSResource).
      expect([...new Set(kms.flatMap(actionsOf))].sort()).toEqual([...KMS_ACTIONS].sort());
    });

    it('use `*` only for actions that take no resource (Describe*, X-Ray, log delivery)', () => {
      // Prepare
      const allowedUnscoped = /^(ec2:Describe|xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))/i; // the SDK integrations spell actions in camelCase

      // Act
      const unscoped = allStatements(template).filter((s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')));

      // Assess
      expect(unscoped.length).toBeGreaterThan(0);
      for (const statement of unscoped) {
        expect({ actions: actionsOf(statement).filter((a) => !allowedUnscoped.test(a)) }).toEqual({ actions: [] });
      }
    });

    it('grant the in-place swap only when the config allows it', () => {
      // Prepare
      // One statement per resource type (instance, volumes): DetachVolume is in several.
      const swapActions = (t: Template): string[] => [...new Set(statementsOfTask(t, 'RestoreSwap').flatMap(actionsOf).filter((a) => a === 'ec2:DetachVolume'))];

      // Act
      const allowed = synth(parseProtectionConfig({ volumes: [{ volumeId: VOLUME_ID }], allowInPlaceRestore: true }, 'test'));

      // Assess
      expect(swapActions(template)).toEqual([]);
      expect(swapActions(allowed)).toEqual(['ec2:DetachVolume']);
    });

    it('expose no public endpoint', () => {
      // Assess
      for (const type of ['AWS::Lambda::Url', 'AWS::ApiGateway::RestApi', 'AWS::ApiGatewayV2::Api', 'AWS::ElasticLoadBalancingV2::LoadBalancer']) {
        template.resourceCountIs(type, 0);
      }
      template.resourceCountIs('AWS::Lambda::Permission', 0);
    });
  });

  describe('state machines', () => {
    it('are Standard, with execution logging and tracing on', () => {
      // Assess
      template.resourceCountIs('AWS::StepFunctions::StateMachine', JOB_NAMES.length + 1); // the jobs and Dispatch
      for (const machine of Object.values(template.findResources('AWS::StepFunctions::StateMachine'))) {
        expect(machine.Properties).toEqual(expect.objectContaining({
          StateMachineType: 'STANDARD',
          TracingConfiguration: { Enabled: true },
          LoggingConfiguration: expect.objectContaining({ Level: 'ALL', IncludeExecutionData: true }),
        }));
      }
    });

    it('Dispatch is valid ASL that protects each volume before starting its job', () => {
      // Prepare
      const [dispatch] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) => id.startsWith('SchedulesDispatch'));
      const body = dispatch?.[1].Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
      const definition = JSON.parse(body['Fn::Join'][1].map(resolvePart).join(''));

      // Act
      const result = validateAsl(structuredClone(definition));

      // Assess
      expect(result.isValid ? '' : result.errorsText('\n')).toBe('');
      const perVolume = definition.States.EachVolume.ItemProcessor;
      expect(perVolume.StartAt).toBe('ProtectVolume');
      expect(perVolume.States.ProtectVolume.Parameters.UpdateExpression).toContain('if_not_exists(#volumeSize, :volumeSize)');
      expect(perVolume.States.ProtectVolume.Parameters.ExpressionAttributeValues[':config']).toEqual({ M: { retention: { M: { keepLast: { N: '672' } } }, secondaryKmsKeyId: { S: KMS_KEY_ARN } } });
      expect(perVolume.States.ProtectVolume.Next).toBe('WhichJob');
      expect(perVolume.States.WhichJob.Choices.map((choice: { StringEquals: string }) => choice.StringEquals)).toEqual(['Sync', 'Verify', 'Prune', 'Scrub']);
      expect(perVolume.States.StartScrub.Parameters.Input).toEqual({ 'volumeId.$': '$.volumeId', 'scope.$': '$.scope' });
      expect(definition.States.EachVolume.ItemSelector['scope.$']).toBe('$.scope');
    });
  });

  describe('schedules', () => {
    it('create one schedule per protected volume (or tag) and job, each with its own input', () => {
      // Prepare
      const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));
      const inputs = schedules.map((s) => JSON.parse(s.Properties.Target.Input as string) as { job: string; scope: string; filters: Array<{ Name: string; Values: string[] }> });

      // Assess
      expect(schedules).toHaveLength(2 * 5);
      expect(inputs.map((i) => `${i.job}${i.job === 'Scrub' ? `(${i.scope})` : ''} ${i.filters[0]?.Name}=${i.filters[0]?.Values[0]}`).sort()).toEqual([
        `Prune tag:ebs-cdp=protect`, `Prune volume-id=${VOLUME_ID}`,
        `Scrub(all) tag:ebs-cdp=protect`, `Scrub(all) volume-id=${VOLUME_ID}`,
        `Scrub(new) tag:ebs-cdp=protect`, `Scrub(new) volume-id=${VOLUME_ID}`,
        `Sync tag:ebs-cdp=protect`, `Sync volume-id=${VOLUME_ID}`,
        `Verify tag:ebs-cdp=protect`, `Verify volume-id=${VOLUME_ID}`,
      ]);
    });

    it('sync every 15 minutes and verify weekly by default, in a flexible window, with retries', () => {
      // Prepare
      const byJob = (job: string): Record<string, unknown> => {
        const found = Object.values(template.findResources('AWS::Scheduler::Schedule')).find((s) => (s.Properties.Target.Input as string).includes(`"job":"${job}"`));
        return found?.Properties as Record<string, unknown>;
      };

      // Assess
      expect(byJob('Sync')).toEqual(expect.objectContaining({
        ScheduleExpression: 'rate(15 minutes)',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
        Target: expect.objectContaining({ RetryPolicy: { MaximumEventAgeInSeconds: 900, MaximumRetryAttempts: 2 } }),
      }));
      expect(byJob('Verify')).toEqual(expect.objectContaining({ ScheduleExpression: 'cron(0 3 ? * SUN *)', FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 } }));
    });

    it('scrub every retained point every 30 days and read new points back hourly by default, each through Dispatch with its scope', () => {
      // Prepare
      const scrubOf = (t: Template, scope: string): Record<string, unknown> | undefined => Object.values(t.findResources('AWS::Scheduler::Schedule'))
        .find((s) => (s.Properties.Target.Input as string).includes('"job":"Scrub"') && (s.Properties.Target.Input as string).includes(`"scope":"${scope}"`))?.Properties as Record<string, unknown> | undefined;

      // Act
      const configured = synth(parseProtectionConfig({ volumes: [{ volumeId: VOLUME_ID }], scrub: { full: 'cron(0 5 1 * ? *)', readBack: 'rate(20 minutes)' } }, 'test'));

      // Assess
      expect(scrubOf(template, 'all')).toEqual(expect.objectContaining({
        ScheduleExpression: 'rate(30 days)',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 },
        Target: expect.objectContaining({ RetryPolicy: { MaximumEventAgeInSeconds: 21_600, MaximumRetryAttempts: 5 } }),
      }));
      expect(scrubOf(template, 'new')).toEqual(expect.objectContaining({
        ScheduleExpression: 'rate(1 hour)',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
        Target: expect.objectContaining({ RetryPolicy: { MaximumEventAgeInSeconds: 3_600, MaximumRetryAttempts: 2 } }),
      }));
      expect(scrubOf(configured, 'all')).toEqual(expect.objectContaining({ ScheduleExpression: 'cron(0 5 1 * ? *)', FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 } }));
      // A read-back every 20 minutes: a window of a quarter of it, events no older than one period.
      expect(scrubOf(configured, 'new')).toEqual(expect.objectContaining({
        ScheduleExpression: 'rate(20 minutes)',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
        Target: expect.objectContaining({ RetryPolicy: { MaximumEventAgeInSeconds: 1_200, MaximumRetryAttempts: 2 } }),
      }));
    });

    it('schedule nothing, and add no Dispatch, when no volume is configured', () => {
      // Act
      const empty = synth(parseProtectionConfig({}, 'test'));

      // Assess
      empty.resourceCountIs('AWS::Scheduler::Schedule', 0);
      empty.resourceCountIs('AWS::StepFunctions::StateMachine', JOB_NAMES.length);
    });
  });

  describe('alarms and dashboard', () => {
    it('publish failed executions, sync lag beyond the RPO, and verify and scrub damage to the alerts topic', () => {
      // Prepare
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      const topic = Object.keys(template.findResources('AWS::SNS::Topic'))[0];

      // Assess
      expect(alarms).toHaveLength(JOB_NAMES.length + 1 + 2 + 2); // the jobs' and Dispatch's failures, lag of the volume and of the tag, verify and scrub damage
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ScrubFoundDamage', ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'RestorePointsCommitted',
        Dimensions: [{ Name: 'volumeId', Value: VOLUME_ID }],
        Period: 1800, // RPO: two 15-minute intervals
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'VerifyFoundDamage', ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    });

    it('derive the metrics from the engine’s log lines', () => {
      // Assess
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        FilterPattern: '{ $.message = "restore point committed" }',
        MetricTransformations: [Match.objectLike({ MetricName: 'BlocksSynced', MetricValue: '$.blocks', Dimensions: [{ Key: 'volumeId', Value: '$.volumeId' }] })],
      });
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        FilterPattern: '{ $.message = "verify scan finished" && $.mismatches > 0 }',
        MetricTransformations: [Match.objectLike({ MetricName: 'VerifyFoundDamage' })],
      });
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        FilterPattern: '{ $.message = "scrub finished" && $.badVersions > 0 }',
        MetricTransformations: [Match.objectLike({ MetricName: 'ScrubFoundDamage', Dimensions: [{ Key: 'volumeId', Value: '$.volumeId' }] })],
      });
    });

    it('show restore-point age, blocks synced and verify outcome on the dashboard', () => {
      // Prepare
      const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
      const body = JSON.stringify(dashboard?.Properties.DashboardBody);

      // Assess
      expect(body).toContain('Restore-point age');
      expect(body).toContain('BlocksSynced');
      expect(body).toContain('VerifyFoundDamage');
      expect(body).toContain('VerifyClean');
    });
  });

  describe('cdk-nag', () => {
    it('passes the AwsSolutions checks, every acknowledgement with its reason', () => {
      // Prepare
      const app = new App();
      const stack = new EbsCdpStack(app, 'Nag', { taskCode: 'stub', config: parseProtectionConfig({ ...CONFIG, allowInPlaceRestore: true }, 'test') });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

      // Act
      const synthesize = (): unknown => app.synth();

      // Assess
      expect(synthesize).not.toThrow();
      const acknowledged = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY));
      expect(acknowledged.length).toBeGreaterThan(0);
      for (const entry of acknowledged) {
        // Each entry is `{ [ruleId]: reason }`.
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          expect({ id, explained: reason.length > 20 }).toEqual({ id: expect.stringMatching(/^AwsSolutions::AwsSolutions-/), explained: true });
        }
      }
    });
  });

  describe('template', () => {
    it('matches the committed snapshot (asset hashes scrubbed)', () => {
      // Prepare
      const scrubbed = JSON.parse(JSON.stringify(template.toJSON()).replace(/[0-9a-f]{64}/g, '[asset-hash]'));

      // Assess
      expect(scrubbed).toMatchSnapshot();
    });
  });
});

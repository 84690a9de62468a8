import { Template } from 'aws-cdk-lib/assertions';
import { parseProtectionConfig, type ProtectionConfig } from '../../infra/config';
import { KMS_KEY_USE_ACTIONS, KMS_READ_ACTIONS, TASK_CAPABILITIES } from '../../infra/constructs/permissions';
import { TASK_NAMES, type TaskName } from '../../lambdas/task-names';
import { actionsOf, allStatements, resolvePart, statementsOfTask, synth, type Statement } from './template-helpers';

// asl-validator ships no types: its CommonJS export is one function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

const ACCOUNT = '111122223333';
const ENV = { account: ACCOUNT, region: 'us-east-1' };
const VOLUME_ID = 'vol-0123456789abcdef0';
const SECONDARY_KEY = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const PRIMARY_KEYS = [
  `arn:aws:kms:us-east-1:${ACCOUNT}:key/abcd1234-a123-456d-a12b-a123b4cd56ef`,
  `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`,
];
const PRIMARY_VIA = ['ec2.us-east-1.amazonaws.com', 'ebs.us-east-1.amazonaws.com'];

/** The tasks that read or list primary snapshots, write the restore's target, or create the restored volume. */
const PRIMARY_KEY_TASKS: readonly TaskName[] = [
  'SyncBegin', 'SyncPlan', 'CopySegment', 'CompleteSnapshot', 'VerifyPlan', 'VerifyScanSegment', 'VerifyFinishScan',
  'RestoreBegin', 'RestorePlan', 'RestoreCreateVolume', 'RestoreReport',
];

function config(overrides: Record<string, unknown> = {}): ProtectionConfig {
  return parseProtectionConfig({
    volumes: [{ volumeId: VOLUME_ID }, { tag: { key: 'ebs-cdp', value: 'protect' } }],
    secondaryRegion: 'us-west-2',
    kmsKeyArn: SECONDARY_KEY,
    ...overrides,
  }, 'test');
}

/** A statement with its `Fn::Join`s resolved as a deploy in us-east-1 would (ARNs become plain strings). */
function resolved(statement: Statement): Statement {
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join !== undefined) return join[1].map((part) => resolvePart(part)).join(join[0]);
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolve(inner)]));
  };
  return resolve(statement) as Statement;
}

function onKeys(statements: Statement[], keys: readonly string[]): Statement[] {
  return statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')) && keys.some((key) => JSON.stringify(s.Resource).includes(key)));
}

describe('EbsCdpStack deployment safety', () => {
  describe('alerts topic', () => {
    let template: Template;

    beforeAll(() => {
      template = synth(config(), ENV);
    });

    it('is encrypted with a customer managed key of the stack, rotated, destroyed with the stack', () => {
      // Prepare
      const keys = template.findResources('AWS::KMS::Key');
      const [keyId] = Object.keys(keys);

      // Assess
      expect(Object.keys(keys)).toHaveLength(1);
      template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', Properties: { EnableKeyRotation: true } });
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    });

    it('admits CloudWatch to the key, only for this account’s alarms', () => {
      // Prepare
      const key = Object.values(template.findResources('AWS::KMS::Key'))[0];
      const statements = (key?.Properties.KeyPolicy as { Statement: Statement[] }).Statement.map(resolved);

      // Act
      const cloudWatch = statements.filter((s) => JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com'));

      // Assess
      expect(cloudWatch).toEqual([{
        Sid: 'AllowCloudWatchAlarmsToPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:SourceAccount': ACCOUNT },
          ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:*` },
        },
      }]);
    });
  });

  describe('KMS grants', () => {
    it('allow kms:CreateGrant only for AWS resources, through EC2 and EBS, in a statement of its own', () => {
      // Prepare
      const template = synth(config({ primaryKmsKeyArns: PRIMARY_KEYS, allowInPlaceRestore: true }), ENV);

      // Act
      const grants = allStatements(template).filter((s) => actionsOf(s).includes('kms:CreateGrant'));

      // Assess
      expect(grants.length).toBeGreaterThan(0);
      for (const grant of grants) {
        expect(actionsOf(grant)).toEqual(['kms:CreateGrant']);
        expect(grant.Condition).toEqual({
          StringLike: { 'kms:ViaService': expect.arrayContaining(PRIMARY_VIA) },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        });
      }
    });
  });

  describe('primary-side keys', () => {
    it('are granted, via the primary’s EC2 and EBS only, to exactly the tasks that read or write on the primary side', () => {
      // Prepare
      const template = synth(config({ primaryKmsKeyArns: PRIMARY_KEYS, allowInPlaceRestore: true }), ENV);
      const expected = [...PRIMARY_KEY_TASKS, 'RestoreSwap'].sort();

      // Act
      const granted = TASK_NAMES.filter((task) => onKeys(statementsOfTask(template, task), PRIMARY_KEYS).length > 0);

      // Assess
      expect([...granted].sort()).toEqual(expected);
      for (const task of granted) {
        expect(onKeys(statementsOfTask(template, task), PRIMARY_KEYS)).toEqual([
          {
            Effect: 'Allow',
            Action: [...KMS_KEY_USE_ACTIONS],
            Resource: PRIMARY_KEYS,
            Condition: { StringLike: { 'kms:ViaService': PRIMARY_VIA } },
          },
          {
            Effect: 'Allow',
            Action: 'kms:CreateGrant',
            Resource: PRIMARY_KEYS,
            Condition: { StringLike: { 'kms:ViaService': PRIMARY_VIA }, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
          },
        ]);
      }
      expect(allStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')) && JSON.stringify(s.Resource).includes('"*"'))).toEqual([]);
    });

    it('follow TASK_CAPABILITIES: every task that reads snapshots also holds the primary keys', () => {
      // Assess
      const readers = TASK_NAMES.filter((task) => TASK_CAPABILITIES[task].includes('readSnapshots') || TASK_CAPABILITIES[task].includes('createVolumes'));
      expect(readers.filter((task) => !TASK_CAPABILITIES[task].includes('primaryKms'))).toEqual([]);
    });

    it('grant no key at all when the config names none', () => {
      // Act
      const template = synth(parseProtectionConfig({ volumes: [{ volumeId: VOLUME_ID }], allowInPlaceRestore: true }, 'test'), ENV);

      // Assess
      expect(allStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')))).toEqual([]);
    });

    it('refuse a key of another Region than the stack’s', () => {
      // Act
      const elsewhere = (): unknown => synth(config({ primaryKmsKeyArns: [SECONDARY_KEY] }), ENV);

      // Assess
      expect(elsewhere).toThrow(`primaryKmsKeyArns: ${SECONDARY_KEY} not in the stack's Region us-east-1`);
    });
  });

  describe('the secondary key and the scrub', () => {
    it('lets ScrubSegment only decrypt, only through the secondary Region’s EC2 and EBS, and gives it no primary key', () => {
      // Prepare
      const template = synth(config({ primaryKmsKeyArns: PRIMARY_KEYS }), ENV);

      // Act
      const segment = statementsOfTask(template, 'ScrubSegment');

      // Assess
      expect(onKeys(segment, [SECONDARY_KEY])).toEqual([{
        Effect: 'Allow',
        Action: [...KMS_READ_ACTIONS],
        Resource: SECONDARY_KEY,
        Condition: { StringLike: { 'kms:ViaService': ['ec2.us-west-2.amazonaws.com', 'ebs.us-west-2.amazonaws.com'] } },
      }]);
      expect(onKeys(segment, PRIMARY_KEYS)).toEqual([]);
      expect(onKeys(statementsOfTask(template, 'ScrubBegin'), [SECONDARY_KEY, ...PRIMARY_KEYS])).toEqual([]);
      expect(onKeys(statementsOfTask(template, 'ScrubFinish'), [SECONDARY_KEY, ...PRIMARY_KEYS])).toEqual([]);
    });

    it('reads only the secondary Region’s snapshots carrying the ownership tag', () => {
      // Prepare
      const template = synth(config(), ENV);

      // Act
      const reads = statementsOfTask(template, 'ScrubSegment').map(resolved).filter((s) => actionsOf(s).some((a) => a.startsWith('ebs:')));

      // Assess
      expect(reads).toEqual([{
        Effect: 'Allow',
        Action: ['ebs:ListSnapshotBlocks', 'ebs:ListChangedBlocks', 'ebs:GetSnapshotBlock'],
        Resource: 'arn:aws:ec2:us-west-2::snapshot/*',
        Condition: { StringEquals: { 'aws:ResourceTag/ebs-cdp:managed': 'true' } },
      }]);
      expect(TASK_CAPABILITIES.ScrubSegment).toEqual(['readSecondary', 'secondaryKmsRead']);
    });
  });

  describe('in-place swap', () => {
    it('stops and swaps only on instances tagged for it, and only the protected and the restored volumes', () => {
      // Prepare
      const template = synth(config({ allowInPlaceRestore: true }), ENV);

      // Act
      const swap = statementsOfTask(template, 'RestoreSwap').map(resolved).filter((s) => actionsOf(s).some((a) => /^ec2:(Stop|Start|Attach|Detach)/.test(a)));

      // Assess
      const volumeActions = ['ec2:AttachVolume', 'ec2:DetachVolume'];
      expect(swap).toEqual([
        {
          Effect: 'Allow',
          Action: ['ec2:StopInstances', 'ec2:StartInstances', ...volumeActions],
          Resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*`,
          Condition: { StringEquals: { 'aws:ResourceTag/ebs-cdp:in-place-restore': 'allowed' } },
        },
        {
          Effect: 'Allow',
          Action: volumeActions,
          Resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/*`,
          Condition: { StringEquals: { 'aws:ResourceTag/ebs-cdp:managed': 'true' } },
        },
        { Effect: 'Allow', Action: volumeActions, Resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/${VOLUME_ID}` },
        {
          Effect: 'Allow',
          Action: volumeActions,
          Resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/*`,
          Condition: { StringEquals: { 'aws:ResourceTag/ebs-cdp': 'protect' } },
        },
      ]);
      // No other role may stop an instance or move a volume.
      const elsewhere = TASK_NAMES.filter((task) => task !== 'RestoreSwap')
        .flatMap((task) => statementsOfTask(template, task).flatMap(actionsOf))
        .filter((a) => /^ec2:(Stop|Start|Attach|Detach)/.test(a));
      expect(elsewhere).toEqual([]);
    });

    it('has Dispatch tag the protected volumes’ instances, best effort, with a grant that can put that one tag only', () => {
      // Prepare
      const template = synth(config({ allowInPlaceRestore: true }), ENV);
      const [dispatchId, dispatch] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).find(([id]) => id.startsWith('SchedulesDispatch')) ?? [];
      const body = dispatch?.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
      const definition = JSON.parse(body['Fn::Join'][1].map(resolvePart).join(''));
      const roleRef = (dispatch?.Properties.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
      const roleStatements = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleRef))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
        .map(resolved);

      // Act
      const result = validateAsl(structuredClone(definition));

      // Assess
      expect(dispatchId).toBeDefined();
      expect(result.isValid ? '' : result.errorsText('\n')).toBe('');
      const perVolume = definition.States.EachVolume.ItemProcessor.States;
      expect(perVolume.ProtectVolume.Next).toBe('HasInstance');
      expect(perVolume.HasInstance).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.attachments[0].InstanceId', IsPresent: true, Next: 'TagInstances' }],
        Default: 'WhichJob',
      });
      expect(perVolume.TagInstances).toEqual(expect.objectContaining({
        Resource: 'arn:aws:states:::aws-sdk:ec2:createTags',
        Parameters: { 'Resources.$': '$.attachments[*].InstanceId', Tags: [{ Key: 'ebs-cdp:in-place-restore', Value: 'allowed' }] },
        Next: 'WhichJob',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.tagInstancesError', Next: 'WhichJob' }],
      }));
      expect(roleStatements.filter((s) => actionsOf(s).includes('ec2:CreateTags'))).toEqual([{
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*`,
        Condition: {
          StringEquals: { 'aws:RequestTag/ebs-cdp:in-place-restore': 'allowed' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['ebs-cdp:in-place-restore'] },
        },
      }]);
    });

    it('leaves Dispatch and the instances alone when in-place restores are not allowed', () => {
      // Prepare
      const template = synth(config(), ENV);

      // Act
      const definition = JSON.stringify(Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).find(([id]) => id.startsWith('SchedulesDispatch'))?.[1]);

      // Assess
      expect(definition).not.toContain('TagInstances');
      expect(allStatements(template).filter((s) => actionsOf(s).includes('ec2:CreateTags') && JSON.stringify(s.Resource).includes('instance/'))).toEqual([]);
    });
  });
});

/**
 * Least-privilege IAM for the task functions. Each task gets only the capabilities its engine
 * step uses, and each capability is scoped as far as AWS allows:
 *
 * | capability      | actions                                              | scoped to                                         |
 * |-----------------|------------------------------------------------------|---------------------------------------------------|
 * | readSnapshots   | ebs:List*Blocks, ebs:GetSnapshotBlock                | snapshots carrying our ownership tag              |
 * | writeSnapshots  | ebs:StartSnapshot / PutSnapshotBlock / CompleteSnapshot | new snapshots tagged ours at creation; our snapshots |
 * | takeSnapshots   | ec2:CreateSnapshot (+ CreateTags on create)          | the protected volumes; new snapshots tagged ours  |
 * | deleteSnapshots | ec2:DeleteSnapshot                                   | snapshots carrying our ownership tag              |
 * | createVolumes   | ec2:CreateVolume (+ CreateTags on create)            | new volumes tagged ours, from our snapshots       |
 * | swapVolumes     | ec2:Stop/StartInstances, Attach/DetachVolume         | only with `allowInPlaceRestore`                   |
 * | describe        | ec2:Describe{Snapshots,Volumes,Instances}            | `*`: EC2 Describe* take no resource (suppressed)  |
 * | kms             | the EBS encryption calls                             | the one named key, via EC2 only                   |
 *
 * The chain table is read and written by every task (each holds or checks the volume lease).
 */
import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { TaskName } from '../../lambdas/task-names';
import { OWNER_TAG } from '../../shared/core/tags';
import type { TagSelector } from '../config';
import { acknowledge, nagRendering } from './nag';

export type Capability =
  | 'readSnapshots' | 'writeSnapshots' | 'takeSnapshots' | 'deleteSnapshots'
  | 'createVolumes' | 'swapVolumes' | 'describe' | 'kms';

/**
 * What each task's engine step calls (shared/engine). A sync's begin may recover a crashed run
 * (compare the DRL regions, adopt or discard the orphan), hence its reads and deletes.
 */
export const TASK_CAPABILITIES: Readonly<Record<TaskName, readonly Capability[]>> = {
  SyncBegin: ['describe', 'takeSnapshots', 'readSnapshots', 'deleteSnapshots', 'kms'],
  SnapshotStatus: ['describe'],
  SyncPlan: ['describe', 'readSnapshots', 'writeSnapshots', 'kms'],
  CopySegment: ['readSnapshots', 'writeSnapshots', 'kms'],
  CompleteSnapshot: ['describe', 'writeSnapshots', 'kms'],
  SyncCommit: ['describe', 'deleteSnapshots'],
  JobFailed: ['describe', 'deleteSnapshots'],
  VerifyBegin: ['describe', 'takeSnapshots'],
  VerifyPlan: ['describe', 'readSnapshots'],
  VerifyScanSegment: ['readSnapshots', 'kms'],
  VerifyFinishScan: ['describe', 'readSnapshots'],
  VerifyReport: ['describe', 'deleteSnapshots'],
  RestoreBegin: ['describe', 'takeSnapshots', 'readSnapshots'],
  RestorePlan: ['describe', 'readSnapshots', 'writeSnapshots', 'kms'],
  RestoreCreateVolume: ['describe', 'createVolumes', 'kms'],
  RestoreSwap: ['describe', 'swapVolumes'],
  RestoreReport: ['describe'],
  Prune: ['describe', 'deleteSnapshots'],
};

/** The EBS direct API calls and EC2 snapshot calls that need the key of an encrypted lineage. */
export const KMS_ACTIONS = [
  'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:CreateGrant',
] as const;

export interface TaskPermissionsProps {
  readonly table: dynamodb.ITable;
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  /** Volumes protected by id: the only volumes CreateSnapshot may name. */
  readonly volumeIds: readonly string[];
  /** Volumes protected by tag: CreateSnapshot on volumes carrying one of these. */
  readonly volumeTags: readonly TagSelector[];
  readonly primaryRegion: string;
  readonly secondaryRegion: string;
  readonly kmsKeyArn?: string;
  readonly allowInPlaceRestore: boolean;
}

/** `aws:ResourceTag/ebs-cdp:managed = true`: the snapshot or volume is one ebs-cdp created. */
export const OWNED_RESOURCE = { StringEquals: { [`aws:ResourceTag/${OWNER_TAG.key}`]: OWNER_TAG.value } };
/** `aws:RequestTag/ebs-cdp:managed = true`: the call creates a resource tagged as ours. */
export const OWNED_REQUEST = { StringEquals: { [`aws:RequestTag/${OWNER_TAG.key}`]: OWNER_TAG.value } };

/** The statements of one capability, for both sides' Regions. */
export function capabilityStatements(scope: Construct, capability: Capability, props: Omit<TaskPermissionsProps, 'table' | 'functions'>): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const regions = [...new Set([props.primaryRegion, props.secondaryRegion])];
  const arn = (region: string, resource: string, account = stack.account): string => `arn:${stack.partition}:ec2:${region}:${account}:${resource}`;
  // Snapshot ARNs carry no account (arn:aws:ec2:region::snapshot/id).
  const snapshots = regions.map((region) => arn(region, 'snapshot/*', ''));
  const primarySnapshots = [arn(props.primaryRegion, 'snapshot/*', '')];
  switch (capability) {
    case 'readSnapshots':
      return [new iam.PolicyStatement({
        actions: ['ebs:ListSnapshotBlocks', 'ebs:ListChangedBlocks', 'ebs:GetSnapshotBlock'],
        resources: snapshots,
        conditions: OWNED_RESOURCE,
      })];
    case 'writeSnapshots':
      return [
        new iam.PolicyStatement({ actions: ['ebs:StartSnapshot'], resources: snapshots, conditions: OWNED_REQUEST }),
        new iam.PolicyStatement({ actions: ['ebs:PutSnapshotBlock', 'ebs:CompleteSnapshot'], resources: snapshots, conditions: OWNED_RESOURCE }),
      ];
    case 'takeSnapshots': {
      const statements = [
        new iam.PolicyStatement({ actions: ['ec2:CreateSnapshot'], resources: primarySnapshots, conditions: OWNED_REQUEST }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateTags'],
          resources: primarySnapshots,
          conditions: { StringEquals: { 'ec2:CreateAction': 'CreateSnapshot' } },
        }),
      ];
      if (props.volumeIds.length > 0) {
        statements.push(new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot'],
          resources: props.volumeIds.map((volumeId) => arn(props.primaryRegion, `volume/${volumeId}`)),
        }));
      }
      for (const tag of props.volumeTags) {
        statements.push(new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot'],
          resources: [arn(props.primaryRegion, 'volume/*')],
          conditions: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } },
        }));
      }
      return statements;
    }
    case 'deleteSnapshots':
      return [new iam.PolicyStatement({ actions: ['ec2:DeleteSnapshot'], resources: snapshots, conditions: OWNED_RESOURCE })];
    case 'createVolumes':
      return [
        new iam.PolicyStatement({ actions: ['ec2:CreateVolume'], resources: [arn(props.primaryRegion, 'volume/*')], conditions: OWNED_REQUEST }),
        new iam.PolicyStatement({ actions: ['ec2:CreateVolume'], resources: primarySnapshots, conditions: OWNED_RESOURCE }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateTags'],
          resources: [arn(props.primaryRegion, 'volume/*')],
          conditions: { StringEquals: { 'ec2:CreateAction': 'CreateVolume' } },
        }),
      ];
    case 'swapVolumes':
      if (!props.allowInPlaceRestore) return [];
      return [new iam.PolicyStatement({
        actions: ['ec2:StopInstances', 'ec2:StartInstances', 'ec2:AttachVolume', 'ec2:DetachVolume'],
        // Which instance a person restores onto is chosen at restore time: any instance, any volume of this Region.
        resources: [arn(props.primaryRegion, 'instance/*'), arn(props.primaryRegion, 'volume/*')],
      })];
    case 'describe':
      return [new iam.PolicyStatement({
        actions: ['ec2:DescribeSnapshots', 'ec2:DescribeVolumes', 'ec2:DescribeInstances'],
        resources: ['*'],
      })];
    case 'kms':
      if (props.kmsKeyArn === undefined) return [];
      return [new iam.PolicyStatement({
        actions: [...KMS_ACTIONS],
        resources: [props.kmsKeyArn],
        // Only through EC2 and the EBS direct APIs on our behalf, never a direct decrypt by the function.
        conditions: { StringLike: { 'kms:ViaService': regions.flatMap((region) => [`ec2.${region}.amazonaws.com`, `ebs.${region}.amazonaws.com`]) } },
      })];
  }
}

/** Grants every task function its capabilities and the chain table. */
export function grantTaskPermissions(scope: Construct, props: TaskPermissionsProps): void {
  for (const [taskName, capabilities] of Object.entries(TASK_CAPABILITIES) as Array<[TaskName, readonly Capability[]]>) {
    const fn = props.functions[taskName];
    props.table.grantReadWriteData(fn);
    const wildcards = new Set<string>();
    for (const capability of capabilities) {
      for (const statement of capabilityStatements(scope, capability, props)) {
        fn.addToRolePolicy(statement);
        for (const resource of statement.resources) if (resource.endsWith('/*')) wildcards.add(resource);
      }
    }
    // On the role: its policy is where the finding is (the role is not under the function).
    const policyHolder = fn.role ?? fn;
    for (const resource of wildcards) {
      acknowledge(policyHolder, 'IAM5', 'Snapshot and volume ids are created at run time, so the ARN names none; every statement on it is '
        + 'conditioned on the ownership tag (aws:ResourceTag / aws:RequestTag ebs-cdp:managed=true), on the protection tag, '
        + 'or on ec2:CreateAction, and instances for an in-place restore are chosen by the person restoring.', `Resource::${nagRendering(fn, resource)}`);
    }
  }
}

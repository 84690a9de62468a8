/**
 * Least-privilege IAM for the task functions. Each task gets only the capabilities its engine
 * step uses, and each capability is scoped as far as AWS allows:
 *
 * | capability      | actions                                              | scoped to                                         |
 * |-----------------|------------------------------------------------------|---------------------------------------------------|
 * | readSnapshots   | ebs:List*Blocks, ebs:GetSnapshotBlock                | snapshots carrying our ownership tag              |
 * | readSecondary   | ebs:List*Blocks, ebs:GetSnapshotBlock                | the same, in the secondary's Region only (scrub)  |
 * | writeSnapshots  | ebs:StartSnapshot / PutSnapshotBlock / CompleteSnapshot | new snapshots tagged ours at creation; our snapshots |
 * | takeSnapshots   | ec2:CreateSnapshot (+ CreateTags on create)          | the protected volumes; new snapshots tagged ours  |
 * | deleteSnapshots | ec2:DeleteSnapshot                                   | snapshots carrying our ownership tag              |
 * | createVolumes   | ec2:CreateVolume (+ CreateTags on create)            | new volumes tagged ours, from our snapshots       |
 * | swapVolumes     | ec2:Stop/StartInstances, Attach/DetachVolume         | only with `allowInPlaceRestore`: instances tagged |
 * |                 |                                                      | `ebs-cdp:in-place-restore=allowed`; the protected |
 * |                 |                                                      | volumes and the volumes ebs-cdp created           |
 * | describe        | ec2:Describe{Snapshots,Volumes,Instances}            | `*`: EC2 Describe* take no resource (suppressed)  |
 * | kms             | the EBS encryption calls                             | the secondary's key, via EC2/EBS only             |
 * | primaryKms      | the EBS encryption calls                             | the primary-side keys, via the primary's EC2/EBS  |
 * | secondaryKmsRead| kms:Decrypt, kms:DescribeKey                         | the secondary's key, via the secondary's EC2/EBS  |
 *
 * `kms:CreateGrant` is allowed only with `kms:GrantIsForAWSResource`: EC2 and EBS create grants
 * on the task's behalf (for a volume, a snapshot copy); the task itself never creates one.
 *
 * The chain table is read and written by every task (each holds or checks the volume lease),
 * except the tasks of {@link CHAIN_READ_ONLY_TASKS}, which only read it.
 */
import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { TaskName } from '../../lambdas/task-names';
import { IN_PLACE_RESTORE_TAG, OWNER_TAG } from '../../shared/core/tags';
import type { TagSelector } from '../config';
import { acknowledge, nagRendering } from './nag';

export type Capability =
  | 'readSnapshots' | 'readSecondary' | 'writeSnapshots' | 'takeSnapshots' | 'deleteSnapshots'
  | 'createVolumes' | 'swapVolumes' | 'describe' | 'kms' | 'primaryKms' | 'secondaryKmsRead';

/**
 * What each task's engine step calls (shared/engine). A sync's begin may recover a crashed run
 * (compare the DRL regions, adopt or discard the orphan), hence its reads and deletes.
 * `primaryKms` goes to every task that reads a primary snapshot's blocks or lists them (sync and
 * verify read `P_now` / `P0`; the restore lists `P_head → P_now` and its target's blocks), writes
 * the restore's target (a child of `P_now`, so under the primary's key: Restore runs CopySegment
 * and CompleteSnapshot too) or creates the restored volume from it. Taking a snapshot
 * (VerifyBegin) and deleting one need no key. RestoreSwap gets the keys with `swapVolumes`.
 *
 * The scrub only reads the secondary lineage: ScrubSegment lists and reads restore-point
 * snapshots in the secondary's Region (`readSecondary`) and decrypts through EBS there
 * (`secondaryKmsRead`: it writes nothing, so it needs no data key, re-encryption or grant);
 * ScrubBegin and ScrubFinish work on the chain table alone.
 */
export const TASK_CAPABILITIES: Readonly<Record<TaskName, readonly Capability[]>> = {
  SyncBegin: ['describe', 'takeSnapshots', 'readSnapshots', 'deleteSnapshots', 'kms', 'primaryKms'],
  SnapshotStatus: ['describe'],
  SyncPlan: ['describe', 'readSnapshots', 'writeSnapshots', 'kms', 'primaryKms'],
  CopySegment: ['readSnapshots', 'writeSnapshots', 'kms', 'primaryKms'],
  CompleteSnapshot: ['describe', 'writeSnapshots', 'kms', 'primaryKms'],
  SyncCommit: ['describe', 'deleteSnapshots'],
  JobFailed: ['describe', 'deleteSnapshots'],
  VerifyBegin: ['describe', 'takeSnapshots'],
  VerifyPlan: ['describe', 'readSnapshots', 'primaryKms'],
  VerifyScanSegment: ['readSnapshots', 'kms', 'primaryKms'],
  VerifyFinishScan: ['describe', 'readSnapshots', 'primaryKms'],
  VerifyReport: ['describe', 'deleteSnapshots'],
  RestoreBegin: ['describe', 'takeSnapshots', 'readSnapshots', 'primaryKms'],
  RestorePlan: ['describe', 'readSnapshots', 'writeSnapshots', 'kms', 'primaryKms'],
  RestoreCreateVolume: ['describe', 'createVolumes', 'kms', 'primaryKms'],
  RestoreSwap: ['describe', 'swapVolumes'],
  RestoreReport: ['describe', 'readSnapshots', 'primaryKms'],
  Prune: ['describe', 'deleteSnapshots'],
  ScrubBegin: [],
  ScrubSegment: ['readSecondary', 'secondaryKmsRead'],
  ScrubFinish: [],
};

/** Tasks that only read the chain table: ScrubBegin lists the points and segments to read, and writes nothing. */
export const CHAIN_READ_ONLY_TASKS: ReadonlySet<TaskName> = new Set<TaskName>(['ScrubBegin']);

/** What EC2 and the EBS direct APIs call with the key of an encrypted lineage on the caller's behalf. */
export const KMS_KEY_USE_ACTIONS = [
  'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo',
] as const;

/** What reading an encrypted snapshot's blocks through the EBS direct APIs needs of its key: EBS decrypts on the caller's behalf. */
export const KMS_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'] as const;

/** The EBS direct API reads: list a snapshot's blocks, list the blocks two snapshots differ in, read one block. */
export const EBS_READ_ACTIONS = ['ebs:ListSnapshotBlocks', 'ebs:ListChangedBlocks', 'ebs:GetSnapshotBlock'] as const;

/** EC2 creates a grant for a volume made from, or attached with, an encrypted snapshot or volume. */
export const KMS_GRANT_ACTION = 'kms:CreateGrant';

/** Every KMS action a task may call on an encrypted lineage's key (two statements: the grant one is conditioned further). */
export const KMS_ACTIONS = [...KMS_KEY_USE_ACTIONS, KMS_GRANT_ACTION] as const;

/** The tag an instance must carry for an in-place restore to stop it or swap its volumes. */
export const IN_PLACE_RESTORE_INSTANCE = { StringEquals: { [`aws:ResourceTag/${IN_PLACE_RESTORE_TAG.key}`]: IN_PLACE_RESTORE_TAG.value } };

export interface TaskPermissionsProps {
  readonly table: dynamodb.ITable;
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  /** Volumes protected by id: the only volumes CreateSnapshot may name. */
  readonly volumeIds: readonly string[];
  /** Volumes protected by tag: CreateSnapshot on volumes carrying one of these. */
  readonly volumeTags: readonly TagSelector[];
  readonly primaryRegion: string;
  readonly secondaryRegion: string;
  /** The secondary lineage's key. */
  readonly kmsKeyArn?: string;
  /** The keys of the primary volumes (in the primary's Region). */
  readonly primaryKmsKeyArns?: readonly string[];
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
  const secondarySnapshots = [arn(props.secondaryRegion, 'snapshot/*', '')];
  switch (capability) {
    case 'readSnapshots':
      return [new iam.PolicyStatement({ actions: [...EBS_READ_ACTIONS], resources: snapshots, conditions: OWNED_RESOURCE })];
    case 'readSecondary':
      return [new iam.PolicyStatement({ actions: [...EBS_READ_ACTIONS], resources: secondarySnapshots, conditions: OWNED_RESOURCE })];
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
      return [
        ...swapStatements(props, arn),
        // Starting an instance whose volumes are encrypted makes EC2 create grants on their keys:
        // the restored volume's (the primary's key, or the secondary's after a full restore).
        ...keyStatements(props.kmsKeyArn === undefined ? [] : [props.kmsKeyArn], regions),
        ...keyStatements(props.primaryKmsKeyArns ?? [], [props.primaryRegion]),
      ];
    case 'describe':
      return [new iam.PolicyStatement({
        actions: ['ec2:DescribeSnapshots', 'ec2:DescribeVolumes', 'ec2:DescribeInstances'],
        resources: ['*'],
      })];
    case 'kms':
      return keyStatements(props.kmsKeyArn === undefined ? [] : [props.kmsKeyArn], regions);
    case 'primaryKms':
      // The primary's snapshots and the restore's target and volume live in the primary's Region only.
      return keyStatements(props.primaryKmsKeyArns ?? [], [props.primaryRegion]);
    case 'secondaryKmsRead':
      return readKeyStatements(props.kmsKeyArn === undefined ? [] : [props.kmsKeyArn], [props.secondaryRegion]);
  }
}

/**
 * The key statements for EBS encryption with `keys`, only through EC2 and the EBS direct APIs of
 * `regions` (never a direct decrypt by the function); `kms:CreateGrant` only for a grant EC2 or
 * EBS creates for an AWS resource. None when there is no key.
 */
export function keyStatements(keys: readonly string[], regions: readonly string[]): iam.PolicyStatement[] {
  const resources = [...new Set(keys)];
  if (resources.length === 0) return [];
  const viaService = viaServiceOf(regions);
  return [
    new iam.PolicyStatement({ actions: [...KMS_KEY_USE_ACTIONS], resources, conditions: { StringLike: viaService } }),
    new iam.PolicyStatement({
      actions: [KMS_GRANT_ACTION],
      resources,
      conditions: { StringLike: viaService, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }),
  ];
}

/**
 * The key statement for reading blocks of snapshots encrypted with `keys`: decrypt (and describe
 * the key) only through EC2 and the EBS direct APIs of `regions`. None when there is no key.
 */
export function readKeyStatements(keys: readonly string[], regions: readonly string[]): iam.PolicyStatement[] {
  const resources = [...new Set(keys)];
  if (resources.length === 0) return [];
  return [new iam.PolicyStatement({ actions: [...KMS_READ_ACTIONS], resources, conditions: { StringLike: viaServiceOf(regions) } })];
}

/** `kms:ViaService` of EC2 and the EBS direct APIs in `regions`. */
function viaServiceOf(regions: readonly string[]): Record<string, string[]> {
  return { 'kms:ViaService': regions.flatMap((region) => [`ec2.${region}.amazonaws.com`, `ebs.${region}.amazonaws.com`]) };
}

/**
 * The in-place swap, one statement per resource type (AttachVolume and DetachVolume authorize
 * the instance and the volume separately): the instance must carry the in-place-restore tag; the
 * volume must be a protected primary (by id, or by its protection tag) or one ebs-cdp created
 * (the restored volume, ownership tag), since the swap detaches the one and attaches the other,
 * and a rollback the reverse.
 */
function swapStatements(props: Omit<TaskPermissionsProps, 'table' | 'functions'>, arn: (region: string, resource: string) => string): iam.PolicyStatement[] {
  const volumeActions = ['ec2:AttachVolume', 'ec2:DetachVolume'];
  const anyVolume = arn(props.primaryRegion, 'volume/*');
  const statements = [
    new iam.PolicyStatement({
      actions: ['ec2:StopInstances', 'ec2:StartInstances', ...volumeActions],
      resources: [arn(props.primaryRegion, 'instance/*')],
      conditions: IN_PLACE_RESTORE_INSTANCE,
    }),
    new iam.PolicyStatement({ actions: volumeActions, resources: [anyVolume], conditions: OWNED_RESOURCE }),
  ];
  if (props.volumeIds.length > 0) {
    statements.push(new iam.PolicyStatement({
      actions: volumeActions,
      resources: props.volumeIds.map((volumeId) => arn(props.primaryRegion, `volume/${volumeId}`)),
    }));
  }
  for (const tag of props.volumeTags) {
    statements.push(new iam.PolicyStatement({
      actions: volumeActions,
      resources: [anyVolume],
      conditions: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } },
    }));
  }
  return statements;
}

/** Grants every task function its capabilities and the chain table. */
export function grantTaskPermissions(scope: Construct, props: TaskPermissionsProps): void {
  for (const [taskName, capabilities] of Object.entries(TASK_CAPABILITIES) as Array<[TaskName, readonly Capability[]]>) {
    const fn = props.functions[taskName];
    if (CHAIN_READ_ONLY_TASKS.has(taskName)) props.table.grantReadData(fn);
    else props.table.grantReadWriteData(fn);
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
        + 'or on ec2:CreateAction; instances for an in-place restore are chosen by the person restoring, and must carry the '
        + `${IN_PLACE_RESTORE_TAG.key}=${IN_PLACE_RESTORE_TAG.value} tag (aws:ResourceTag).`, `Resource::${nagRendering(fn, resource)}`);
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { SnapshotInfo } from '../contracts';
import { Ec2ApiError, Ec2ErrorCode } from './errors';
import type { Ec2Model } from './model';
import {
  checkFilterNames,
  filters,
  list,
  matchesFilters,
  optional,
  optionalBool,
  optionalInt,
  required,
  tagKeys,
  tags,
  tagSpecifications,
  type QueryFilter,
} from './query';
import { INSTANCE_STATE_CODES, type InstanceRecord, type InstanceStateName, type VolumeAttachment, type VolumeRecord } from './records';
import { errorResponse, itemSet, leaf, node, response } from './xml';

/** HTTP status of a successful EC2 answer. */
const HTTP_OK = 200;
/** EC2 answers a DryRun that would have succeeded with 412 and `DryRunOperation`. */
const HTTP_DRY_RUN = 412;
/** Anything that is not an {@link Ec2ApiError} is our bug: EC2 calls that InternalError (500). */
const HTTP_INTERNAL_ERROR = 500;

/** DescribeSnapshots MaxResults bounds, as EC2 enforces them. */
const DESCRIBE_SNAPSHOTS_MIN_RESULTS = 5;
const DESCRIBE_SNAPSHOTS_MAX_RESULTS = 1_000;

/** What the emulated instances report as their image: there are no AMIs in our subset. */
const EMULATED_IMAGE_ID = 'ami-00000000000000000';

/** The account every emulated resource belongs to (the store's snapshot owner). */
const EMULATED_ACCOUNT_ID = '111122223333';

/** The model a request acts on. */
export interface Ec2Context {
  model: Ec2Model;
}

/** An EC2 answer for the HTTP server: status and XML body. */
export interface Ec2Answer {
  status: number;
  body: string;
}

type ActionHandler = (model: Ec2Model, params: URLSearchParams, requestId: string) => Promise<string>;

const VOLUME_FILTERS = [
  'volume-id', 'status', 'availability-zone', 'size', 'snapshot-id', 'volume-type', 'encrypted', 'create-time',
  'attachment.instance-id', 'attachment.device', 'attachment.status', 'attachment.attach-time',
] as const;
const SNAPSHOT_FILTERS = [
  'snapshot-id', 'volume-id', 'status', 'owner-id', 'description', 'encrypted', 'progress', 'volume-size', 'start-time',
] as const;
const INSTANCE_FILTERS = [
  'instance-id', 'instance-state-name', 'instance-state-code', 'availability-zone', 'instance-type', 'reservation-id',
  'root-device-name', 'block-device-mapping.volume-id', 'block-device-mapping.device-name',
] as const;

/** The actions of our subset. */
const ACTIONS: Record<string, ActionHandler> = {
  async CreateVolume(model, params, requestId) {
    const volume = await model.createVolume({
      availabilityZone: required(params, 'AvailabilityZone'),
      size: optionalInt(params, 'Size'),
      snapshotId: optional(params, 'SnapshotId'),
      volumeType: optional(params, 'VolumeType'),
      iops: optionalInt(params, 'Iops'),
      throughput: optionalInt(params, 'Throughput'),
      encrypted: optionalBool(params, 'Encrypted'),
      kmsKeyId: optional(params, 'KmsKeyId'),
      tags: tagSpecifications(params, 'volume'),
    });
    return response('CreateVolume', requestId, volumeXml(volume));
  },

  async DescribeVolumes(model, params, requestId) {
    const queryFilters = filters(params);
    checkFilterNames(queryFilters, VOLUME_FILTERS);
    const volumes = model.describeVolumes(list(params, 'VolumeId')).filter((volume) => volumeMatches(volume, queryFilters));
    return response('DescribeVolumes', requestId, itemSet('volumeSet', volumes.map(volumeXml)));
  },

  async DeleteVolume(model, params, requestId) {
    await model.deleteVolume(required(params, 'VolumeId'));
    return response('DeleteVolume', requestId, leaf('return', true));
  },

  async CreateSnapshot(model, params, requestId) {
    const snapshot = await model.createSnapshot(required(params, 'VolumeId'), {
      description: optional(params, 'Description'),
      tags: tagSpecifications(params, 'snapshot'),
    });
    return response('CreateSnapshot', requestId, snapshotXml(snapshot));
  },

  async DescribeSnapshots(model, params, requestId) {
    const snapshotIds = list(params, 'SnapshotId');
    const owners = list(params, 'Owner');
    const queryFilters = filters(params);
    checkFilterNames(queryFilters, SNAPSHOT_FILTERS);
    const maxResults = optionalInt(params, 'MaxResults');
    if (maxResults !== undefined && snapshotIds.length > 0) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterCombination, 'The parameter snapshotSet cannot be used with the parameter maxResults');
    }
    if (maxResults !== undefined && (maxResults < DESCRIBE_SNAPSHOTS_MIN_RESULTS || maxResults > DESCRIBE_SNAPSHOTS_MAX_RESULTS)) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Value (${maxResults}) for parameter maxResults is invalid. Expect a value between ${DESCRIBE_SNAPSHOTS_MIN_RESULTS} and ${DESCRIBE_SNAPSHOTS_MAX_RESULTS}.`);
    }
    const store = model.store;
    const all = snapshotIds.length === 0
      ? store.listSnapshots()
      : snapshotIds.map((snapshotId) => {
        const info = store.getSnapshot(snapshotId);
        if (info === undefined) {
          throw new Ec2ApiError(Ec2ErrorCode.snapshotNotFound, `The snapshot '${snapshotId}' does not exist.`, { snapshotId });
        }
        return info;
      });
    const matching = all
      .filter((snapshot) => owners.length === 0 || owners.some((owner) => owner === 'self' || owner === snapshot.ownerId))
      .filter((snapshot) => snapshotMatches(snapshot, queryFilters))
      .sort((a, b) => a.startTime.localeCompare(b.startTime) || a.snapshotId.localeCompare(b.snapshotId));
    const start = pageStart(optional(params, 'NextToken'), matching.length);
    const end = maxResults === undefined ? matching.length : start + maxResults;
    const page = matching.slice(start, end);
    const nextToken = end < matching.length ? pageToken(end) : undefined;
    return response('DescribeSnapshots', requestId, itemSet('snapshotSet', page.map(snapshotXml)), leaf('nextToken', nextToken));
  },

  async DeleteSnapshot(model, params, requestId) {
    await model.deleteSnapshot(required(params, 'SnapshotId'));
    return response('DeleteSnapshot', requestId, leaf('return', true));
  },

  async CreateTags(model, params, requestId) {
    await model.createTags(nonEmptyList(params, 'ResourceId'), tags(params));
    return response('CreateTags', requestId, leaf('return', true));
  },

  async DeleteTags(model, params, requestId) {
    await model.deleteTags(nonEmptyList(params, 'ResourceId'), tagKeys(params));
    return response('DeleteTags', requestId, leaf('return', true));
  },

  async DescribeInstances(model, params, requestId) {
    const queryFilters = filters(params);
    checkFilterNames(queryFilters, INSTANCE_FILTERS);
    const instances = model.describeInstances(list(params, 'InstanceId'));
    const reservations = instances
      .map((instance) => ({ instance, volumes: model.attachedVolumes(instance.instanceId) }))
      .filter(({ instance, volumes }) => instanceMatches(instance, volumes, queryFilters))
      .map(({ instance, volumes }) => reservationXml(instance, volumes));
    return response('DescribeInstances', requestId, itemSet('reservationSet', reservations));
  },

  async StopInstances(model, params, requestId) {
    const changes = await model.stopInstances(nonEmptyList(params, 'InstanceId'));
    return response('StopInstances', requestId, itemSet('instancesSet', changes.map(stateChangeXml)));
  },

  async StartInstances(model, params, requestId) {
    const changes = await model.startInstances(nonEmptyList(params, 'InstanceId'));
    return response('StartInstances', requestId, itemSet('instancesSet', changes.map(stateChangeXml)));
  },

  async AttachVolume(model, params, requestId) {
    const attachment = await model.attachVolume({
      volumeId: required(params, 'VolumeId'),
      instanceId: required(params, 'InstanceId'),
      device: required(params, 'Device'),
    });
    return response('AttachVolume', requestId, attachmentXml(attachment.volumeId, attachment, attachment.state));
  },

  async DetachVolume(model, params, requestId) {
    const attachment = await model.detachVolume({
      volumeId: required(params, 'VolumeId'),
      instanceId: optional(params, 'InstanceId'),
      device: optional(params, 'Device'),
      force: optionalBool(params, 'Force'),
    });
    return response('DetachVolume', requestId, attachmentXml(attachment.volumeId, attachment, attachment.state));
  },
};

/**
 * Answers one EC2 Query request (the form-encoded body of `POST /`) as EC2 would: the action's
 * XML on success, EC2's `<Response><Errors>…` document otherwise, so `@aws-sdk/client-ec2`
 * raises exceptions named after the EC2 error codes.
 */
export async function handleEc2Request(ctx: Ec2Context, params: URLSearchParams): Promise<Ec2Answer> {
  const requestId = randomUUID();
  try {
    const action = params.get('Action');
    if (action === null) throw new Ec2ApiError('MissingAction', 'The request must contain the parameter Action');
    const handler = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (handler === undefined) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidAction, `The action ${action} is not valid for this web service.`);
    }
    if (optionalBool(params, 'DryRun') === true) {
      throw new Ec2ApiError(Ec2ErrorCode.dryRun, 'Request would have succeeded, but DryRun flag is set.', { httpStatus: HTTP_DRY_RUN });
    }
    return { status: HTTP_OK, body: await handler(ctx.model, params, requestId) };
  } catch (error) {
    if (error instanceof Ec2ApiError) {
      return { status: error.httpStatus, body: errorResponse(error.code, error.message, requestId) };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { status: HTTP_INTERNAL_ERROR, body: errorResponse('InternalError', message, requestId) };
  }
}

// ---------------------------------------------------------------- filters

function volumeMatches(volume: VolumeRecord, queryFilters: QueryFilter[]): boolean {
  return matchesFilters(queryFilters, volume.tags, (name) => {
    switch (name) {
      case 'volume-id': return [volume.volumeId];
      case 'status': return [volume.state];
      case 'availability-zone': return [volume.availabilityZone];
      case 'size': return [String(volume.size)];
      case 'snapshot-id': return [volume.snapshotId ?? ''];
      case 'volume-type': return [volume.volumeType];
      case 'encrypted': return [String(volume.encrypted)];
      case 'create-time': return [volume.createTime];
      case 'attachment.instance-id': return [volume.attachment?.instanceId];
      case 'attachment.device': return [volume.attachment?.device];
      case 'attachment.status': return [volume.attachment === undefined ? undefined : 'attached'];
      case 'attachment.attach-time': return [volume.attachment?.attachTime];
      default: return undefined;
    }
  });
}

function snapshotMatches(snapshot: SnapshotInfo, queryFilters: QueryFilter[]): boolean {
  return matchesFilters(queryFilters, snapshot.tags, (name) => {
    switch (name) {
      case 'snapshot-id': return [snapshot.snapshotId];
      case 'volume-id': return [snapshot.volumeId];
      case 'status': return [snapshot.state];
      case 'owner-id': return [snapshot.ownerId];
      case 'description': return [snapshot.description];
      case 'encrypted': return [String(snapshot.encrypted)];
      case 'progress': return [`${snapshot.progress}%`];
      case 'volume-size': return [String(snapshot.volumeSize)];
      case 'start-time': return [snapshot.startTime];
      default: return undefined;
    }
  });
}

function instanceMatches(instance: InstanceRecord, volumes: VolumeRecord[], queryFilters: QueryFilter[]): boolean {
  return matchesFilters(queryFilters, instance.tags, (name) => {
    switch (name) {
      case 'instance-id': return [instance.instanceId];
      case 'instance-state-name': return [instance.state];
      case 'instance-state-code': return [String(INSTANCE_STATE_CODES[instance.state])];
      case 'availability-zone': return [instance.availabilityZone];
      case 'instance-type': return [instance.instanceType];
      case 'reservation-id': return [instance.reservationId];
      case 'root-device-name': return [instance.rootDeviceName];
      case 'block-device-mapping.volume-id': return volumes.map((volume) => volume.volumeId);
      case 'block-device-mapping.device-name': return volumes.map((volume) => volume.attachment?.device);
      default: return undefined;
    }
  });
}

// ---------------------------------------------------------------- XML shapes

function tagSetXml(resourceTags: Array<{ Key: string; Value: string }>): string {
  if (resourceTags.length === 0) return '';
  return itemSet('tagSet', resourceTags.map((tag) => leaf('key', tag.Key) + leaf('value', tag.Value)));
}

function volumeXml(volume: VolumeRecord): string {
  const attachments = volume.attachment === undefined ? [] : [attachmentXml(volume.volumeId, volume.attachment, 'attached')];
  return [
    leaf('volumeId', volume.volumeId),
    leaf('size', volume.size),
    leaf('snapshotId', volume.snapshotId ?? ''),
    leaf('availabilityZone', volume.availabilityZone),
    leaf('status', volume.state),
    leaf('createTime', volume.createTime),
    itemSet('attachmentSet', attachments),
    tagSetXml(volume.tags),
    leaf('volumeType', volume.volumeType),
    leaf('iops', volume.iops),
    leaf('throughput', volume.throughput),
    leaf('encrypted', volume.encrypted),
    leaf('kmsKeyId', volume.kmsKeyId),
    leaf('multiAttachEnabled', false),
  ].join('');
}

function attachmentXml(volumeId: string, attachment: VolumeAttachment, state: 'attached' | 'detached'): string {
  return [
    leaf('volumeId', volumeId),
    leaf('instanceId', attachment.instanceId),
    leaf('device', attachment.device),
    leaf('status', state),
    leaf('attachTime', attachment.attachTime),
    leaf('deleteOnTermination', attachment.deleteOnTermination),
  ].join('');
}

function snapshotXml(snapshot: SnapshotInfo): string {
  return [
    leaf('snapshotId', snapshot.snapshotId),
    leaf('volumeId', snapshot.volumeId),
    leaf('status', snapshot.state),
    leaf('statusMessage', snapshot.stateMessage),
    leaf('startTime', snapshot.startTime),
    leaf('progress', `${snapshot.progress}%`),
    leaf('ownerId', snapshot.ownerId),
    leaf('volumeSize', snapshot.volumeSize),
    leaf('description', snapshot.description ?? ''),
    leaf('encrypted', snapshot.encrypted),
    leaf('kmsKeyId', snapshot.kmsKeyId),
    leaf('storageTier', 'standard'),
    tagSetXml(snapshot.tags),
  ].join('');
}

function stateXml(name: string, state: InstanceStateName): string {
  return node(name, leaf('code', INSTANCE_STATE_CODES[state]), leaf('name', state));
}

function stateChangeXml(change: { instanceId: string; previousState: InstanceStateName; currentState: InstanceStateName }): string {
  return leaf('instanceId', change.instanceId) + stateXml('currentState', change.currentState) + stateXml('previousState', change.previousState);
}

function reservationXml(instance: InstanceRecord, volumes: VolumeRecord[]): string {
  const mappings = volumes.flatMap((volume) => {
    const attachment = volume.attachment;
    if (attachment === undefined) return [];
    return [leaf('deviceName', attachment.device) + node('ebs',
      leaf('volumeId', volume.volumeId),
      leaf('status', 'attached'),
      leaf('attachTime', attachment.attachTime),
      leaf('deleteOnTermination', attachment.deleteOnTermination),
    )];
  });
  const instanceXml = [
    leaf('instanceId', instance.instanceId),
    leaf('imageId', EMULATED_IMAGE_ID),
    stateXml('instanceState', instance.state),
    leaf('instanceType', instance.instanceType),
    leaf('launchTime', instance.launchTime),
    node('placement', leaf('availabilityZone', instance.availabilityZone), leaf('tenancy', 'default')),
    leaf('rootDeviceType', 'ebs'),
    leaf('rootDeviceName', instance.rootDeviceName),
    itemSet('blockDeviceMapping', mappings),
    tagSetXml(instance.tags),
  ].join('');
  return [
    leaf('reservationId', instance.reservationId),
    leaf('ownerId', EMULATED_ACCOUNT_ID),
    itemSet('instancesSet', [instanceXml]),
  ].join('');
}

// ---------------------------------------------------------------- helpers

function nonEmptyList(params: URLSearchParams, prefix: string): string[] {
  const values = list(params, prefix);
  if (values.length === 0) throw new Ec2ApiError(Ec2ErrorCode.missingParameter, `The request must contain the parameter ${prefix}`);
  return values;
}

/** Page tokens are opaque to callers; an offset is enough for a single-process emulator. */
function pageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function pageStart(token: string | undefined, total: number): number {
  if (token === undefined) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 && offset <= total) return offset;
  } catch {
    // fall through: EC2 rejects what it did not issue
  }
  throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, 'The token is invalid');
}

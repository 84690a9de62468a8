/**
 * The EC2 API rules of the model: limits, defaults, which request is refused with which EC2
 * error code, and how ids are looked up. No state of its own: the facade and the lifecycle
 * share one copy of every rule.
 */
import { BLOCK_SIZE, volumeBlocks } from '../../../../shared/core/constants';
import type { SnapshotInfo, SnapshotStorePort, Tag } from '../../contracts';
import { Ec2ApiError, Ec2ErrorCode } from '../errors';
import type { InstanceRecord, InstanceStateName, VolumeAttachment, VolumeRecord, VolumeType } from '../records';
import type { VolumeEntry } from './state';

/** Largest volume EC2 creates (io2 Block Express), in GiB; also the EBS direct API limit. */
const MAX_VOLUME_SIZE_GIB = 65_536;

/** Volume types EC2 accepts; `gp2` is EC2's default when none is given. */
const VOLUME_TYPES: readonly VolumeType[] = ['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'];
const DEFAULT_VOLUME_TYPE: VolumeType = 'gp2';

/** gp3 baseline that EC2 reports when the caller gives none. */
export const GP3_DEFAULT_IOPS = 3_000;
export const GP3_DEFAULT_THROUGHPUT_MIBPS = 125;

/** Availability Zone names as EC2 spells them (`us-east-1a`); anything else is InvalidZone.NotFound. */
const AVAILABILITY_ZONE_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/;

/** Device names AttachVolume accepts (`/dev/sdf`, `/dev/xvdb`). */
const DEVICE_NAME_PATTERN = /^\/dev\/[a-z0-9]+$/;

/** Size of a volume in bytes. */
export function volumeBytes(record: VolumeRecord): number {
  return record.size * volumeBlocks(1) * BLOCK_SIZE;
}

// ---------------------------------------------------------------- lookups

/** The volume, or InvalidVolume.NotFound. */
export function findVolume(volumes: ReadonlyMap<string, VolumeEntry>, volumeId: string): VolumeEntry {
  const entry = volumes.get(volumeId);
  if (entry === undefined) {
    throw new Ec2ApiError(Ec2ErrorCode.volumeNotFound, `The volume '${volumeId}' does not exist.`, { volumeId });
  }
  return entry;
}

/** The instance, or InvalidInstanceID.NotFound. */
export function findInstance(instances: ReadonlyMap<string, InstanceRecord>, instanceId: string): InstanceRecord {
  const instance = instances.get(instanceId);
  if (instance === undefined) {
    throw new Ec2ApiError(Ec2ErrorCode.instanceNotFound, `The instance ID '${instanceId}' does not exist`);
  }
  return instance;
}

/** The snapshot, or InvalidSnapshot.NotFound. */
export function findSnapshot(store: SnapshotStorePort, snapshotId: string): SnapshotInfo {
  const info = store.getSnapshot(snapshotId);
  if (info === undefined) {
    throw new Ec2ApiError(Ec2ErrorCode.snapshotNotFound, `The snapshot '${snapshotId}' does not exist.`, { snapshotId });
  }
  return info;
}

/** A snapshot a volume can be created from: it must be completed (IncorrectState otherwise). */
export function findCompletedSnapshot(store: SnapshotStorePort, snapshotId: string): SnapshotInfo {
  const info = findSnapshot(store, snapshotId);
  if (info.state !== 'completed') {
    throw new Ec2ApiError(Ec2ErrorCode.incorrectState, `Snapshot '${snapshotId}' is in state '${info.state}'`, { snapshotId });
  }
  return info;
}

/** The tag holder of a volume or instance id; any other prefix is InvalidID. */
export function findTaggable(
  volumes: ReadonlyMap<string, VolumeEntry>,
  instances: ReadonlyMap<string, InstanceRecord>,
  resourceId: string,
): { tags: Tag[] } {
  if (resourceId.startsWith('vol-')) return findVolume(volumes, resourceId).record;
  if (resourceId.startsWith('i-')) return findInstance(instances, resourceId);
  throw new Ec2ApiError(Ec2ErrorCode.invalidId, `The ID '${resourceId}' is not valid`);
}

// ---------------------------------------------------------------- volumes

/** Any Availability Zone of the right shape exists. */
export function checkZone(availabilityZone: string): void {
  if (!AVAILABILITY_ZONE_PATTERN.test(availabilityZone)) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidZone, `The zone '${availabilityZone}' does not exist.`);
  }
}

/**
 * CreateVolume's size and type rules (the zone and the source snapshot are checked before):
 * returns the size, defaulted to the snapshot's, and the volume type, defaulted to gp2.
 */
export function checkNewVolume(
  args: { size?: number; volumeType?: string; iops?: number },
  source: SnapshotInfo | undefined,
): { size: number; volumeType: VolumeType } {
  const size = args.size ?? source?.volumeSize;
  if (size === undefined) {
    throw new Ec2ApiError(Ec2ErrorCode.missingParameter, 'The request must contain the parameter size/snapshot');
  }
  if (!Number.isInteger(size) || size < 1 || size > MAX_VOLUME_SIZE_GIB) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Volume size ${size} GiB is outside 1–${MAX_VOLUME_SIZE_GIB}`);
  }
  if (source !== undefined && size < source.volumeSize) {
    throw new Ec2ApiError(
      Ec2ErrorCode.invalidParameterValue,
      `Volume of ${size}GiB is too small; minimum is ${source.volumeSize}GiB`,
      { snapshotId: source.snapshotId },
    );
  }
  const volumeType = volumeTypeOf(args.volumeType);
  if ((volumeType === 'io1' || volumeType === 'io2') && args.iops === undefined) {
    throw new Ec2ApiError(Ec2ErrorCode.missingParameter, `The parameter iops must be specified for ${volumeType} volumes.`);
  }
  return { size, volumeType };
}

function volumeTypeOf(requested: string | undefined): VolumeType {
  if (requested === undefined) return DEFAULT_VOLUME_TYPE;
  const known = VOLUME_TYPES.find((type) => type === requested);
  if (known === undefined) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Value (${requested}) for parameter volumeType is invalid.`);
  }
  return known;
}

/** IncorrectState for a volume whose state does not allow the request. */
export function incorrectVolumeState(record: VolumeRecord): never {
  throw new Ec2ApiError(Ec2ErrorCode.incorrectState, `Volume '${record.volumeId}' is in the '${record.state}' state.`, { volumeId: record.volumeId });
}

/** Writes and snapshots need a volume that is `available` or `in-use`. */
export function checkUsable(record: VolumeRecord): void {
  if (record.state !== 'available' && record.state !== 'in-use') incorrectVolumeState(record);
}

/** DeleteVolume: VolumeInUse while attached, IncorrectState unless `available`. */
export function checkDeletable(record: VolumeRecord): void {
  if (record.state === 'in-use') {
    throw new Ec2ApiError(Ec2ErrorCode.volumeInUse, `Volume ${record.volumeId} is currently attached to ${record.attachment?.instanceId}`, { volumeId: record.volumeId });
  }
  if (record.state !== 'available') incorrectVolumeState(record);
}

/** The block index lies inside the volume. */
export function checkBlockIndex(record: VolumeRecord, blockIndex: number): void {
  if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex >= volumeBlocks(record.size)) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Block ${blockIndex} is outside volume ${record.volumeId}`, { volumeId: record.volumeId, blockIndex });
  }
}

/** `writeBlock` takes exactly one block. */
export function checkBlockLength(record: VolumeRecord, blockIndex: number, data: Buffer): void {
  if (data.length !== BLOCK_SIZE) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `A block is ${BLOCK_SIZE} bytes, got ${data.length}`, { volumeId: record.volumeId, blockIndex });
  }
}

/** `writeBytes` stays inside the volume. */
export function checkByteRange(record: VolumeRecord, offset: number, length: number): void {
  const sizeBytes = volumeBytes(record);
  if (!Number.isInteger(offset) || offset < 0 || offset + length > sizeBytes) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Bytes [${offset}, ${offset + length}) are outside the volume (${sizeBytes} bytes)`, { volumeId: record.volumeId });
  }
}

// ---------------------------------------------------------------- instances and attachments

/** StopInstances / StartInstances: the instance is in the start state, on the way, or there already. */
export function checkTransitionable(
  instance: InstanceRecord,
  steps: { from: InstanceStateName; via: InstanceStateName; to: InstanceStateName },
): void {
  if (instance.state !== steps.from && instance.state !== steps.to && instance.state !== steps.via) {
    throw new Ec2ApiError(
      Ec2ErrorCode.incorrectInstanceState,
      `The instance '${instance.instanceId}' is not in a state from which it can be ${steps.to === 'stopped' ? 'stopped' : 'started'}.`,
    );
  }
}

/** AttachVolume needs an instance that is `running` or `stopped`. */
export function checkInstanceAcceptsVolumes(instance: InstanceRecord, volumeId: string): void {
  if (instance.state !== 'running' && instance.state !== 'stopped') {
    throw new Ec2ApiError(Ec2ErrorCode.incorrectInstanceState, `Instance '${instance.instanceId}' is not 'running' or 'stopped'.`, { volumeId });
  }
}

/**
 * The volume is `available`, in the instance's zone, and `device` is a valid device name that
 * `deviceTaken` (asked last) says is free on the instance.
 */
export function checkAttachable(record: VolumeRecord, instance: InstanceRecord, device: string, deviceTaken: () => boolean): void {
  if (record.state !== 'available') incorrectVolumeState(record);
  if (record.availabilityZone !== instance.availabilityZone) {
    throw new Ec2ApiError(
      Ec2ErrorCode.invalidVolumeZoneMismatch,
      `The volume '${record.volumeId}' is not in the same availability zone as instance '${instance.instanceId}'`,
      { volumeId: record.volumeId },
    );
  }
  if (!DEVICE_NAME_PATTERN.test(device)) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Value (${device}) for parameter device is invalid.`, { volumeId: record.volumeId });
  }
  if (deviceTaken()) {
    throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`, { volumeId: record.volumeId });
  }
}

/** DetachVolume: the volume is attached, and as given (instance and device, when named). Returns the attachment. */
export function checkAttachedAsGiven(record: VolumeRecord, args: { instanceId?: string; device?: string }): VolumeAttachment {
  const attachment = record.attachment;
  if (record.state !== 'in-use' || attachment === undefined) incorrectVolumeState(record);
  if ((args.instanceId !== undefined && args.instanceId !== attachment.instanceId) || (args.device !== undefined && args.device !== attachment.device)) {
    throw new Ec2ApiError(Ec2ErrorCode.attachmentNotFound, `Volume ${record.volumeId} is not attached as given`, { volumeId: record.volumeId });
  }
  return attachment;
}

/** DetachVolume of a root volume from an instance that is not stopped (without Force). */
export function rootVolumeBusy(volumeId: string, instanceId: string): Ec2ApiError {
  return new Ec2ApiError(Ec2ErrorCode.incorrectState, `Unable to detach root volume '${volumeId}' from instance '${instanceId}'`, { volumeId });
}

// ---------------------------------------------------------------- tags

/** CreateTags: a new value replaces the old one of the same key. */
export function mergeTags(current: Tag[], added: Tag[]): Tag[] {
  const merged = new Map(current.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) merged.set(tag.Key, tag.Value);
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

/** DeleteTags: a tag given with a value is removed only if its value matches. */
export function matchesTag(tag: Tag, gone: { Key: string; Value?: string }): boolean {
  return tag.Key === gone.Key && (gone.Value === undefined || gone.Value === tag.Value);
}

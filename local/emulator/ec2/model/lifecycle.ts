/**
 * State transitions of the EC2 model: a volume from a snapshot goes `creating` → `available`
 * once hydrated; CreateSnapshot hands the dirty set to the store and moves the volume's base;
 * instances go `running` → `stopping` → `stopped` and back through `pending`; attach and detach
 * complete at once.
 */
import { randomBytes } from 'node:crypto';
import { BLOCK_SIZE } from '../../../../shared/core/constants';
import type { Clock, SnapshotInfo, SnapshotStorePort, Tag } from '../../contracts';
import type { InstanceRecord, InstanceStateName, VolumeAttachment, VolumeRecord, VolumeType } from '../records';
import { isZeroBlock } from '../volume-storage';
import { diffAgainst, dirtyContent, fullContent, mapLimit, type ChangedBlocks } from './changes';
import { checkTransitionable, GP3_DEFAULT_IOPS, GP3_DEFAULT_THROUGHPUT_MIBPS } from './rules';
import type { VolumeEntry } from './state';

/** Characters of the hex part of EC2 ids (`vol-0123456789abcdef0`). */
const EC2_ID_HEX_CHARS = 17;

/** Device the emulated instances boot from (what Amazon Linux AMIs declare). */
export const ROOT_DEVICE_NAME = '/dev/xvda';

/** What DescribeInstances reports for our instances: the type is not modelled. */
const EMULATED_INSTANCE_TYPE = 't3.micro';

/** Result of StopInstances / StartInstances for one instance. */
export interface InstanceStateChange {
  instanceId: string;
  previousState: InstanceStateName;
  currentState: InstanceStateName;
}

/** A fresh EC2 id: `prefix-` and 17 hex digits. */
function newId(prefix: string): string {
  return `${prefix}-${randomBytes(EC2_ID_HEX_CHARS).toString('hex').slice(0, EC2_ID_HEX_CHARS)}`;
}

// ---------------------------------------------------------------- volumes and snapshots

/**
 * A new volume's metadata, from CreateVolume's checked arguments: `creating` when it comes
 * from `source` (until {@link hydrate} is done), else `available`; gp3 gets EC2's defaults.
 */
export function newVolumeRecord(
  args: { availabilityZone: string; iops?: number; throughput?: number; encrypted?: boolean; kmsKeyId?: string; tags?: Tag[] },
  checked: { size: number; volumeType: VolumeType },
  source: SnapshotInfo | undefined,
  createTime: string,
): VolumeRecord {
  const { size, volumeType } = checked;
  const encrypted = (args.encrypted ?? false) || (source?.encrypted ?? false);
  return {
    volumeId: newId('vol'),
    size,
    availabilityZone: args.availabilityZone,
    volumeType,
    iops: args.iops ?? (volumeType === 'gp3' ? GP3_DEFAULT_IOPS : undefined),
    throughput: args.throughput ?? (volumeType === 'gp3' ? GP3_DEFAULT_THROUGHPUT_MIBPS : undefined),
    encrypted,
    kmsKeyId: encrypted ? (args.kmsKeyId ?? source?.kmsKeyId) : undefined,
    snapshotId: source?.snapshotId,
    createTime,
    state: source === undefined ? 'available' : 'creating',
    tags: args.tags ?? [],
    baseSnapshotId: source?.snapshotId,
    dirtyRanges: [],
    unwrittenNoise: source?.encrypted ? { lineageId: source.lineageId, writtenRanges: [] } : undefined,
  };
}

/**
 * Copies the source snapshot's blocks into the new volume, then makes it usable. Unlisted
 * blocks stay zero, also for an encrypted snapshot, where AWS would show random bytes: filling
 * a sparse 1 TiB file with noise is not worth it (see README, "Not emulated").
 */
export async function hydrate(store: SnapshotStorePort, entry: VolumeEntry, save: () => Promise<void>): Promise<void> {
  const { record, storage } = entry;
  const sourceId = record.snapshotId;
  if (sourceId === undefined) return;
  const listed = store.listBlockIndexes(sourceId);
  for (const blockIndex of listed) entry.written?.add(blockIndex);
  await mapLimit(listed, async (blockIndex) => {
    const data = await store.readBlock(sourceId, blockIndex);
    if (data !== undefined && !isZeroBlock(data)) await storage.write(blockIndex * BLOCK_SIZE, data);
  });
  record.state = record.attachment === undefined ? 'available' : 'in-use';
  await save();
}

/**
 * CreateSnapshot, incremental: the store gets only the blocks that changed since the volume's
 * previous snapshot, which then becomes the volume's base. Run it serialized per volume. A
 * failed snapshot gives the dirty set back, so the next one still sees those writes.
 */
export async function snapshotVolume(
  store: SnapshotStorePort,
  entry: VolumeEntry,
  args: { description?: string; tags?: Tag[] },
  save: () => Promise<void>,
): Promise<SnapshotInfo> {
  const { record, storage } = entry;
  const base = record.baseSnapshotId === undefined ? undefined : store.getSnapshot(record.baseSnapshotId);
  const parent = base?.state === 'completed' ? base : undefined;
  // The dirty set describes the change from the base; without a usable base (deleted or
  // failed) only a full copy is right, unless the base was the empty volume.
  const baseLost = record.baseSnapshotId !== undefined && parent === undefined;
  const outside = await storage.writtenFromOutside();
  const since = await storage.stamp();
  const dirty = entry.dirty;
  entry.dirty = new Set();
  let info: SnapshotInfo;
  try {
    let changed: ChangedBlocks;
    if (outside || baseLost) {
      changed = parent === undefined ? await fullContent(storage) : await diffAgainst(store, storage, parent.snapshotId);
    } else {
      changed = await dirtyContent(store, storage, dirty, parent?.snapshotId);
    }
    info = await store.createSnapshotFromVolume({
      volumeId: record.volumeId,
      volumeSize: record.size,
      parentSnapshotId: parent?.snapshotId,
      changed,
      description: args.description,
      tags: args.tags ?? [],
      encrypted: record.encrypted,
      kmsKeyId: record.kmsKeyId,
    });
  } catch (error) {
    for (const blockIndex of dirty) entry.dirty.add(blockIndex);
    throw error;
  }
  if (outside) await storage.markReconciled(since);
  record.baseSnapshotId = info.snapshotId;
  await save();
  return info;
}

// ---------------------------------------------------------------- instances and attachments

/** A new `running` instance (our subset has no RunInstances); its root volume is attached by the caller. */
export function newInstanceRecord(args: { availabilityZone: string; tags?: Tag[] }, launchTime: string): InstanceRecord {
  return {
    instanceId: newId('i'),
    reservationId: newId('r'),
    availabilityZone: args.availabilityZone,
    state: 'running',
    launchTime,
    instanceType: EMULATED_INSTANCE_TYPE,
    rootDeviceName: ROOT_DEVICE_NAME,
    tags: args.tags ?? [],
  };
}

/** Completes a pending state transition whose time has come; true if the instance changed (save it). */
export function settleDue(instance: InstanceRecord, clock: Clock): boolean {
  if (instance.transition === undefined || clock.now() < instance.transition.at) return false;
  instance.state = instance.transition.to;
  instance.transition = undefined;
  return true;
}

/**
 * StopInstances / StartInstances on settled instances: all must be able to go, then each in
 * `steps.from` heads `via` towards `steps.to`, arriving `transitionMs` from now; the others stay.
 */
export function beginTransitions(
  instances: InstanceRecord[],
  steps: { from: InstanceStateName; via: InstanceStateName; to: InstanceStateName },
  clock: Clock,
  transitionMs: number,
): InstanceStateChange[] {
  for (const instance of instances) checkTransitionable(instance, steps);
  return instances.map((instance): InstanceStateChange => {
    const previousState = instance.state;
    if (previousState === steps.from) {
      instance.state = steps.via;
      instance.transition = { to: steps.to, at: clock.now() + transitionMs };
    }
    return { instanceId: instance.instanceId, previousState, currentState: instance.state };
  });
}

/** Attaches at once (no `attaching` state); the checks are the caller's. */
export function attach(entry: VolumeEntry, instance: InstanceRecord, device: string, attachTime: string): VolumeAttachment {
  const attachment: VolumeAttachment = {
    instanceId: instance.instanceId,
    device,
    attachTime,
    deleteOnTermination: false,
  };
  entry.record.attachment = attachment;
  entry.record.state = 'in-use';
  return attachment;
}

/** Detaches at once (no `detaching` state); the checks are the caller's. */
export function detach(entry: VolumeEntry): void {
  entry.record.attachment = undefined;
  entry.record.state = 'available';
}

/**
 * The EC2 model facade: every API call and workload method, wired from the parts beside it:
 * - `rules.ts`: limits, defaults, EC2 error codes, id lookups;
 * - `lifecycle.ts`: hydration, CreateSnapshot's flow, instance and attachment transitions;
 * - `changes.ts`: how CreateSnapshot finds the changed blocks;
 * - `state.ts`: volume entries, `state.json` and the volume files.
 */
import * as path from 'node:path';
import { BLOCK_SIZE } from '../../../../shared/core/constants';
import type { Clock, SnapshotInfo, SnapshotStorePort, Tag } from '../../contracts';
import { unwrittenEncryptedBlock } from '../../encryption';
import { Ec2ApiError, Ec2ErrorCode } from '../errors';
import type { InstanceRecord, InstanceStateName, VolumeAttachment, VolumeRecord } from '../records';
import { FileVolumeStorage, isZeroBlock } from '../volume-storage';
import {
  attach,
  beginTransitions,
  detach,
  hydrate,
  newInstanceRecord,
  newVolumeRecord,
  ROOT_DEVICE_NAME,
  settleDue,
  snapshotVolume,
  type InstanceStateChange,
} from './lifecycle';
import {
  checkAttachable,
  checkAttachedAsGiven,
  checkBlockIndex,
  checkBlockLength,
  checkByteRange,
  checkDeletable,
  checkInstanceAcceptsVolumes,
  checkNewVolume,
  checkUsable,
  checkZone,
  findCompletedSnapshot,
  findInstance,
  findSnapshot,
  findTaggable,
  findVolume,
  matchesTag,
  mergeTags,
  rootVolumeBusy,
} from './rules';
import { Ec2Persistence, serialize, volumeEntry, volumeView, type VolumeEntry } from './state';

export type { InstanceRecord, InstanceStateName, VolumeAttachment, VolumeRecord, VolumeState, VolumeType } from '../records';
export { ROOT_DEVICE_NAME, type InstanceStateChange } from './lifecycle';

/** Options of {@link Ec2Model.open}. */
export interface Ec2ModelOptions {
  store: SnapshotStorePort;
  /** Data directory; the model keeps its files under `<dataDir>/ec2/`. Undefined = in memory. */
  dataDir?: string;
  clock: Clock;
  /**
   * How long instances stay `stopping` / `pending` (emulator clock, ms). 0 = the next
   * DescribeInstances already shows `stopped` / `running`, as the SDK waiters expect.
   */
  instanceTransitionMs?: number;
}

/** Arguments of CreateVolume. */
export interface CreateVolumeArgs {
  availabilityZone: string;
  /** GiB; defaults to the snapshot's size. */
  size?: number;
  snapshotId?: string;
  volumeType?: string;
  iops?: number;
  throughput?: number;
  encrypted?: boolean;
  kmsKeyId?: string;
  tags?: Tag[];
}

/**
 * The EC2 half of the local cloud: volumes (metadata and data), instances and attachments.
 * Snapshots live in the shared {@link SnapshotStorePort}, so EC2 and the EBS direct APIs see
 * the same ones.
 *
 * @example
 * const model = await Ec2Model.open({ store, dataDir: '.ebs-cdp', clock: { now: Date.now } });
 * const volume = await model.createVolume({ availabilityZone: 'us-east-1a', size: 8 });
 * await model.writeBlock(volume.volumeId, 0, Buffer.alloc(BLOCK_SIZE, 1));
 * const snapshot = await model.createSnapshot(volume.volumeId, {});
 */
export class Ec2Model {
  private readonly volumes = new Map<string, VolumeEntry>();
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly persistence: Ec2Persistence;

  private constructor(
    readonly store: SnapshotStorePort,
    private readonly clock: Clock,
    ec2Dir: string | undefined,
    private readonly instanceTransitionMs: number,
  ) {
    this.persistence = new Ec2Persistence(ec2Dir, this.volumes, this.instances);
  }

  /** Opens the model: loads `<dataDir>/ec2/state.json` if present, or starts empty in memory. */
  static async open(options: Ec2ModelOptions): Promise<Ec2Model> {
    const ec2Dir = options.dataDir === undefined ? undefined : path.join(options.dataDir, 'ec2');
    const model = new Ec2Model(options.store, options.clock, ec2Dir, options.instanceTransitionMs ?? 0);
    const state = await model.persistence.load();
    if (state === undefined) return model;
    for (const record of state.volumes) {
      const entry = volumeEntry(record, await model.persistence.openStorage(record));
      model.volumes.set(record.volumeId, entry);
      // A crash during hydration: copying the source again is idempotent.
      if (record.state === 'creating') await serialize(entry, () => model.hydrate(entry));
    }
    for (const instance of state.instances) model.instances.set(instance.instanceId, instance);
    return model;
  }

  // ---------------------------------------------------------------- volumes

  /** CreateVolume: empty, or filled from a snapshot (`available` once its blocks are in place). */
  async createVolume(args: CreateVolumeArgs): Promise<VolumeRecord> {
    checkZone(args.availabilityZone);
    const source = args.snapshotId === undefined ? undefined : findCompletedSnapshot(this.store, args.snapshotId);
    const checked = checkNewVolume(args, source);
    const record = newVolumeRecord(args, checked, source, this.isoNow());
    const entry = volumeEntry(record, await this.persistence.openStorage(record));
    this.volumes.set(record.volumeId, entry);
    await this.persistence.save();
    if (source !== undefined) await serialize(entry, () => this.hydrate(entry));
    return volumeView(entry);
  }

  /** DescribeVolumes: the named volumes (all must exist), or all of them. */
  describeVolumes(volumeIds: string[] = []): VolumeRecord[] {
    const entries = volumeIds.length === 0 ? [...this.volumes.values()] : volumeIds.map((id) => this.volume(id));
    return entries.map((entry) => volumeView(entry));
  }

  /** One volume's metadata. */
  getVolume(volumeId: string): VolumeRecord {
    return volumeView(this.volume(volumeId));
  }

  /** DeleteVolume: only a volume that is not attached. Its file goes with it. */
  async deleteVolume(volumeId: string): Promise<void> {
    const entry = this.volume(volumeId);
    checkDeletable(entry.record);
    entry.record.state = 'deleting';
    await entry.queue.catch(() => undefined);
    this.volumes.delete(volumeId);
    await entry.storage.destroy();
    await this.persistence.save();
  }

  // ---------------------------------------------------------------- workload API

  /** Writes one whole block (BLOCK_SIZE bytes) as a workload on the instance would. */
  async writeBlock(volumeId: string, blockIndex: number, data: Buffer): Promise<void> {
    const entry = this.writableVolume(volumeId);
    checkBlockIndex(entry.record, blockIndex);
    checkBlockLength(entry.record, blockIndex, data);
    await this.writeAt(entry, blockIndex * BLOCK_SIZE, data);
  }

  /** Writes any byte range; every block it touches counts as changed. */
  async writeBytes(volumeId: string, offset: number, data: Buffer): Promise<void> {
    const entry = this.writableVolume(volumeId);
    checkByteRange(entry.record, offset, data.length);
    if (data.length === 0) return;
    await this.writeAt(entry, offset, data);
  }

  /** Discards one block (TRIM): it reads as zeros and is no longer allocated in the next snapshot. */
  async trimBlock(volumeId: string, blockIndex: number): Promise<void> {
    const entry = this.writableVolume(volumeId);
    checkBlockIndex(entry.record, blockIndex);
    await entry.storage.zeroBlock(blockIndex);
    this.markDirty(entry, blockIndex, blockIndex);
  }

  /**
   * Reads one block of the volume as it is now. On a volume created from an encrypted snapshot
   * a never-written block reads as random bytes, as on AWS (the sparse file shows zeros there:
   * filling it with noise would cost the whole volume's size on disk).
   */
  async readBlock(volumeId: string, blockIndex: number): Promise<Buffer> {
    const entry = this.volume(volumeId);
    checkBlockIndex(entry.record, blockIndex);
    const noise = entry.record.unwrittenNoise;
    if (noise !== undefined && entry.written !== undefined && !entry.written.has(blockIndex)) {
      const data = await entry.storage.readBlock(blockIndex);
      // A block an outside tool wrote (not seen by a scan yet) holds data: show it.
      return isZeroBlock(data) ? unwrittenEncryptedBlock(noise.lineageId, blockIndex) : data;
    }
    return entry.storage.readBlock(blockIndex);
  }

  /** The sparse file a person can `dd` into (file mode only). */
  volumePath(volumeId: string): string {
    const entry = this.volume(volumeId);
    if (!(entry.storage instanceof FileVolumeStorage)) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Volume ${volumeId} lives in memory: the model was opened without a data directory`, { volumeId });
    }
    return entry.storage.path;
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * CreateSnapshot, incremental: the store gets only the blocks that changed since the
   * volume's previous snapshot. Blocks written through the API are known from the dirty set
   * (cost ∝ what was written). If a tool wrote the file directly, the file is scanned for
   * non-zero blocks and those are compared with the previous snapshot.
   */
  async createSnapshot(volumeId: string, args: { description?: string; tags?: Tag[] }): Promise<SnapshotInfo> {
    const entry = this.volume(volumeId);
    checkUsable(entry.record);
    return serialize(entry, () => snapshotVolume(this.store, entry, args, () => this.persistence.save()));
  }

  /** DeleteSnapshot. */
  async deleteSnapshot(snapshotId: string): Promise<void> {
    findSnapshot(this.store, snapshotId);
    await this.store.deleteSnapshot(snapshotId);
  }

  // ---------------------------------------------------------------- tags

  /** CreateTags on volumes, snapshots and instances (a new value replaces the old one). */
  async createTags(resourceIds: string[], tags: Tag[]): Promise<void> {
    this.checkResourcesExist(resourceIds);
    for (const resourceId of resourceIds) {
      if (resourceId.startsWith('snap-')) {
        await this.store.setTags(resourceId, mergeTags(findSnapshot(this.store, resourceId).tags, tags));
      } else {
        const holder = findTaggable(this.volumes, this.instances, resourceId);
        holder.tags = mergeTags(holder.tags, tags);
      }
    }
    await this.persistence.save();
  }

  /** DeleteTags: a tag given with a value is removed only if its value matches. */
  async deleteTags(resourceIds: string[], tags: Array<{ Key: string; Value?: string }>): Promise<void> {
    this.checkResourcesExist(resourceIds);
    for (const resourceId of resourceIds) {
      if (resourceId.startsWith('snap-')) {
        const current = findSnapshot(this.store, resourceId).tags;
        const keys = current.filter((tag) => tags.some((gone) => matchesTag(tag, gone))).map((tag) => tag.Key);
        await this.store.deleteTags(resourceId, keys);
      } else {
        const holder = findTaggable(this.volumes, this.instances, resourceId);
        holder.tags = holder.tags.filter((tag) => !tags.some((gone) => matchesTag(tag, gone)));
      }
    }
    await this.persistence.save();
  }

  // ---------------------------------------------------------------- instances

  /**
   * Creates a running instance (our subset has no RunInstances), optionally booting from
   * `rootVolume`, which is attached at {@link ROOT_DEVICE_NAME}.
   */
  async createInstance(args: { availabilityZone: string; rootVolume?: string; tags?: Tag[] }): Promise<string> {
    checkZone(args.availabilityZone);
    const instance = newInstanceRecord(args, this.isoNow());
    if (args.rootVolume !== undefined) this.checkAttachable(this.volume(args.rootVolume), instance, ROOT_DEVICE_NAME);
    this.instances.set(instance.instanceId, instance);
    if (args.rootVolume !== undefined) attach(this.volume(args.rootVolume), instance, ROOT_DEVICE_NAME, this.isoNow());
    await this.persistence.save();
    return instance.instanceId;
  }

  /** DescribeInstances: the named instances (all must exist), or all of them. */
  describeInstances(instanceIds: string[] = []): InstanceRecord[] {
    const records = instanceIds.length === 0 ? [...this.instances.values()] : instanceIds.map((id) => this.instance(id));
    return records.map((instance) => ({ ...this.settle(instance), tags: [...instance.tags] }));
  }

  /** Volumes attached to an instance, as its block device mappings. */
  attachedVolumes(instanceId: string): VolumeRecord[] {
    return [...this.volumes.values()]
      .filter((entry) => entry.record.attachment?.instanceId === instanceId)
      .map((entry) => volumeView(entry))
      .sort((a, b) => (a.attachment?.device ?? '').localeCompare(b.attachment?.device ?? ''));
  }

  /** StopInstances: running → stopping → stopped. */
  async stopInstances(instanceIds: string[]): Promise<InstanceStateChange[]> {
    return this.transition(instanceIds, { from: 'running', via: 'stopping', to: 'stopped' });
  }

  /** StartInstances: stopped → pending → running. */
  async startInstances(instanceIds: string[]): Promise<InstanceStateChange[]> {
    return this.transition(instanceIds, { from: 'stopped', via: 'pending', to: 'running' });
  }

  /** AttachVolume: the volume must be `available` and in the instance's Availability Zone. */
  async attachVolume(args: { volumeId: string; instanceId: string; device: string }): Promise<VolumeAttachment & { volumeId: string; state: 'attached' }> {
    const entry = this.volume(args.volumeId);
    const instance = this.settle(this.instance(args.instanceId));
    checkInstanceAcceptsVolumes(instance, args.volumeId);
    this.checkAttachable(entry, instance, args.device);
    const attachment = attach(entry, instance, args.device, this.isoNow());
    await this.persistence.save();
    return { ...attachment, volumeId: args.volumeId, state: 'attached' };
  }

  /** DetachVolume: a root volume only from a stopped instance. */
  async detachVolume(args: { volumeId: string; instanceId?: string; device?: string; force?: boolean }): Promise<VolumeAttachment & { volumeId: string; state: 'detached' }> {
    const entry = this.volume(args.volumeId);
    const attachment = checkAttachedAsGiven(entry.record, args);
    const instance = this.instances.get(attachment.instanceId);
    if (instance !== undefined && attachment.device === instance.rootDeviceName && this.settle(instance).state !== 'stopped' && args.force !== true) {
      throw rootVolumeBusy(args.volumeId, instance.instanceId);
    }
    detach(entry);
    await this.persistence.save();
    return { ...attachment, volumeId: args.volumeId, state: 'detached' };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Saves metadata and closes the volume files. */
  close(): Promise<void> {
    return this.persistence.close();
  }

  // ---------------------------------------------------------------- internals

  private async writeAt(entry: VolumeEntry, offset: number, data: Buffer): Promise<void> {
    await entry.storage.write(offset, data);
    this.markDirty(entry, Math.floor(offset / BLOCK_SIZE), Math.floor((offset + data.length - 1) / BLOCK_SIZE));
  }

  private markDirty(entry: VolumeEntry, first: number, last: number): void {
    for (let blockIndex = first; blockIndex <= last; blockIndex += 1) {
      entry.dirty.add(blockIndex);
      entry.written?.add(blockIndex);
    }
    this.persistence.scheduleSave();
  }

  private hydrate(entry: VolumeEntry): Promise<void> {
    return hydrate(this.store, entry, () => this.persistence.save());
  }

  private transition(
    instanceIds: string[],
    steps: { from: InstanceStateName; via: InstanceStateName; to: InstanceStateName },
  ): Promise<InstanceStateChange[]> {
    const instances = instanceIds.map((id) => this.settle(this.instance(id)));
    const changes = beginTransitions(instances, steps, this.clock, this.instanceTransitionMs);
    return this.persistence.save().then(() => changes);
  }

  /** Completes a pending state transition whose time has come. */
  private settle(instance: InstanceRecord): InstanceRecord {
    if (settleDue(instance, this.clock)) this.persistence.scheduleSave();
    return instance;
  }

  private checkAttachable(entry: VolumeEntry, instance: InstanceRecord, device: string): void {
    checkAttachable(entry.record, instance, device, () =>
      [...this.volumes.values()].some((other) => other.record.attachment?.instanceId === instance.instanceId && other.record.attachment.device === device),
    );
  }

  /** CreateTags is all or nothing: check every resource before touching any. */
  private checkResourcesExist(resourceIds: string[]): void {
    for (const resourceId of resourceIds) {
      if (resourceId.startsWith('snap-')) findSnapshot(this.store, resourceId);
      else findTaggable(this.volumes, this.instances, resourceId);
    }
  }

  private volume(volumeId: string): VolumeEntry {
    return findVolume(this.volumes, volumeId);
  }

  private writableVolume(volumeId: string): VolumeEntry {
    const entry = this.volume(volumeId);
    checkUsable(entry.record);
    return entry;
  }

  private instance(instanceId: string): InstanceRecord {
    return findInstance(this.instances, instanceId);
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BLOCK_SIZE, volumeBlocks } from '../../../../shared/core/constants';
import type { BlockData, Clock, SnapshotInfo, SnapshotStorePort, Tag } from '../../contracts';
import { unwrittenEncryptedBlock } from '../../encryption';
import { Ec2ApiError, Ec2ErrorCode } from '../errors';
import {
  decodeBlockRanges,
  encodeBlockRanges,
  type InstanceRecord,
  type InstanceStateName,
  type PersistedState,
  type VolumeAttachment,
  type VolumeRecord,
  type VolumeType,
} from '../records';
import { FileVolumeStorage, isZeroBlock, MemoryVolumeStorage, type VolumeStorage } from '../volume-storage';

export type { InstanceRecord, InstanceStateName, VolumeAttachment, VolumeRecord, VolumeState, VolumeType } from '../records';

/** Largest volume EC2 creates (io2 Block Express), in GiB; also the EBS direct API limit. */
const MAX_VOLUME_SIZE_GIB = 65_536;

/** Volume types EC2 accepts; `gp2` is EC2's default when none is given. */
const VOLUME_TYPES: readonly VolumeType[] = ['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'];
const DEFAULT_VOLUME_TYPE: VolumeType = 'gp2';

/** gp3 baseline that EC2 reports when the caller gives none. */
const GP3_DEFAULT_IOPS = 3_000;
const GP3_DEFAULT_THROUGHPUT_MIBPS = 125;

/** Device the emulated instances boot from (what Amazon Linux AMIs declare). */
export const ROOT_DEVICE_NAME = '/dev/xvda';

/** What DescribeInstances reports for our instances: the type is not modelled. */
const EMULATED_INSTANCE_TYPE = 't3.micro';

/** Characters of the hex part of EC2 ids (`vol-0123456789abcdef0`). */
const EC2_ID_HEX_CHARS = 17;

/** Availability Zone names as EC2 spells them (`us-east-1a`); anything else is InvalidZone.NotFound. */
const AVAILABILITY_ZONE_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/;

/**
 * Delay before the emulator saves metadata after block writes: a workload writing thousands of
 * blocks costs a handful of saves, not one per block. Safe because the volume file's mtime marker
 * is only set after the save (see volume-storage.ts): a crash in between makes the next snapshot
 * scan the file rather than trust a dirty set that lost writes.
 */
const SAVE_DEBOUNCE_MS = 100;

/** Blocks hydrated or compared at once: enough to overlap store reads with file writes. */
const BLOCK_IO_CONCURRENCY = 8;

/** Metadata layout version in `state.json`. */
const STATE_FORMAT = 1;

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

/** Result of StopInstances / StartInstances for one instance. */
export interface InstanceStateChange {
  instanceId: string;
  previousState: InstanceStateName;
  currentState: InstanceStateName;
}

interface VolumeEntry {
  record: VolumeRecord;
  storage: VolumeStorage;
  /** Blocks written through the API since `record.baseSnapshotId` (or since creation). */
  dirty: Set<number>;
  /** Only for a volume created from an encrypted snapshot: blocks that hold real data (see `unwrittenNoise`). */
  written?: Set<number>;
  /** Serializes snapshots and hydration of this volume. */
  queue: Promise<unknown>;
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
  private saveChain: Promise<void> = Promise.resolve();
  private saveTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly store: SnapshotStorePort,
    private readonly clock: Clock,
    private readonly ec2Dir: string | undefined,
    private readonly instanceTransitionMs: number,
  ) {}

  /** Opens the model: loads `<dataDir>/ec2/state.json` if present, or starts empty in memory. */
  static async open(options: Ec2ModelOptions): Promise<Ec2Model> {
    const ec2Dir = options.dataDir === undefined ? undefined : path.join(options.dataDir, 'ec2');
    const model = new Ec2Model(
      options.store,
      options.clock,
      ec2Dir,
      options.instanceTransitionMs ?? 0,
    );
    if (ec2Dir !== undefined) await model.load(ec2Dir);
    return model;
  }

  // ---------------------------------------------------------------- volumes

  /** CreateVolume: empty, or filled from a snapshot (`available` once its blocks are in place). */
  async createVolume(args: CreateVolumeArgs): Promise<VolumeRecord> {
    this.checkZone(args.availabilityZone);
    const source = args.snapshotId === undefined ? undefined : this.completedSnapshot(args.snapshotId);
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
    const volumeType = this.volumeType(args.volumeType);
    if ((volumeType === 'io1' || volumeType === 'io2') && args.iops === undefined) {
      throw new Ec2ApiError(Ec2ErrorCode.missingParameter, `The parameter iops must be specified for ${volumeType} volumes.`);
    }
    const encrypted = (args.encrypted ?? false) || (source?.encrypted ?? false);
    const record: VolumeRecord = {
      volumeId: newId('vol'),
      size,
      availabilityZone: args.availabilityZone,
      volumeType,
      iops: args.iops ?? (volumeType === 'gp3' ? GP3_DEFAULT_IOPS : undefined),
      throughput: args.throughput ?? (volumeType === 'gp3' ? GP3_DEFAULT_THROUGHPUT_MIBPS : undefined),
      encrypted,
      kmsKeyId: encrypted ? (args.kmsKeyId ?? source?.kmsKeyId) : undefined,
      snapshotId: source?.snapshotId,
      createTime: this.isoNow(),
      state: source === undefined ? 'available' : 'creating',
      tags: args.tags ?? [],
      baseSnapshotId: source?.snapshotId,
      dirtyRanges: [],
      unwrittenNoise: source?.encrypted ? { lineageId: source.lineageId, writtenRanges: [] } : undefined,
    };
    const entry: VolumeEntry = {
      record,
      storage: await this.openStorage(record),
      dirty: new Set(),
      written: source?.encrypted ? new Set() : undefined,
      queue: Promise.resolve(),
    };
    this.volumes.set(record.volumeId, entry);
    await this.save();
    if (source !== undefined) await this.serialize(entry, () => this.hydrate(entry));
    return this.volumeView(entry);
  }

  /** DescribeVolumes: the named volumes (all must exist), or all of them. */
  describeVolumes(volumeIds: string[] = []): VolumeRecord[] {
    const entries = volumeIds.length === 0 ? [...this.volumes.values()] : volumeIds.map((id) => this.volume(id));
    return entries.map((entry) => this.volumeView(entry));
  }

  /** One volume's metadata. */
  getVolume(volumeId: string): VolumeRecord {
    return this.volumeView(this.volume(volumeId));
  }

  /** DeleteVolume: only a volume that is not attached. Its file goes with it. */
  async deleteVolume(volumeId: string): Promise<void> {
    const entry = this.volume(volumeId);
    if (entry.record.state === 'in-use') {
      throw new Ec2ApiError(Ec2ErrorCode.volumeInUse, `Volume ${volumeId} is currently attached to ${entry.record.attachment?.instanceId}`, { volumeId });
    }
    if (entry.record.state !== 'available') this.incorrectVolumeState(entry);
    entry.record.state = 'deleting';
    await entry.queue.catch(() => undefined);
    this.volumes.delete(volumeId);
    await entry.storage.destroy();
    await this.save();
  }

  // ---------------------------------------------------------------- workload API

  /** Writes one whole block (BLOCK_SIZE bytes) as a workload on the instance would. */
  async writeBlock(volumeId: string, blockIndex: number, data: Buffer): Promise<void> {
    const entry = this.writableVolume(volumeId);
    this.checkBlockIndex(entry, blockIndex);
    if (data.length !== BLOCK_SIZE) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `A block is ${BLOCK_SIZE} bytes, got ${data.length}`, { volumeId, blockIndex });
    }
    await this.writeAt(entry, blockIndex * BLOCK_SIZE, data);
  }

  /** Writes any byte range; every block it touches counts as changed. */
  async writeBytes(volumeId: string, offset: number, data: Buffer): Promise<void> {
    const entry = this.writableVolume(volumeId);
    const sizeBytes = entry.record.size * volumeBlocks(1) * BLOCK_SIZE;
    if (!Number.isInteger(offset) || offset < 0 || offset + data.length > sizeBytes) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Bytes [${offset}, ${offset + data.length}) are outside the volume (${sizeBytes} bytes)`, { volumeId });
    }
    if (data.length === 0) return;
    await this.writeAt(entry, offset, data);
  }

  /** Discards one block (TRIM): it reads as zeros and is no longer allocated in the next snapshot. */
  async trimBlock(volumeId: string, blockIndex: number): Promise<void> {
    const entry = this.writableVolume(volumeId);
    this.checkBlockIndex(entry, blockIndex);
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
    this.checkBlockIndex(entry, blockIndex);
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
    if (entry.record.state !== 'available' && entry.record.state !== 'in-use') this.incorrectVolumeState(entry);
    return this.serialize(entry, async () => {
      const { record, storage } = entry;
      const base = record.baseSnapshotId === undefined ? undefined : this.store.getSnapshot(record.baseSnapshotId);
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
        let changed: Map<number, BlockData | null>;
        if (outside || baseLost) {
          changed = parent === undefined ? await this.fullContent(storage) : await this.diffAgainst(storage, parent.snapshotId);
        } else {
          changed = await this.dirtyContent(storage, dirty, parent?.snapshotId);
        }
        info = await this.store.createSnapshotFromVolume({
          volumeId,
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
      await this.save();
      return info;
    });
  }

  /** DeleteSnapshot. */
  async deleteSnapshot(snapshotId: string): Promise<void> {
    this.snapshot(snapshotId);
    await this.store.deleteSnapshot(snapshotId);
  }

  // ---------------------------------------------------------------- tags

  /** CreateTags on volumes, snapshots and instances (a new value replaces the old one). */
  async createTags(resourceIds: string[], tags: Tag[]): Promise<void> {
    this.checkResourcesExist(resourceIds);
    for (const resourceId of resourceIds) {
      if (resourceId.startsWith('snap-')) {
        await this.store.setTags(resourceId, mergeTags(this.snapshot(resourceId).tags, tags));
      } else {
        const holder = this.taggable(resourceId);
        holder.tags = mergeTags(holder.tags, tags);
      }
    }
    await this.save();
  }

  /** DeleteTags: a tag given with a value is removed only if its value matches. */
  async deleteTags(resourceIds: string[], tags: Array<{ Key: string; Value?: string }>): Promise<void> {
    this.checkResourcesExist(resourceIds);
    for (const resourceId of resourceIds) {
      if (resourceId.startsWith('snap-')) {
        const current = this.snapshot(resourceId).tags;
        const keys = current.filter((tag) => tags.some((gone) => matchesTag(tag, gone))).map((tag) => tag.Key);
        await this.store.deleteTags(resourceId, keys);
      } else {
        const holder = this.taggable(resourceId);
        holder.tags = holder.tags.filter((tag) => !tags.some((gone) => matchesTag(tag, gone)));
      }
    }
    await this.save();
  }

  // ---------------------------------------------------------------- instances

  /**
   * Creates a running instance (our subset has no RunInstances), optionally booting from
   * `rootVolume`, which is attached at {@link ROOT_DEVICE_NAME}.
   */
  async createInstance(args: { availabilityZone: string; rootVolume?: string; tags?: Tag[] }): Promise<string> {
    this.checkZone(args.availabilityZone);
    const instance: InstanceRecord = {
      instanceId: newId('i'),
      reservationId: newId('r'),
      availabilityZone: args.availabilityZone,
      state: 'running',
      launchTime: this.isoNow(),
      instanceType: EMULATED_INSTANCE_TYPE,
      rootDeviceName: ROOT_DEVICE_NAME,
      tags: args.tags ?? [],
    };
    if (args.rootVolume !== undefined) this.checkAttachable(this.volume(args.rootVolume), instance, ROOT_DEVICE_NAME);
    this.instances.set(instance.instanceId, instance);
    if (args.rootVolume !== undefined) this.attach(this.volume(args.rootVolume), instance, ROOT_DEVICE_NAME);
    await this.save();
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
      .map((entry) => this.volumeView(entry))
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
    if (instance.state !== 'running' && instance.state !== 'stopped') {
      throw new Ec2ApiError(Ec2ErrorCode.incorrectInstanceState, `Instance '${instance.instanceId}' is not 'running' or 'stopped'.`, { volumeId: args.volumeId });
    }
    this.checkAttachable(entry, instance, args.device);
    const attachment = this.attach(entry, instance, args.device);
    await this.save();
    return { ...attachment, volumeId: args.volumeId, state: 'attached' };
  }

  /** DetachVolume: a root volume only from a stopped instance. */
  async detachVolume(args: { volumeId: string; instanceId?: string; device?: string; force?: boolean }): Promise<VolumeAttachment & { volumeId: string; state: 'detached' }> {
    const entry = this.volume(args.volumeId);
    const attachment = entry.record.attachment;
    if (entry.record.state !== 'in-use' || attachment === undefined) this.incorrectVolumeState(entry);
    if ((args.instanceId !== undefined && args.instanceId !== attachment.instanceId) || (args.device !== undefined && args.device !== attachment.device)) {
      throw new Ec2ApiError(Ec2ErrorCode.attachmentNotFound, `Volume ${args.volumeId} is not attached as given`, { volumeId: args.volumeId });
    }
    const instance = this.instances.get(attachment.instanceId);
    if (instance !== undefined && attachment.device === instance.rootDeviceName && this.settle(instance).state !== 'stopped' && args.force !== true) {
      throw new Ec2ApiError(
        Ec2ErrorCode.incorrectState,
        `Unable to detach root volume '${args.volumeId}' from instance '${instance.instanceId}'`,
        { volumeId: args.volumeId },
      );
    }
    entry.record.attachment = undefined;
    entry.record.state = 'available';
    await this.save();
    return { ...attachment, volumeId: args.volumeId, state: 'detached' };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Saves metadata and closes the volume files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.volumes.values()].map((entry) => entry.queue.catch(() => undefined)));
    await this.save();
    for (const entry of this.volumes.values()) await entry.storage.close();
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
    this.scheduleSave();
  }

  /** Content of the blocks written since the base snapshot. */
  private async dirtyContent(storage: VolumeStorage, dirty: Set<number>, parentId: string | undefined): Promise<Map<number, BlockData | null>> {
    const changed = new Map<number, BlockData | null>();
    const blocks = [...dirty].sort((a, b) => a - b);
    const results = await mapLimit(blocks, async (blockIndex) => {
      const data = await storage.readBlock(blockIndex);
      if (!isZeroBlock(data)) return data;
      // A block that now reads as zeros is a change only if the parent held data there.
      return (await this.parentHoldsData(parentId, blockIndex)) ? null : undefined;
    });
    blocks.forEach((blockIndex, i) => {
      const result = results[i];
      if (result !== undefined) changed.set(blockIndex, result);
    });
    return changed;
  }

  /** Every non-zero block: the snapshot has no usable parent. */
  private async fullContent(storage: VolumeStorage): Promise<Map<number, BlockData | null>> {
    const blocks = await storage.nonZeroBlocks();
    const data = await mapLimit(blocks, (blockIndex) => storage.readBlock(blockIndex));
    return new Map(blocks.map((blockIndex, i) => [blockIndex, data[i]]));
  }

  /** Compares the whole volume with the parent snapshot: outside tools leave no dirty set. */
  private async diffAgainst(storage: VolumeStorage, parentId: string): Promise<Map<number, BlockData | null>> {
    const changed = new Map<number, BlockData | null>();
    const nonZero = await storage.nonZeroBlocks();
    const nonZeroSet = new Set(nonZero);
    const contents = await mapLimit(nonZero, async (blockIndex) => {
      const [data, before] = await Promise.all([storage.readBlock(blockIndex), this.store.readBlock(parentId, blockIndex)]);
      return before !== undefined && before.equals(data) ? undefined : data;
    });
    nonZero.forEach((blockIndex, i) => {
      const data = contents[i];
      if (data !== undefined) changed.set(blockIndex, data);
    });
    const cleared = this.store.listBlockIndexes(parentId).filter((blockIndex) => !nonZeroSet.has(blockIndex));
    const held = await mapLimit(cleared, (blockIndex) => this.parentHoldsData(parentId, blockIndex));
    cleared.forEach((blockIndex, i) => {
      if (held[i]) changed.set(blockIndex, null);
    });
    return changed;
  }

  private async parentHoldsData(parentId: string | undefined, blockIndex: number): Promise<boolean> {
    if (parentId === undefined) return false;
    const before = await this.store.readBlock(parentId, blockIndex);
    return before !== undefined && !isZeroBlock(before);
  }

  /**
   * Copies the source snapshot's blocks into the new volume. Unlisted blocks stay zero, also
   * for an encrypted snapshot, where AWS would show random bytes: filling a sparse 1 TiB file
   * with noise is not worth it (see README, "Not emulated").
   */
  private async hydrate(entry: VolumeEntry): Promise<void> {
    const { record, storage } = entry;
    const sourceId = record.snapshotId;
    if (sourceId === undefined) return;
    const listed = this.store.listBlockIndexes(sourceId);
    for (const blockIndex of listed) entry.written?.add(blockIndex);
    await mapLimit(listed, async (blockIndex) => {
      const data = await this.store.readBlock(sourceId, blockIndex);
      if (data !== undefined && !isZeroBlock(data)) await storage.write(blockIndex * BLOCK_SIZE, data);
    });
    record.state = record.attachment === undefined ? 'available' : 'in-use';
    await this.save();
  }

  private transition(
    instanceIds: string[],
    steps: { from: InstanceStateName; via: InstanceStateName; to: InstanceStateName },
  ): Promise<InstanceStateChange[]> {
    const instances = instanceIds.map((id) => this.settle(this.instance(id)));
    for (const instance of instances) {
      if (instance.state !== steps.from && instance.state !== steps.to && instance.state !== steps.via) {
        throw new Ec2ApiError(
          Ec2ErrorCode.incorrectInstanceState,
          `The instance '${instance.instanceId}' is not in a state from which it can be ${steps.to === 'stopped' ? 'stopped' : 'started'}.`,
        );
      }
    }
    const changes = instances.map((instance): InstanceStateChange => {
      const previousState = instance.state;
      if (previousState === steps.from) {
        instance.state = steps.via;
        instance.transition = { to: steps.to, at: this.clock.now() + this.instanceTransitionMs };
      }
      return { instanceId: instance.instanceId, previousState, currentState: instance.state };
    });
    return this.save().then(() => changes);
  }

  /** Completes a pending state transition whose time has come. */
  private settle(instance: InstanceRecord): InstanceRecord {
    if (instance.transition !== undefined && this.clock.now() >= instance.transition.at) {
      instance.state = instance.transition.to;
      instance.transition = undefined;
      this.scheduleSave();
    }
    return instance;
  }

  private checkAttachable(entry: VolumeEntry, instance: InstanceRecord, device: string): void {
    const { record } = entry;
    if (record.state !== 'available') this.incorrectVolumeState(entry);
    if (record.availabilityZone !== instance.availabilityZone) {
      throw new Ec2ApiError(
        Ec2ErrorCode.invalidVolumeZoneMismatch,
        `The volume '${record.volumeId}' is not in the same availability zone as instance '${instance.instanceId}'`,
        { volumeId: record.volumeId },
      );
    }
    if (!/^\/dev\/[a-z0-9]+$/.test(device)) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Value (${device}) for parameter device is invalid.`, { volumeId: record.volumeId });
    }
    const taken = [...this.volumes.values()].some((other) => other.record.attachment?.instanceId === instance.instanceId && other.record.attachment.device === device);
    if (taken) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`, { volumeId: record.volumeId });
    }
  }

  private attach(entry: VolumeEntry, instance: InstanceRecord, device: string): VolumeAttachment {
    const attachment: VolumeAttachment = {
      instanceId: instance.instanceId,
      device,
      attachTime: this.isoNow(),
      deleteOnTermination: false,
    };
    entry.record.attachment = attachment;
    entry.record.state = 'in-use';
    return attachment;
  }

  private volume(volumeId: string): VolumeEntry {
    const entry = this.volumes.get(volumeId);
    if (entry === undefined) {
      throw new Ec2ApiError(Ec2ErrorCode.volumeNotFound, `The volume '${volumeId}' does not exist.`, { volumeId });
    }
    return entry;
  }

  private writableVolume(volumeId: string): VolumeEntry {
    const entry = this.volume(volumeId);
    if (entry.record.state !== 'available' && entry.record.state !== 'in-use') this.incorrectVolumeState(entry);
    return entry;
  }

  private instance(instanceId: string): InstanceRecord {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) {
      throw new Ec2ApiError(Ec2ErrorCode.instanceNotFound, `The instance ID '${instanceId}' does not exist`);
    }
    return instance;
  }

  private snapshot(snapshotId: string): SnapshotInfo {
    const info = this.store.getSnapshot(snapshotId);
    if (info === undefined) {
      throw new Ec2ApiError(Ec2ErrorCode.snapshotNotFound, `The snapshot '${snapshotId}' does not exist.`, { snapshotId });
    }
    return info;
  }

  private completedSnapshot(snapshotId: string): SnapshotInfo {
    const info = this.snapshot(snapshotId);
    if (info.state !== 'completed') {
      throw new Ec2ApiError(Ec2ErrorCode.incorrectState, `Snapshot '${snapshotId}' is in state '${info.state}'`, { snapshotId });
    }
    return info;
  }

  private taggable(resourceId: string): { tags: Tag[] } {
    if (resourceId.startsWith('vol-')) return this.volume(resourceId).record;
    if (resourceId.startsWith('i-')) return this.instance(resourceId);
    throw new Ec2ApiError(Ec2ErrorCode.invalidId, `The ID '${resourceId}' is not valid`);
  }

  /** CreateTags is all or nothing: check every resource before touching any. */
  private checkResourcesExist(resourceIds: string[]): void {
    for (const resourceId of resourceIds) {
      if (resourceId.startsWith('snap-')) this.snapshot(resourceId);
      else this.taggable(resourceId);
    }
  }

  private checkBlockIndex(entry: VolumeEntry, blockIndex: number): void {
    if (!Number.isInteger(blockIndex) || blockIndex < 0 || blockIndex >= volumeBlocks(entry.record.size)) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Block ${blockIndex} is outside volume ${entry.record.volumeId}`, { volumeId: entry.record.volumeId, blockIndex });
    }
  }

  private checkZone(availabilityZone: string): void {
    if (!AVAILABILITY_ZONE_PATTERN.test(availabilityZone)) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidZone, `The zone '${availabilityZone}' does not exist.`);
    }
  }

  private volumeType(requested: string | undefined): VolumeType {
    if (requested === undefined) return DEFAULT_VOLUME_TYPE;
    const known = VOLUME_TYPES.find((type) => type === requested);
    if (known === undefined) {
      throw new Ec2ApiError(Ec2ErrorCode.invalidParameterValue, `Value (${requested}) for parameter volumeType is invalid.`);
    }
    return known;
  }

  private incorrectVolumeState(entry: VolumeEntry): never {
    throw new Ec2ApiError(Ec2ErrorCode.incorrectState, `Volume '${entry.record.volumeId}' is in the '${entry.record.state}' state.`, { volumeId: entry.record.volumeId });
  }

  private volumeView(entry: VolumeEntry): VolumeRecord {
    const { record } = entry;
    return {
      ...record,
      tags: [...record.tags],
      attachment: record.attachment === undefined ? undefined : { ...record.attachment },
      dirtyRanges: encodeBlockRanges(entry.dirty),
      unwrittenNoise:
        record.unwrittenNoise === undefined || entry.written === undefined
          ? undefined
          : { lineageId: record.unwrittenNoise.lineageId, writtenRanges: encodeBlockRanges(entry.written) },
    };
  }

  /** Runs `work` after every earlier snapshot or hydration of the same volume. */
  private serialize<T>(entry: VolumeEntry, work: () => Promise<T>): Promise<T> {
    const run = entry.queue.catch(() => undefined).then(work);
    entry.queue = run;
    return run;
  }

  private async openStorage(record: VolumeRecord): Promise<VolumeStorage> {
    if (this.ec2Dir === undefined) return new MemoryVolumeStorage();
    return FileVolumeStorage.open(path.join(this.ec2Dir, 'volumes', `${record.volumeId}.img`), record.size * volumeBlocks(1) * BLOCK_SIZE);
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  // ---------------------------------------------------------------- persistence

  private async load(ec2Dir: string): Promise<void> {
    await fsp.mkdir(path.join(ec2Dir, 'volumes'), { recursive: true });
    let state: PersistedState;
    try {
      state = JSON.parse(await fsp.readFile(path.join(ec2Dir, 'state.json'), 'utf8')) as PersistedState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const record of state.volumes) {
      const entry: VolumeEntry = {
        record,
        storage: await this.openStorage(record),
        dirty: new Set(decodeBlockRanges(record.dirtyRanges)),
        written: record.unwrittenNoise === undefined ? undefined : new Set(decodeBlockRanges(record.unwrittenNoise.writtenRanges)),
        queue: Promise.resolve(),
      };
      this.volumes.set(record.volumeId, entry);
      // A crash during hydration: copying the source again is idempotent.
      if (record.state === 'creating') await this.serialize(entry, () => this.hydrate(entry));
    }
    for (const instance of state.instances) this.instances.set(instance.instanceId, instance);
  }

  private scheduleSave(): void {
    if (this.ec2Dir === undefined || this.saveTimer !== undefined || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save().catch(() => undefined);
    }, SAVE_DEBOUNCE_MS);
    // A pending save must not keep a finished test or CLI alive; close() saves anyway.
    this.saveTimer.unref();
  }

  /** Writes `state.json` (temp file + rename), then lets the volume files drop their outside-write evidence. */
  private save(): Promise<void> {
    const ec2Dir = this.ec2Dir;
    if (ec2Dir === undefined) return Promise.resolve();
    if (this.saveTimer !== undefined) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    const run = this.saveChain.catch(() => undefined).then(async () => {
      // Serialize and note write generations in the same tick: the save covers exactly these writes.
      const entries = [...this.volumes.values()];
      const generations = entries.map((entry) => entry.storage.writeGeneration());
      const state: PersistedState = {
        format: STATE_FORMAT,
        volumes: entries.map((entry) => this.volumeView(entry)),
        instances: [...this.instances.values()],
      };
      const target = path.join(ec2Dir, 'state.json');
      const temp = `${target}.${process.pid}.tmp`;
      await fsp.writeFile(temp, JSON.stringify(state));
      await fsp.rename(temp, target);
      await Promise.all(entries.map((entry, i) => (this.volumes.has(entry.record.volumeId) ? entry.storage.commitOwnWrites(generations[i]) : undefined)));
    });
    this.saveChain = run;
    return run;
  }
}

function newId(prefix: string): string {
  return `${prefix}-${randomBytes(EC2_ID_HEX_CHARS).toString('hex').slice(0, EC2_ID_HEX_CHARS)}`;
}

function mergeTags(current: Tag[], added: Tag[]): Tag[] {
  const merged = new Map(current.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) merged.set(tag.Key, tag.Value);
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

function matchesTag(tag: Tag, gone: { Key: string; Value?: string }): boolean {
  return tag.Key === gone.Key && (gone.Value === undefined || gone.Value === tag.Value);
}

/** Runs `work` over `items` with at most BLOCK_IO_CONCURRENCY in flight, results in order. */
async function mapLimit<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next;
      next += 1;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOCK_IO_CONCURRENCY, items.length) }, worker));
  return results;
}

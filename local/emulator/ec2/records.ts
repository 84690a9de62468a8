import type { Tag } from '../contracts';

/** Volume states of our subset (EC2 also has `deleted` and `error`, which we never show). */
export type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting';

export type VolumeType = 'gp2' | 'gp3' | 'io1' | 'io2' | 'st1' | 'sc1' | 'standard';

export interface VolumeAttachment {
  instanceId: string;
  device: string;
  /** ISO 8601. */
  attachTime: string;
  deleteOnTermination: boolean;
}

/** What the model keeps about one volume (its data aside); persisted in `state.json`. */
export interface VolumeRecord {
  volumeId: string;
  /** GiB. */
  size: number;
  availabilityZone: string;
  volumeType: VolumeType;
  iops?: number;
  throughput?: number;
  encrypted: boolean;
  kmsKeyId?: string;
  /** Snapshot the volume was created from. */
  snapshotId?: string;
  /** ISO 8601. */
  createTime: string;
  state: VolumeState;
  tags: Tag[];
  attachment?: VolumeAttachment;
  /**
   * What the dirty set is relative to, and the parent of the next CreateSnapshot: the
   * volume's previous snapshot, or the snapshot it was created from; undefined = the empty
   * volume it was born as.
   */
  baseSnapshotId?: string;
  /** Blocks written through the API since the base, as `[first, count]` runs (compact for sequential writes). */
  dirtyRanges: Array<[number, number]>;
  /**
   * Set for a volume created from an encrypted snapshot: as on AWS, a block that was never
   * written (absent from the source snapshot and not written since) reads as random bytes
   * through the API, not zeros. `writtenRanges` are the blocks that hold real data.
   */
  unwrittenNoise?: { lineageId: string; writtenRanges: Array<[number, number]> };
}

/** Instance states of our subset (no RunInstances, so no termination either). */
export type InstanceStateName = 'pending' | 'running' | 'stopping' | 'stopped';

/** EC2's numeric state codes, which DescribeInstances reports next to the name. */
export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  stopping: 64,
  stopped: 80,
};

export interface InstanceRecord {
  instanceId: string;
  reservationId: string;
  availabilityZone: string;
  state: InstanceStateName;
  /** Where `stopping` / `pending` is heading and when (emulator clock, ms) it gets there. */
  transition?: { to: InstanceStateName; at: number };
  /** ISO 8601. */
  launchTime: string;
  instanceType: string;
  rootDeviceName: string;
  tags: Tag[];
}

/** Layout of `<dataDir>/ec2/state.json`. */
export interface PersistedState {
  format: number;
  volumes: VolumeRecord[];
  instances: InstanceRecord[];
}

/** Sorted block indexes → `[first, count]` runs. */
export function encodeBlockRanges(blocks: Iterable<number>): Array<[number, number]> {
  const sorted = [...blocks].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const blockIndex of sorted) {
    const last = ranges.at(-1);
    if (last !== undefined && last[0] + last[1] === blockIndex) last[1] += 1;
    else ranges.push([blockIndex, 1]);
  }
  return ranges;
}

/** `[first, count]` runs → block indexes, ascending. */
export function decodeBlockRanges(ranges: Array<[number, number]>): number[] {
  const blocks: number[] = [];
  for (const [first, count] of ranges) {
    for (let offset = 0; offset < count; offset += 1) blocks.push(first + offset);
  }
  return blocks;
}

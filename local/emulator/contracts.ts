/**
 * The seam between the two halves of the emulator:
 * - the snapshot store and the EBS direct APIs (`store/`, `ebs/`, `server.ts`), and
 * - the EC2 Query API with its volume and instance model (`ec2/`).
 *
 * Snapshots made by EC2 CreateSnapshot and by EBS StartSnapshot live in one store and are
 * visible to both APIs. Volumes (sparse files a person can write) belong to the EC2 half.
 */

/** Snapshot states as EC2 DescribeSnapshots and EBS CompleteSnapshot report them. */
export type SnapshotState = 'pending' | 'completed' | 'error';

export interface Tag {
  Key: string;
  Value: string;
}

/** What the store keeps about one snapshot (block data aside). */
export interface SnapshotInfo {
  snapshotId: string;
  /** Volume the snapshot was taken from (EC2 CreateSnapshot), or `vol-ffffffff` for direct-API snapshots. */
  volumeId: string;
  /** GiB. */
  volumeSize: number;
  state: SnapshotState;
  /** Reason shown with `error` (StateMessage in EC2). */
  stateMessage?: string;
  /** 0–100 (EC2 reports it as `"100%"`). */
  progress: number;
  /** ISO 8601. */
  startTime: string;
  description?: string;
  tags: Tag[];
  encrypted: boolean;
  kmsKeyId?: string;
  /** Parent in the lineage (direct-API ParentSnapshotId, or the previous snapshot of the same volume). */
  parentSnapshotId?: string;
  /**
   * Lineage identity: ListChangedBlocks works only between snapshots of the same lineage.
   * Snapshots of one EC2 volume, and direct-API children of a parent, share their lineage.
   */
  lineageId: string;
  ownerId: string;
}

/** Block content handed to the store: raw bytes of exactly one block (524,288 bytes). */
export type BlockData = Buffer;

/** What the EC2 half hands the store for one CreateSnapshot (see {@link SnapshotStorePort.createSnapshotFromVolume}). */
export interface CreateSnapshotFromVolumeArgs {
  readonly volumeId: string;
  readonly volumeSize: number;
  readonly parentSnapshotId?: string;
  readonly changed: Map<number, BlockData | null>;
  readonly description?: string;
  readonly tags: Tag[];
  readonly encrypted: boolean;
  readonly kmsKeyId?: string;
}

/** What the EC2 half needs from the store. */
export interface SnapshotStorePort {
  /**
   * Records a completed snapshot of an EC2 volume, incremental against `parentSnapshotId`
   * (the previous snapshot of the same volume, if any): `changed` holds the blocks whose
   * content differs from the parent (a `null` value means the block is no longer allocated:
   * it reads as zeros / was trimmed). Blocks not in `changed` are inherited from the parent.
   */
  createSnapshotFromVolume(args: CreateSnapshotFromVolumeArgs): Promise<SnapshotInfo>;
  getSnapshot(snapshotId: string): SnapshotInfo | undefined;
  listSnapshots(): SnapshotInfo[];
  /** Deletes the snapshot's metadata; its blocks stay as long as another snapshot references them. */
  deleteSnapshot(snapshotId: string): Promise<void>;
  setTags(snapshotId: string, tags: Tag[]): Promise<void>;
  deleteTags(snapshotId: string, keys: string[]): Promise<void>;
  /** Allocated block indexes of a completed snapshot, ascending. */
  listBlockIndexes(snapshotId: string): number[];
  /** Content of an allocated block; `undefined` if the block is not allocated in that snapshot. */
  readBlock(snapshotId: string, blockIndex: number): Promise<BlockData | undefined>;
}

/** Time source of the emulator: tests advance it to expire tokens and snapshot timeouts. */
export interface Clock {
  now(): number;
}

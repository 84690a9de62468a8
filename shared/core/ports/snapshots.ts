/**
 * The snapshot and volume ports: how the engine reads and writes EBS snapshots and acts on EC2
 * volumes, without knowing about the SDK. `shared/aws` implements them over the EBS direct APIs
 * and EC2; tests may implement them in memory. Interfaces only: no I/O here.
 *
 * Primary and secondary may live in different Regions: the engine gets one set of ports per side.
 */
import type { DeltaMap } from '../delta-map';

/** A half-open range of block indexes `[start, end)`: a segment, or part of one. */
export interface BlockRange {
  readonly start: number;
  readonly end: number;
}

/** An allocated block of a snapshot, with the token that reads it (valid 7 days). */
export interface ListedBlock {
  readonly blockIndex: number;
  readonly blockToken: string;
}

/**
 * A block that differs between two snapshots of one lineage. A token is absent when that snapshot
 * does not hold the block (absent `secondBlockToken`: the block was cleared and reads as zeros).
 */
export interface ChangedBlock {
  readonly blockIndex: number;
  readonly firstBlockToken?: string;
  readonly secondBlockToken?: string;
}

/** The changed blocks of one segment, as the segment's Map item needs them. */
export interface SegmentChanges {
  /** Blocks that changed, sized to the second snapshot's volume. */
  readonly deltaMap: DeltaMap;
  /** The same blocks with their tokens, ascending. */
  readonly blocks: readonly ChangedBlock[];
}

/** Reading snapshots: ListSnapshotBlocks, ListChangedBlocks, GetSnapshotBlock. */
export interface SnapshotReader {
  /** Allocated blocks of a completed snapshot in `range` (all when absent), ascending, every page followed. */
  listBlocks(snapshotId: string, range?: BlockRange): AsyncIterable<ListedBlock>;

  /**
   * Blocks that differ between `firstSnapshotId` and `secondSnapshotId` in `range`, ascending.
   * Without a first snapshot: every allocated block of the second (the baseline's delta map).
   * @throws UnrelatedSnapshotsError when the two are not of one lineage.
   */
  listChangedBlocks(firstSnapshotId: string | undefined, secondSnapshotId: string, range?: BlockRange): AsyncIterable<ChangedBlock>;

  /** The changed blocks of one segment, collected into a delta map (with their tokens). */
  changedBlocksOfSegment(firstSnapshotId: string | undefined, secondSnapshotId: string, segment: number): Promise<SegmentChanges>;

  /**
   * One block's bytes (exactly one block), its SHA-256 verified. An expired or refused block token
   * is replaced by listing the block again, once.
   * @throws ChecksumMismatchError, SnapshotNotFoundError, InvalidBlockTokenError
   */
  getBlock(snapshotId: string, blockIndex: number, blockToken: string): Promise<Uint8Array>;
}

/** Who a snapshot is started for: the ClientToken is derived from it, so a re-run gets the same snapshot. */
export interface SnapshotJob {
  readonly volumeId: string;
  /** The restore point (or verify/restore run step) the snapshot belongs to. */
  readonly seq: number;
  /** What the snapshot is for, e.g. `sync`, `fixup`, `restore`. */
  readonly purpose: string;
}

export interface Tag {
  readonly key: string;
  readonly value: string;
}

export interface StartSnapshotRequest {
  readonly job: SnapshotJob;
  /** GiB. */
  readonly volumeSize: number;
  /** The new snapshot inherits every block of its parent (and its encryption and KMS key). */
  readonly parentSnapshotId?: string;
  readonly tags?: readonly Tag[];
  readonly description?: string;
  /** Only without a parent: a child inherits its parent's encryption. */
  readonly encrypted?: boolean;
  /** Only without a parent. */
  readonly kmsKeyArn?: string;
  /** Minutes before an uncompleted snapshot goes to `error`. */
  readonly timeoutMinutes?: number;
}

export type SnapshotState = 'pending' | 'completed' | 'error';

export interface StartedSnapshot {
  readonly snapshotId: string;
  readonly state: SnapshotState;
  /** GiB. */
  readonly volumeSize: number;
  /** Encrypted lineages read unwritten blocks as random data: write zero blocks explicitly. */
  readonly encrypted: boolean;
}

/**
 * The digests of the blocks written to one snapshot, for the LINEAR aggregate. Implemented by
 * `BlockDigests` in `shared/core/checksum.ts`.
 */
export interface WrittenBlocks {
  record(blockIndex: number, digest: Uint8Array): void;
  aggregate(): { changedBlocksCount: number; checksum: string };
}

/** Writing snapshots: StartSnapshot, PutSnapshotBlock, CompleteSnapshot. */
export interface SnapshotWriter {
  /**
   * Starts (or, for the same job and parameters, finds again) a snapshot.
   * @throws ClientTokenConflictError when the same job asked before with other parameters.
   */
  startSnapshot(request: StartSnapshotRequest): Promise<StartedSnapshot>;

  /** Writes one block (exactly one block of bytes) with its checksum; returns its raw SHA-256. */
  putBlock(snapshotId: string, blockIndex: number, data: Uint8Array): Promise<Uint8Array>;

  /** Writes a block of zeros: how a block reads as zeros in an encrypted lineage. */
  putZeroBlock(snapshotId: string, blockIndex: number): Promise<Uint8Array>;

  /** Completes with the LINEAR aggregate and block count of `written`; returns the state EBS reports. */
  completeSnapshot(snapshotId: string, written: WrittenBlocks): Promise<SnapshotState>;
}

export interface SnapshotStatus {
  readonly snapshotId: string;
  readonly state: SnapshotState;
  /** 0–100. */
  readonly progress: number;
  /** The reason given with `error`. */
  readonly stateMessage?: string;
  readonly tags: readonly Tag[];
}

/** Waiting for snapshots (EC2 DescribeSnapshots). */
export interface SnapshotWaiter {
  /** One look, for a Step Functions Wait/Choice loop (nothing sleeps in a Lambda). */
  status(snapshotId: string): Promise<SnapshotStatus>;

  /**
   * Polls until `completed` (bounded).
   * @throws SnapshotFailedError on `error`, SnapshotWaitTimeoutError when the polls run out.
   */
  waitUntilCompleted(snapshotId: string): Promise<SnapshotStatus>;
}

/** Primary snapshots: EC2 CreateSnapshot of the primary volume, and deleting the ones we own. */
export interface PrimarySnapshots {
  /** Takes a snapshot of `volumeId` carrying our tags; returns its id at once (it may be pending). */
  takeSnapshot(volumeId: string, options?: { tags?: readonly Tag[]; description?: string }): Promise<string>;

  /** Polls until completed (several consecutive `completed` answers, bounded). */
  waitUntilCompleted(snapshotId: string): Promise<SnapshotStatus>;

  /**
   * Deletes a snapshot ebs-cdp created; a snapshot already gone is fine (idempotent).
   * @throws SnapshotNotOwnedError when the snapshot does not carry our ownership tag.
   */
  deleteSnapshot(snapshotId: string): Promise<void>;
}

export interface VolumeAttachment {
  readonly instanceId: string;
  readonly device: string;
}

/** What a restored volume copies from its source. */
export interface VolumeAttributes {
  readonly volumeId: string;
  /** GiB. */
  readonly size: number;
  readonly availabilityZone: string;
  readonly volumeType: string;
  readonly iops?: number;
  readonly throughput?: number;
  readonly encrypted: boolean;
  readonly kmsKeyId?: string;
  readonly state: string;
  readonly attachment?: VolumeAttachment;
}

export interface CreateVolumeRequest {
  readonly snapshotId: string;
  readonly availabilityZone: string;
  /** The volume whose type, iops, throughput, encryption (and size) the new one copies. */
  readonly like: VolumeAttributes;
  /** GiB; the larger of `like.size` and the snapshot's when absent. */
  readonly size?: number;
  readonly tags?: readonly Tag[];
}

export interface SwapRequest {
  readonly instanceId: string;
  /** The volume now attached, to be replaced. */
  readonly volumeId: string;
  /** The volume to attach in its place, at the same device. */
  readonly replacementVolumeId: string;
}

export interface SwapResult {
  readonly instanceId: string;
  readonly device: string;
  /** The volume taken off the instance (left `available`, not deleted). */
  readonly detachedVolumeId: string;
  readonly attachedVolumeId: string;
  /** Whether the instance was restarted (it is only if it was running). */
  readonly restarted: boolean;
}

/** EC2 volumes: describe, create from a snapshot, swap onto an instance. */
export interface Volumes {
  /** @throws InvalidVolumeError when it does not exist. */
  describeVolume(volumeId: string): Promise<VolumeAttributes>;

  /** Creates a volume from a snapshot like `like` and waits until it is `available`. */
  createVolumeFromSnapshot(request: CreateVolumeRequest): Promise<VolumeAttributes>;

  /**
   * Stops the instance, detaches `volumeId`, attaches the replacement at the same device and starts
   * the instance again; on any failure puts the original volume back.
   * @throws SwapFailedError saying what the rollback did.
   */
  swapVolume(request: SwapRequest): Promise<SwapResult>;
}

/** One snapshot found by tag. */
export interface OwnedSnapshot {
  readonly snapshotId: string;
  readonly state: SnapshotState;
  /** When the snapshot was taken (ISO 8601): a primary snapshot's point in time. */
  readonly startTime: string;
  /** GiB. */
  readonly volumeSize: number;
  readonly tags: readonly Tag[];
}

/** The port: owned snapshots carrying every one of `tags`. */
export interface SnapshotLookup {
  /** Snapshots with our ownership tag and every tag of `tags`, oldest first. */
  findOwned(tags: readonly Tag[]): Promise<OwnedSnapshot[]>;
}

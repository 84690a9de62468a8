/**
 * Writing snapshots over the EBS direct APIs: StartSnapshot (idempotent per job),
 * PutSnapshotBlock with its checksum, CompleteSnapshot with the LINEAR aggregate.
 */
import { createHash } from 'node:crypto';
import { CompleteSnapshotCommand, PutSnapshotBlockCommand, StartSnapshotCommand, type EBSClient } from '@aws-sdk/client-ebs';
import { BLOCK_SIZE } from '../core/constants';
import type { SnapshotJob, SnapshotState, SnapshotWriter, StartedSnapshot, StartSnapshotRequest, WrittenBlocks } from '../core/ports/snapshots';
import { BlockDigests, CHECKSUM_AGGREGATION_METHOD, CHECKSUM_ALGORITHM, sha256, ZERO_BLOCK, ZERO_BLOCK_DIGEST } from '../core/checksum';
import { ChecksumMismatchError, EbsValidationError } from '../core/ports/errors';
import type { EbsApi } from '../core/quotas';
import { callEbs } from './retry';
import type { EbsAdapterOptions } from './snapshot-reader';
import { MAX_TAGS, toSdkTags, withOwnerTag } from '../core/tags';

/** Version of the ClientToken recipe: bump it if the recipe changes, so old tokens never collide. */
const CLIENT_TOKEN_VERSION = 'v1';

/**
 * The ClientToken of a job's StartSnapshot: SHA-256 hex (64 characters, the API's maximum) of
 * the job. Deterministic, so a crashed and re-run step gets its snapshot back; the parameters
 * are not in it, so a re-run that asks for something else gets a ConflictException instead of a
 * second snapshot.
 */
export function snapshotClientToken(job: SnapshotJob): string {
  if (!Number.isInteger(job.seq) || job.seq < 0) throw new RangeError(`a job's seq must be a non-negative integer, got ${job.seq}`);
  return createHash('sha256').update(JSON.stringify(['ebs-cdp', CLIENT_TOKEN_VERSION, job.volumeId, job.seq, job.purpose])).digest('hex');
}

function isSnapshotState(value: string | undefined): value is SnapshotState {
  return value === 'pending' || value === 'completed' || value === 'error';
}

/**
 * Writes snapshots with an injected `EBSClient` (the secondary side's, for a sync).
 *
 * @example
 * const writer = new EbsSnapshotWriter(ebs, { limiter });
 * const { snapshotId } = await writer.startSnapshot({ job, volumeSize: 8, parentSnapshotId });
 * const upload = writer.upload(snapshotId);
 * await upload.putBlock(0, data);
 * await upload.complete();
 */
export class EbsSnapshotWriter implements SnapshotWriter {
  constructor(
    private readonly ebs: EBSClient,
    private readonly options: EbsAdapterOptions,
  ) {}

  async startSnapshot(request: StartSnapshotRequest): Promise<StartedSnapshot> {
    const tags = withOwnerTag(request.tags);
    if (tags.length > MAX_TAGS) {
      throw new EbsValidationError(`StartSnapshot takes at most ${MAX_TAGS} tags (ours included), got ${tags.length}; drop some`, undefined, {});
    }
    const hasParent = request.parentSnapshotId !== undefined;
    if (hasParent && (request.encrypted !== undefined || request.kmsKeyArn !== undefined)) {
      // EBS refuses Encrypted with a parent; the child inherits the parent's encryption and key.
      throw new EbsValidationError(
        'a snapshot with a parent inherits its encryption and KMS key: do not pass encrypted or kmsKeyArn together with parentSnapshotId',
        undefined,
        { snapshotId: request.parentSnapshotId },
      );
    }
    const out = await callEbs(
      () =>
        this.ebs.send(
          new StartSnapshotCommand({
            VolumeSize: request.volumeSize,
            ParentSnapshotId: request.parentSnapshotId,
            Tags: toSdkTags(tags),
            Description: request.description,
            ClientToken: snapshotClientToken(request.job),
            Encrypted: hasParent ? undefined : request.encrypted,
            KmsKeyArn: hasParent ? undefined : request.kmsKeyArn,
            Timeout: request.timeoutMinutes,
          }),
        ),
      { ...this.retryContext('StartSnapshot'), snapshotId: request.parentSnapshotId },
    );
    if (out.SnapshotId === undefined || out.VolumeSize === undefined || !isSnapshotState(out.Status)) {
      throw new EbsValidationError(`StartSnapshot answered without SnapshotId, VolumeSize or a known Status (${String(out.Status)})`, undefined, {});
    }
    return {
      snapshotId: out.SnapshotId,
      state: out.Status,
      volumeSize: out.VolumeSize,
      encrypted: out.SseType !== undefined && out.SseType !== 'none',
    };
  }

  async putBlock(snapshotId: string, blockIndex: number, data: Uint8Array): Promise<Uint8Array> {
    if (data.length !== BLOCK_SIZE) {
      throw new ChecksumMismatchError(`block ${blockIndex} for ${snapshotId} is ${data.length} bytes; PutSnapshotBlock takes exactly ${BLOCK_SIZE}`, {
        snapshotId,
        blockIndex,
      });
    }
    const digest = sha256(data);
    await this.send(snapshotId, blockIndex, data, digest);
    return digest;
  }

  async putZeroBlock(snapshotId: string, blockIndex: number): Promise<Uint8Array> {
    await this.send(snapshotId, blockIndex, ZERO_BLOCK, ZERO_BLOCK_DIGEST);
    return Buffer.from(ZERO_BLOCK_DIGEST);
  }

  async completeSnapshot(snapshotId: string, written: WrittenBlocks): Promise<SnapshotState> {
    const { changedBlocksCount, checksum } = written.aggregate();
    const out = await callEbs(
      () =>
        this.ebs.send(
          new CompleteSnapshotCommand({
            SnapshotId: snapshotId,
            ChangedBlocksCount: changedBlocksCount,
            Checksum: checksum,
            ChecksumAlgorithm: CHECKSUM_ALGORITHM,
            ChecksumAggregationMethod: CHECKSUM_AGGREGATION_METHOD,
          }),
        ),
      // Completing right after the last write can meet the same "does not exist" window.
      { ...this.retryContext('CompleteSnapshot'), snapshotId, retryNotFound: true },
    );
    if (!isSnapshotState(out.Status)) {
      throw new EbsValidationError(`CompleteSnapshot on ${snapshotId} answered an unknown status ${String(out.Status)}`, undefined, { snapshotId });
    }
    return out.Status;
  }

  /** A helper that records the digest of every block it writes and completes with them. */
  upload(snapshotId: string): SnapshotUpload {
    return new SnapshotUpload(this, snapshotId);
  }

  private async send(snapshotId: string, blockIndex: number, data: Uint8Array, digest: Uint8Array): Promise<void> {
    const checksum = Buffer.from(digest).toString('base64');
    await callEbs(
      () =>
        this.ebs.send(
          new PutSnapshotBlockCommand({
            SnapshotId: snapshotId,
            BlockIndex: blockIndex,
            BlockData: data,
            DataLength: BLOCK_SIZE,
            Checksum: checksum,
            ChecksumAlgorithm: CHECKSUM_ALGORITHM,
          }),
        ),
      { ...this.retryContext('PutSnapshotBlock'), snapshotId, blockIndex, retryNotFound: true },
    );
  }

  private retryContext(api: EbsApi): Pick<EbsAdapterOptions, 'limiter' | 'policy' | 'timer' | 'random'> & { api: EbsApi } {
    return { api, limiter: this.options.limiter, policy: this.options.policy, timer: this.options.timer, random: this.options.random };
  }
}

/** One snapshot being written in this process: the digests of its blocks are kept for completion. */
export class SnapshotUpload {
  readonly digests = new BlockDigests();

  constructor(
    private readonly writer: SnapshotWriter,
    readonly snapshotId: string,
  ) {}

  async putBlock(blockIndex: number, data: Uint8Array): Promise<void> {
    this.digests.record(blockIndex, await this.writer.putBlock(this.snapshotId, blockIndex, data));
  }

  async putZeroBlock(blockIndex: number): Promise<void> {
    this.digests.record(blockIndex, await this.writer.putZeroBlock(this.snapshotId, blockIndex));
  }

  /** Completes with every block written through this upload. */
  complete(): Promise<SnapshotState> {
    return this.writer.completeSnapshot(this.snapshotId, this.digests);
  }
}

/**
 * The EBS direct APIs' rules as the snapshot store enforces them: limits, parameter checks and
 * the error each broken rule answers (EBS-FACTS.md), plus paging of block listings. Pure: no
 * store state, so the lifecycle and the facade share one copy of every rule.
 */
import { createHash } from 'node:crypto';
import { BLOCK_SIZE, MAX_VOLUME_SIZE_GIB, volumeBlocks } from '../../../shared/core/constants';
import { UNALLOCATED } from '../block-table';
import type { SnapshotInfo, Tag } from '../contracts';
import { EbsApiError, validationError } from '../errors';

/** Account every emulated resource belongs to (the AWS documentation's example account). */
export const OWNER_ID = '111122223333';
/** Volume id AWS reports for snapshots created through the direct APIs. */
export const DIRECT_API_VOLUME_ID = 'vol-ffffffff';
/** The account's default EBS key: what `Encrypted` without `KmsKeyArn` uses. */
export const DEFAULT_KMS_KEY_ARN = `arn:aws:kms:us-east-1:${OWNER_ID}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0`;

/** StartSnapshot `Timeout` bounds and default, in minutes (EBS-FACTS.md). */
export const TIMEOUT_MIN_MINUTES = 10;
export const TIMEOUT_MAX_MINUTES = 4_320;
export const TIMEOUT_DEFAULT_MINUTES = 60;
/** StartSnapshot accepts at most this many tags. */
export const MAX_TAGS = 50;
export const MS_PER_MINUTE = 60_000;
/** Snapshot ids: `snap-` and 17 hex digits, like AWS's long ids. */
export const SNAPSHOT_ID_HEX_DIGITS = 17;
const SNAPSHOT_ID_PATTERN = /^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
/** Flag bits of a changed block: present in the first and/or second snapshot. */
export const IN_FIRST = 1;
export const IN_SECOND = 2;

/** Parameters of StartSnapshot, already parsed from the request. */
export interface StartSnapshotParams {
  volumeSize: number;
  parentSnapshotId?: string;
  tags: Tag[];
  description?: string;
  clientToken?: string;
  encrypted: boolean;
  kmsKeyArn?: string;
  timeoutMinutes?: number;
}

/** Behaviour the fault switches add to StartSnapshot and CompleteSnapshot. */
export interface StartOptions {
  /** PutSnapshotBlock answers SNAPSHOT_NOT_FOUND for this long after the start (0 = never). */
  notFoundWindowMs: number;
  /** StartSnapshot fails with ConcurrentLimitExceededException beyond this many pending snapshots. */
  pendingSnapshotLimit?: number;
}

/** Sorted block indexes with, for changed-block listings, the IN_FIRST/IN_SECOND flags of each. */
export interface BlockListing {
  indexes: Uint32Array;
  flags?: Uint8Array;
}

/** A page of a listing: the entries and the block index the next page starts at, if any. */
export interface ListingPage {
  indexes: number[];
  flags: number[];
  nextBlockIndex?: number;
}


// ---- StartSnapshot ---------------------------------------------------------------------------

/** What a repeated ClientToken must repeat to get the original snapshot back. */
export function requestFingerprint(params: StartSnapshotParams): string {
  return JSON.stringify([
    params.volumeSize,
    params.parentSnapshotId ?? null,
    params.tags,
    params.description ?? null,
    params.encrypted,
    params.kmsKeyArn ?? null,
    params.timeoutMinutes ?? null,
  ]);
}

/** A ClientToken reused with other parameters is a ConflictException, not a second snapshot. */
export function checkSameRequest(existing: { requestFingerprint?: string; info: SnapshotInfo }, fingerprint: string): void {
  if (existing.requestFingerprint !== fingerprint) {
    throw new EbsApiError('ConflictException', undefined, 'The ClientToken was already used with different parameters.', {
      snapshotId: existing.info.snapshotId,
    });
  }
}

/**
 * Checks what StartSnapshot can check without looking anything up (size, Timeout, tags,
 * Encrypted with a parent), in AWS's order. Returns the Timeout in minutes, default applied.
 */
export function checkStartParams(params: StartSnapshotParams): number {
  if (!Number.isInteger(params.volumeSize) || params.volumeSize < 1 || params.volumeSize > MAX_VOLUME_SIZE_GIB) {
    throw validationError('INVALID_VOLUME_SIZE', `VolumeSize must be 1–${MAX_VOLUME_SIZE_GIB} GiB.`);
  }
  const timeoutMinutes = params.timeoutMinutes ?? TIMEOUT_DEFAULT_MINUTES;
  if (!Number.isInteger(timeoutMinutes) || timeoutMinutes < TIMEOUT_MIN_MINUTES || timeoutMinutes > TIMEOUT_MAX_MINUTES) {
    throw validationError('INVALID_PARAMETER_VALUE', `Timeout must be ${TIMEOUT_MIN_MINUTES}–${TIMEOUT_MAX_MINUTES} minutes.`);
  }
  if (params.tags.length > MAX_TAGS) throw validationError('INVALID_TAG', `At most ${MAX_TAGS} tags are allowed.`);
  if (params.encrypted && params.parentSnapshotId !== undefined) {
    throw validationError(
      'INVALID_PARAMETER_VALUE',
      'Encrypted cannot be set together with ParentSnapshotId: the child inherits the encryption of its parent.',
    );
  }
  return timeoutMinutes;
}

/** A child is at least as large as its (completed) parent and uses the parent's KMS key. */
export function checkChildOf(params: StartSnapshotParams, parent: SnapshotInfo): void {
  if (params.volumeSize < parent.volumeSize) {
    throw validationError(
      'INVALID_VOLUME_SIZE',
      `VolumeSize ${params.volumeSize} is smaller than the parent's ${parent.volumeSize} GiB.`,
      { snapshotId: parent.snapshotId },
    );
  }
  if (params.kmsKeyArn !== undefined && params.kmsKeyArn !== parent.kmsKeyId) {
    throw validationError('INVALID_CUSTOMER_KEY', 'A child snapshot uses the KMS key of its parent.');
  }
}

/** The quota fault switch: no new snapshot while `limit` are pending. */
export function checkPendingLimit(pendingCount: number, limit: number): void {
  if (pendingCount >= limit) {
    throw new EbsApiError('ConcurrentLimitExceededException', undefined, `You have reached the limit of ${limit} pending snapshots.`);
  }
}

// ---- snapshots and blocks --------------------------------------------------------------------

/** A malformed id answers INVALID_SNAPSHOT_ID (an unknown well-formed one SNAPSHOT_NOT_FOUND). */
export function checkSnapshotIdFormat(snapshotId: string): void {
  if (!SNAPSHOT_ID_PATTERN.test(snapshotId)) {
    throw validationError('INVALID_SNAPSHOT_ID', `The snapshot ID '${snapshotId}' is malformed.`, { snapshotId });
  }
}

/** Listing, reading and being a parent need a completed snapshot. */
export function checkCompleted(info: SnapshotInfo): void {
  if (info.state !== 'completed') {
    throw validationError('INVALID_SNAPSHOT_ID', `The snapshot '${info.snapshotId}' is not completed (${info.state}).`, {
      snapshotId: info.snapshotId,
    });
  }
}

/** PutSnapshotBlock to a snapshot that is completed, completing or errored. */
export function noMoreBlocks(info: SnapshotInfo, blockIndex: number): EbsApiError {
  return validationError('INVALID_SNAPSHOT_ID', `The snapshot '${info.snapshotId}' is ${info.state}: it takes no more blocks.`, {
    snapshotId: info.snapshotId,
    blockIndex,
  });
}

function isInVolume(info: SnapshotInfo, blockIndex: number): boolean {
  return Number.isInteger(blockIndex) && blockIndex >= 0 && blockIndex < volumeBlocks(info.volumeSize);
}

/** PutSnapshotBlock's block index must lie inside the volume. */
export function checkWritableIndex(info: SnapshotInfo, blockIndex: number): void {
  if (!isInVolume(info, blockIndex)) {
    throw validationError('INVALID_BLOCK', `Block index ${blockIndex} is outside the ${info.volumeSize} GiB volume.`, {
      snapshotId: info.snapshotId,
      blockIndex,
    });
  }
}

/** GetSnapshotBlock's block index must lie inside the volume. */
export function checkReadableIndex(info: SnapshotInfo, blockIndex: number): void {
  if (!isInVolume(info, blockIndex)) {
    throw validationError('INVALID_BLOCK', `Block index ${blockIndex} is outside the volume.`, { snapshotId: info.snapshotId, blockIndex });
  }
}

/** A second PutSnapshotBlock of a block still being written. */
export function conflictingBlockUpdate(snapshotId: string, blockIndex: number): EbsApiError {
  return validationError('CONFLICTING_BLOCK_UPDATE', `Block ${blockIndex} of '${snapshotId}' is being written by another request.`, {
    snapshotId,
    blockIndex,
  });
}

/** Returns the content id of an allocated block; a block that is not allocated answers INVALID_BLOCK. */
export function requireAllocated(contentId: number | undefined, snapshotId: string, blockIndex: number): number {
  if (contentId === undefined || contentId === UNALLOCATED) {
    throw validationError('INVALID_BLOCK', `Block ${blockIndex} is not allocated in '${snapshotId}'.`, { snapshotId, blockIndex });
  }
  return contentId;
}

/** A block the EC2 half hands over is exactly one block long. */
export function checkBlockLength(data: Buffer, blockIndex: number): void {
  if (data.length !== BLOCK_SIZE) {
    throw validationError('INVALID_BLOCK', `Block ${blockIndex} holds ${data.length} bytes, not ${BLOCK_SIZE}.`, { blockIndex });
  }
}

// ---- CompleteSnapshot ------------------------------------------------------------------------

/** `ChangedBlocksCount` must equal the number of blocks written. */
export function checkChangedBlocksCount(snapshotId: string, changedBlocksCount: number, written: number): void {
  if (changedBlocksCount !== written) {
    throw validationError(
      'INVALID_PARAMETER_VALUE',
      `ChangedBlocksCount ${changedBlocksCount} does not match the ${written} blocks written.`,
      { snapshotId },
    );
  }
}

/**
 * The LINEAR aggregate checksum: base64 SHA-256 over the raw digests (given as hex) of the
 * written blocks in ascending block index. A mismatch answers INVALID_PARAMETER_VALUE.
 */
export function checkAggregateChecksum(snapshotId: string, hexDigestsInIndexOrder: Iterable<string>, checksum: string): void {
  const aggregate = createHash('sha256');
  for (const hex of hexDigestsInIndexOrder) aggregate.update(Buffer.from(hex, 'hex'));
  if (aggregate.digest('base64') !== checksum) {
    throw validationError('INVALID_PARAMETER_VALUE', 'The aggregate checksum does not match the blocks written.', { snapshotId });
  }
}

// ---- ListChangedBlocks and paging ------------------------------------------------------------

/** ListChangedBlocks compares only snapshots of one lineage. */
export function checkSameLineage(first: SnapshotInfo, second: SnapshotInfo): void {
  if (first.lineageId !== second.lineageId) {
    throw validationError('UNRELATED_SNAPSHOTS', 'The snapshots are not of the same lineage.', { snapshotId: second.snapshotId });
  }
}

/** A page of `listing` starting at the first block index ≥ `startBlockIndex`. */
export function pageOf(listing: BlockListing, startBlockIndex: number, maxResults: number): ListingPage {
  let lo = 0;
  let hi = listing.indexes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (listing.indexes[mid] < startBlockIndex) lo = mid + 1;
    else hi = mid;
  }
  const end = Math.min(lo + maxResults, listing.indexes.length);
  return {
    indexes: Array.from(listing.indexes.subarray(lo, end)),
    flags: listing.flags === undefined ? [] : Array.from(listing.flags.subarray(lo, end)),
    nextBlockIndex: end < listing.indexes.length ? listing.indexes[end] : undefined,
  };
}

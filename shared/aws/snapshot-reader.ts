/**
 * Reading snapshots over the EBS direct APIs: listings as async iterables (every page followed,
 * per range), and blocks with their SHA-256 and length verified.
 */
import {
  GetSnapshotBlockCommand,
  ListChangedBlocksCommand,
  ListSnapshotBlocksCommand,
  type EBSClient,
  type ListChangedBlocksCommandOutput,
  type ListSnapshotBlocksCommandOutput,
} from '@aws-sdk/client-ebs';
import { BLOCK_SIZE, segmentRange, volumeBlocks } from '../core/constants';
import { DeltaMap } from '../core/delta-map';
import type { BlockRange, ChangedBlock, ListedBlock, SegmentChanges, SnapshotReader } from '../core/ports/snapshots';
import { readWithFreshToken } from './block-token';
import { sha256Base64 } from '../core/checksum';
import { ChecksumMismatchError, EbsValidationError } from '../core/ports/errors';
import type { EbsApi } from '../core/quotas';
import type { RateLimiter } from './rate-limiter';
import { callEbs, type RetryPolicy } from './retry';
import type { Timer } from '../core/ports/timer';

/**
 * Results per List page: the API's maximum, because List calls have the tightest quota (50/s per
 * account) and each page costs one.
 */
export const DEFAULT_PAGE_SIZE = 10_000;

/** The API's smallest page: what re-listing a single block asks for. */
export const MIN_PAGE_SIZE = 100;

/** Reason EBS gives when a NextToken expired (it lives 60 minutes). */
const INVALID_PAGE_TOKEN = 'INVALID_PAGE_TOKEN';

/** What every EBS adapter of one side shares. */
export interface EbsAdapterOptions {
  /** The side's limiter: shared by every reader and writer of that account and Region. */
  readonly limiter: RateLimiter;
  readonly policy?: RetryPolicy;
  readonly timer?: Timer;
  readonly random?: () => number;
}

export interface SnapshotReaderOptions extends EbsAdapterOptions {
  /** MaxResults of List calls (100–10,000). */
  readonly pageSize?: number;
}


interface Page<T> {
  items: T[];
  nextToken?: string;
  volumeSize?: number;
}

/**
 * Reads snapshots with an injected `EBSClient` (one per side).
 *
 * @example
 * const reader = new EbsSnapshotReader(ebs, { limiter });
 * for await (const { blockIndex, blockToken } of reader.listBlocks(snapshotId, segmentRange(0))) …
 */
export class EbsSnapshotReader implements SnapshotReader {
  private readonly pageSize: number;

  constructor(
    private readonly ebs: EBSClient,
    private readonly options: SnapshotReaderOptions,
  ) {
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  }

  listBlocks(snapshotId: string, range?: BlockRange): AsyncIterable<ListedBlock> {
    return this.paginate('ListSnapshotBlocks', snapshotId, range, async (start, nextToken, maxResults) => {
      const out: ListSnapshotBlocksCommandOutput = await this.ebs.send(
        new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, StartingBlockIndex: start, NextToken: nextToken, MaxResults: maxResults }),
      );
      const items: ListedBlock[] = [];
      for (const block of out.Blocks ?? []) {
        if (block.BlockIndex === undefined || block.BlockToken === undefined) {
          throw new EbsValidationError(`ListSnapshotBlocks on ${snapshotId} returned a block without index or token`, undefined, { snapshotId });
        }
        items.push({ blockIndex: block.BlockIndex, blockToken: block.BlockToken });
      }
      return { items, nextToken: out.NextToken, volumeSize: out.VolumeSize };
    });
  }

  listChangedBlocks(firstSnapshotId: string | undefined, secondSnapshotId: string, range?: BlockRange): AsyncIterable<ChangedBlock> {
    return this.paginate('ListChangedBlocks', secondSnapshotId, range, async (start, nextToken, maxResults) => {
      const out = await this.listChangedPage(firstSnapshotId, secondSnapshotId, start, nextToken, maxResults);
      return { items: out.items, nextToken: out.nextToken, volumeSize: out.volumeSize };
    });
  }

  async changedBlocksOfSegment(firstSnapshotId: string | undefined, secondSnapshotId: string, segment: number): Promise<SegmentChanges> {
    const range = segmentRange(segment);
    const blocks: ChangedBlock[] = [];
    let volumeSize: number | undefined;
    const pages = this.pages('ListChangedBlocks', secondSnapshotId, range, (start, nextToken, maxResults) =>
      this.listChangedPage(firstSnapshotId, secondSnapshotId, start, nextToken, maxResults),
    );
    for await (const page of pages) {
      volumeSize ??= page.volumeSize;
      blocks.push(...page.items);
    }
    if (volumeSize === undefined) {
      throw new EbsValidationError(`ListChangedBlocks on ${secondSnapshotId} did not report the VolumeSize`, undefined, { snapshotId: secondSnapshotId });
    }
    return { deltaMap: DeltaMap.of(volumeBlocks(volumeSize), blocks.map((b) => b.blockIndex)), blocks };
  }

  async getBlock(snapshotId: string, blockIndex: number, blockToken: string): Promise<Uint8Array> {
    return readWithFreshToken(
      blockToken,
      (token) => this.readBlock(snapshotId, blockIndex, token),
      () => this.relist(snapshotId, blockIndex),
      { snapshotId, blockIndex },
    );
  }

  private async readBlock(snapshotId: string, blockIndex: number, blockToken: string): Promise<Uint8Array> {
    return callEbs(
      async () => {
        const out = await this.ebs.send(new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: blockIndex, BlockToken: blockToken }));
        if (out.BlockData === undefined) {
          throw new ChecksumMismatchError(`block ${blockIndex} of ${snapshotId} came back without data; the read is retried by re-running the step`, {
            snapshotId,
            blockIndex,
          });
        }
        const data = await out.BlockData.transformToByteArray();
        // Not retried: a mismatch is what verify exists to find, and must reach the caller as such.
        verifyBlock(data, out.Checksum, out.DataLength, out.ChecksumAlgorithm, { snapshotId, blockIndex });
        return data;
      },
      { ...this.retryContext('GetSnapshotBlock'), snapshotId, blockIndex },
    );
  }

  /** A fresh token for one block: the smallest listing that starts at it. */
  private async relist(snapshotId: string, blockIndex: number): Promise<string | undefined> {
    for await (const block of this.listBlocks(snapshotId, { start: blockIndex, end: blockIndex + 1 })) {
      if (block.blockIndex === blockIndex) return block.blockToken;
    }
    return undefined;
  }

  private async listChangedPage(
    firstSnapshotId: string | undefined,
    secondSnapshotId: string,
    start: number | undefined,
    nextToken: string | undefined,
    maxResults: number,
  ): Promise<Page<ChangedBlock>> {
    const out: ListChangedBlocksCommandOutput = await this.ebs.send(
      new ListChangedBlocksCommand({
        FirstSnapshotId: firstSnapshotId,
        SecondSnapshotId: secondSnapshotId,
        StartingBlockIndex: start,
        NextToken: nextToken,
        MaxResults: maxResults,
      }),
    );
    const items: ChangedBlock[] = [];
    for (const block of out.ChangedBlocks ?? []) {
      if (block.BlockIndex === undefined) {
        throw new EbsValidationError(`ListChangedBlocks on ${secondSnapshotId} returned a block without index`, undefined, {
          snapshotId: secondSnapshotId,
        });
      }
      items.push({ blockIndex: block.BlockIndex, firstBlockToken: block.FirstBlockToken, secondBlockToken: block.SecondBlockToken });
    }
    return { items, nextToken: out.NextToken, volumeSize: out.VolumeSize };
  }

  private async *paginate<T extends { blockIndex: number }>(
    api: EbsApi,
    snapshotId: string,
    range: BlockRange | undefined,
    fetch: (start: number | undefined, nextToken: string | undefined, maxResults: number) => Promise<Page<T>>,
  ): AsyncGenerator<T> {
    for await (const page of this.pages(api, snapshotId, range, fetch)) yield* page.items;
  }

  /**
   * Pages of a listing clipped to `range`: starts at `range.start`, follows NextToken (empty
   * pages included: EBS may send them with a token), stops at the first block past `range.end`.
   * A NextToken that expired while the consumer was slow restarts the listing after the last
   * block seen instead of failing.
   */
  private async *pages<T extends { blockIndex: number }>(
    api: EbsApi,
    snapshotId: string,
    range: BlockRange | undefined,
    fetch: (start: number | undefined, nextToken: string | undefined, maxResults: number) => Promise<Page<T>>,
  ): AsyncGenerator<Page<T>> {
    const end = range?.end ?? Number.POSITIVE_INFINITY;
    let start: number | undefined = range?.start;
    let nextToken: string | undefined;
    const maxResults = range === undefined ? this.pageSize : clampPageSize(Math.min(this.pageSize, range.end - range.start));
    for (;;) {
      let page: Page<T>;
      try {
        page = await callEbs(() => fetch(nextToken === undefined ? start : undefined, nextToken, maxResults), {
          ...this.retryContext(api),
          snapshotId,
        });
      } catch (error) {
        if (nextToken !== undefined && error instanceof EbsValidationError && error.reason === INVALID_PAGE_TOKEN) {
          nextToken = undefined;
          continue;
        }
        throw error;
      }
      const items = page.items.filter((item) => item.blockIndex < end);
      const last = page.items.at(-1);
      if (last !== undefined) start = last.blockIndex + 1;
      yield { ...page, items };
      if (page.nextToken === undefined || (last !== undefined && last.blockIndex >= end - 1)) return;
      nextToken = page.nextToken;
    }
  }

  private retryContext(api: EbsApi): { api: EbsApi; limiter: RateLimiter; policy?: RetryPolicy; timer?: Timer; random?: () => number } {
    return { api, limiter: this.options.limiter, policy: this.options.policy, timer: this.options.timer, random: this.options.random };
  }
}

function clampPageSize(size: number): number {
  return Math.max(MIN_PAGE_SIZE, Math.min(DEFAULT_PAGE_SIZE, size));
}

/**
 * Checks a block read back from EBS: one block long, `x-amz-Data-Length` agreeing, and hashing to
 * `x-amz-Checksum`. Exported for the unit tests of the check itself.
 * @throws ChecksumMismatchError
 */
export function verifyBlock(
  data: Uint8Array,
  checksum: string | undefined,
  dataLength: number | undefined,
  algorithm: string | undefined,
  context: { snapshotId: string; blockIndex: number },
): void {
  const what = `block ${context.blockIndex} of ${context.snapshotId}`;
  if (data.length !== BLOCK_SIZE || (dataLength !== undefined && dataLength !== data.length)) {
    throw new ChecksumMismatchError(
      `${what} is ${data.length} bytes (DataLength ${dataLength ?? 'absent'}), not one block of ${BLOCK_SIZE}; the read was cut short, retry the step`,
      context,
    );
  }
  if (checksum === undefined || (algorithm !== undefined && algorithm !== 'SHA256')) {
    throw new ChecksumMismatchError(`${what} came without a SHA256 checksum (${algorithm ?? 'no algorithm'}); it cannot be verified`, context);
  }
  const actual = sha256Base64(data);
  if (actual !== checksum) {
    throw new ChecksumMismatchError(
      `${what} does not match its checksum (EBS sent ${checksum}, the bytes hash to ${actual}); the data was damaged in transit or at rest: retry, and verify the snapshot if it persists`,
      context,
    );
  }
}

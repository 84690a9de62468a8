/**
 * The `RunState` family on the chain table: a verify run's `RUN#` record and `CMP#` shards, the
 * `DIG#` block digests a copy persists for its snapshot's completion, and `RMAP#` named run maps.
 */
import { createHash } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_VOLUME_BLOCKS } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import type {
  DigestLayerSegment,
  CompareMapState,
  RunMapState,
  RunState,
  SegmentDigests,
  VerifyRun,
} from '../../core/ports/chain-store';
import { cmpSk, cmpSkPrefix, digestSk, digestSkPrefix, runMapSk, runMapSkPrefix, runSk } from '../../core/table-keys';
// The width of a SHA-256 digest is the checksum helpers' to define.
import { DIGEST_BYTES } from '../../core/checksum';
import { ChainStoreCorruptError, ChainStoreInputError, VerifyRunNotFoundError } from '../../core/ports/errors';
import { checkId, checkMapName, checkSegment } from './checks';
import { digestSchema, type Key, parseItem, shardSchema, verifyRunSchema, withoutUndefined } from './items';
import { type ChainTableClient, itemKey } from './table';

/** Digests per DIG# item: 10,000 × 32 = 320 KB, under DynamoDB's 400 KB item limit with room for keys. */
const DIGESTS_PER_ITEM = 10_000;

/** The working state of sync, verify and restore runs, on the chain table. */
export class DynamoDbRunState implements RunState {
  private readonly table: ChainTableClient;

  constructor(table: ChainTableClient) {
    this.table = table;
  }

  // ── verify runs ────────────────────────────────────────────────────────────────────────

  async putVerifyRun(volumeId: string, run: VerifyRun): Promise<void> {
    checkId(run.runId, 'runId');
    await this.table.readMeta(volumeId);
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: withoutUndefined({ ...itemKey(volumeId, runSk(run.runId)), ...run }) }));
  }

  async getVerifyRun(volumeId: string, runId: string): Promise<VerifyRun> {
    checkId(runId, 'runId');
    const { Item } = await this.table.doc.send(new GetCommand({
      TableName: this.table.name, Key: itemKey(volumeId, runSk(runId)), ConsistentRead: true,
    }));
    if (Item === undefined) {
      throw new VerifyRunNotFoundError(
        `volume ${volumeId} has no verify run ${runId}: start one with ebs-cdp verify ${volumeId}`, { volumeId });
    }
    return parseItem(verifyRunSchema, Item, volumeId) as VerifyRun;
  }

  async putCompareSegment(volumeId: string, runId: string, segment: number, compareMap: DeltaMap): Promise<void> {
    checkId(runId, 'runId');
    checkSegment(segment, compareMap.volumeBlocks);
    await this.table.doc.send(new PutCommand({
      TableName: this.table.name,
      Item: {
        ...itemKey(volumeId, cmpSk(runId, segment)),
        runId,
        segment,
        bytes: compareMap.encodeSegment(segment),
        blocks: compareMap.segmentSize(segment),
      },
    }));
  }

  async readCompareMap(volumeId: string, runId: string, blocks: number): Promise<CompareMapState> {
    checkId(runId, 'runId');
    const shards: Array<[number, Uint8Array]> = [];
    for await (const item of this.table.queryPrefix(volumeId, cmpSkPrefix(runId))) {
      const shard = parseItem(shardSchema, item, volumeId);
      shards.push([shard.segment, shard.bytes]);
    }
    return { deltaMap: DeltaMap.join(blocks, shards), scannedSegments: shards.map(([segment]) => segment) };
  }

  // ── block digests ──────────────────────────────────────────────────────────────────────

  async putBlockDigests(volumeId: string, runId: string, segment: number, digests: Uint8Array, blocks?: DeltaMap): Promise<void> {
    checkId(runId, 'runId');
    checkSegment(segment, MAX_VOLUME_BLOCKS);
    if (digests.length % DIGEST_BYTES !== 0) {
      throw new ChainStoreInputError(`digests come in ${DIGEST_BYTES}-byte records; got ${digests.length} bytes`, { volumeId, segment });
    }
    const count = digests.length / DIGEST_BYTES;
    if (blocks !== undefined && (blocks.segmentSize(segment) !== count || blocks.size !== count)) {
      throw new ChainStoreInputError(`${count} digests need ${count} blocks of segment ${segment}; got ${blocks.size}`, { volumeId, segment });
    }
    // The block list (≤ 8,194 bytes) rides on chunk 0: with it the digests are a manifest layer.
    const blockList = blocks?.encodeSegment(segment);
    const chunks = Math.max(1, Math.ceil(count / DIGESTS_PER_ITEM));
    // Every chunk carries the hash of the whole segment's digests, so a reader detects a mix of
    // chunks from two attempts (a crash between puts) instead of completing with a wrong aggregate.
    const checksum = createHash('sha256').update(digests).digest('base64');
    for (let chunk = 0; chunk < chunks; chunk++) {
      const bytes = digests.subarray(chunk * DIGESTS_PER_ITEM * DIGEST_BYTES, (chunk + 1) * DIGESTS_PER_ITEM * DIGEST_BYTES);
      await this.table.doc.send(new PutCommand({
        TableName: this.table.name,
        Item: withoutUndefined({
          ...itemKey(volumeId, digestSk(runId, segment, chunk)), segment, chunk, chunks, count, checksum, bytes,
          blocks: chunk === 0 ? blockList : undefined,
        }),
      }));
    }
    const stale: Key[] = [];
    for await (const item of this.table.queryPrefix(volumeId, digestSkPrefix(runId, segment), true)) {
      const sk = String(item.sk);
      if (Number(sk.slice(sk.lastIndexOf('#') + 1)) >= chunks) stale.push(itemKey(volumeId, sk));
    }
    await this.table.batchWrite([], stale);
  }

  async *readBlockDigests(volumeId: string, runId: string): AsyncIterable<SegmentDigests> {
    checkId(runId, 'runId');
    let current: { segment: number; chunks: number; checksum: string; parts: Uint8Array[]; mixed: boolean } | undefined;
    const finish = (done: NonNullable<typeof current>): SegmentDigests => {
      const digests = Buffer.concat(done.parts);
      if (done.mixed || done.parts.length !== done.chunks || createHash('sha256').update(digests).digest('base64') !== done.checksum) {
        throw new ChainStoreCorruptError(
          `volume ${volumeId}: the block digests run ${runId} stored for segment ${done.segment} are incomplete or mixed ` +
            'from two attempts; copy that segment again before completing the snapshot', { volumeId, segment: done.segment });
      }
      return { segment: done.segment, digests };
    };
    // Sort keys pad segment and chunk, so the query returns ascending segment, then chunk.
    for await (const raw of this.table.queryPrefix(volumeId, digestSkPrefix(runId))) {
      const item = parseItem(digestSchema, raw, volumeId);
      if (current !== undefined && current.segment !== item.segment) {
        yield finish(current);
        current = undefined;
      }
      current ??= { segment: item.segment, chunks: item.chunks, checksum: item.checksum, parts: [], mixed: false };
      if (item.chunk !== current.parts.length || item.checksum !== current.checksum || item.chunks !== current.chunks) current.mixed = true;
      current.parts.push(item.bytes);
    }
    if (current !== undefined) yield finish(current);
  }

  // ── run maps ───────────────────────────────────────────────────────────────────────────

  async putRunMap(volumeId: string, runId: string, name: string, segment: number, deltaMap: DeltaMap): Promise<void> {
    checkId(runId, 'runId');
    checkMapName(name);
    checkSegment(segment, deltaMap.volumeBlocks);
    await this.table.doc.send(new PutCommand({
      TableName: this.table.name,
      Item: {
        ...itemKey(volumeId, runMapSk(runId, name, segment)),
        runId,
        segment,
        bytes: deltaMap.encodeSegment(segment),
        blocks: deltaMap.segmentSize(segment),
      },
    }));
  }

  async readRunMap(volumeId: string, runId: string, name: string, segment: number, blocks: number): Promise<DeltaMap> {
    checkId(runId, 'runId');
    checkMapName(name);
    checkSegment(segment, blocks);
    const { Item } = await this.table.doc.send(new GetCommand({
      TableName: this.table.name, Key: itemKey(volumeId, runMapSk(runId, name, segment)), ConsistentRead: true,
    }));
    if (Item === undefined) return DeltaMap.empty(blocks);
    const shard = parseItem(shardSchema, Item, volumeId);
    return DeltaMap.decodeSegment(blocks, segment, shard.bytes);
  }

  async readRunMapSegments(volumeId: string, runId: string, name: string, blocks: number): Promise<RunMapState> {
    checkId(runId, 'runId');
    checkMapName(name);
    const shards: Array<[number, Uint8Array]> = [];
    for await (const item of this.table.queryPrefix(volumeId, runMapSkPrefix(runId, name))) {
      const shard = parseItem(shardSchema, item, volumeId);
      shards.push([shard.segment, shard.bytes]);
    }
    return { deltaMap: DeltaMap.join(blocks, shards), segments: shards.map(([segment]) => segment) };
  }

  async readDigestLayerSegment(volumeId: string, runId: string, segment: number, volumeBlocks: number): Promise<DigestLayerSegment | undefined> {
    checkId(runId, 'runId');
    checkSegment(segment, volumeBlocks);
    const items = [];
    for await (const raw of this.table.queryPrefix(volumeId, digestSkPrefix(runId, segment))) items.push(parseItem(digestSchema, raw, volumeId));
    if (items.length === 0) return undefined;
    const [first] = items;
    const digests = Buffer.concat(items.map((item) => item.bytes));
    const whole = items.every((item, at) => item.chunk === at && item.chunks === first.chunks && item.checksum === first.checksum)
      && items.length === first.chunks && createHash('sha256').update(digests).digest('base64') === first.checksum;
    if (!whole || first.blocks === undefined) {
      throw new ChainStoreCorruptError(
        `volume ${volumeId}: the digests run ${runId} stored for segment ${segment} are ${whole ? 'not a manifest layer (no block list)' : 'incomplete or mixed'}; ` +
          'a scrub cannot check that segment: run a full verify', { volumeId, segment });
    }
    const blocks = DeltaMap.decodeSegment(volumeBlocks, segment, first.blocks);
    if (blocks.size * DIGEST_BYTES !== digests.length) {
      throw new ChainStoreCorruptError(`volume ${volumeId}: run ${runId} stored ${digests.length / DIGEST_BYTES} digests for ${blocks.size} blocks of segment ${segment}`, { volumeId, segment });
    }
    return { blocks, digests };
  }

  async deleteRunItems(volumeId: string, runId: string, options: { readonly keepDigests?: boolean } = {}): Promise<void> {
    checkId(runId, 'runId');
    const keys: Key[] = [];
    for (const prefix of options.keepDigests === true ? [runMapSkPrefix(runId)] : [digestSkPrefix(runId), runMapSkPrefix(runId)]) {
      for await (const item of this.table.queryPrefix(volumeId, prefix, true)) keys.push(itemKey(volumeId, String(item.sk)));
    }
    await this.table.batchWrite([], keys);
  }
}

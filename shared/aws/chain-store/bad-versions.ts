/**
 * The bad versions of a volume on the chain table (ARCHITECTURE.md "Verify"; `core/bad-versions.ts`):
 * one `BAD#<writer>#<segment>` item per writer entry and segment, holding the encoded blocks whose
 * copy that entry wrote is known bad. The one record of damage; every entry's trust is derived
 * from it when the chain is read.
 *
 * Recording is a union under an optimistic version check, so two checks that record at once both
 * land, and a retry adds nothing. A prune hands a pruned writer's versions to its successor
 * (before it removes the writer) and deletes the pruned writer's items afterwards.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { BadVersions } from '../../core/bad-versions';
import { MAX_VOLUME_BLOCKS, volumeBlocks } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import { badVersionSk, badVersionSkPrefix } from '../../core/table-keys';
import { ConcurrentUpdateError } from '../../core/ports/errors';
import { badVersionSchema, parseItem } from './items';
import { type ChainTableClient, itemKey } from './table';

/** Conditional updates of one item before giving up: each loser re-reads and unites again. */
const UPDATE_ATTEMPTS = 8;

/** Bad versions on the chain table. Callers check the lease's fence; this class only stores. */
export class BadVersionItems {
  constructor(private readonly table: ChainTableClient) {}

  /** Every bad version of the volume, by writer; blocks sized to `volumeSize` GiB (the chain's size). */
  async read(volumeId: string, volumeSize: number): Promise<Map<number, DeltaMap>> {
    const blocks = volumeBlocks(volumeSize);
    const result = new Map<number, DeltaMap>();
    for await (const raw of this.table.queryPrefix(volumeId, badVersionSkPrefix())) {
      const item = parseItem(badVersionSchema, raw, volumeId);
      const segment = DeltaMap.decodeSegment(blocks, item.segment, item.bytes);
      if (segment.isEmpty()) continue;
      const current = result.get(item.writer);
      result.set(item.writer, current === undefined ? segment : current.union(segment));
    }
    return result;
  }

  /** Unites `versions` into the stored ones. Idempotent. */
  async add(volumeId: string, versions: BadVersions): Promise<void> {
    for (const [writer, blocks] of versions) {
      for (const segment of blocks.segmentIndexes()) await this.addSegment(volumeId, writer, segment, blocks.segment(segment));
    }
  }

  /** Deletes every bad version written by `writer` (a pruned entry's, once handed on). Idempotent. */
  async deleteWriter(volumeId: string, writer: number): Promise<void> {
    const keys = [];
    for await (const raw of this.table.queryPrefix(volumeId, badVersionSkPrefix(writer), true)) keys.push(itemKey(volumeId, String(raw.sk)));
    await this.table.batchWrite([], keys);
  }

  private async addSegment(volumeId: string, writer: number, segment: number, blocks: DeltaMap): Promise<void> {
    const key = itemKey(volumeId, badVersionSk(writer, segment));
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const { Item } = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: key, ConsistentRead: true }));
      const stored = Item === undefined ? undefined : parseItem(badVersionSchema, Item, volumeId);
      // Decoded at the largest volume size: the item may predate a growth of the volume, or not.
      const current = stored === undefined ? undefined : DeltaMap.decodeSegment(MAX_VOLUME_BLOCKS, segment, stored.bytes);
      const merged = current === undefined ? blocks : current.union(blocks);
      if (current !== undefined && merged.size === current.size) return;
      try {
        await this.table.doc.send(new PutCommand({
          TableName: this.table.name,
          Item: { ...key, writer, segment, bytes: merged.encodeSegment(segment), version: (stored?.version ?? 0) + 1 },
          ConditionExpression: stored === undefined ? 'attribute_not_exists(sk)' : 'version = :version',
          ExpressionAttributeValues: stored === undefined ? undefined : { ':version': stored.version },
        }));
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new ConcurrentUpdateError(
      `volume ${volumeId}: the bad versions of entry ${writer} in segment ${segment} kept changing while being recorded; retry the step`,
      { volumeId, seq: writer, segment });
  }
}

/**
 * Pruning one restore point of the delta-map chain: its delta map merged into its successor's
 * under new keys (generation `g<n>`), then the entry removed. The `DeltaMapChain` family's
 * `pruneEntry`, apart because it is the one mutation that rewrites a committed entry.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { volumeBlocks } from '../../core/constants';
import { RetentionError } from '../../core/errors';
import type { Fence, PruneEntryResult } from '../../core/ports/chain-store';
import { entrySk, MAX_SEQ, mapSk, mapSkPrefix, volumePk } from '../../core/table-keys';
import { ConcurrentUpdateError } from '../../core/ports/errors';
import { handedToSuccessor } from '../../core/bad-versions';
import { BadVersionItems } from './bad-versions';
import { checkedFence, checkFence, checkSeq } from './checks';
import { type EntryItem, entrySchema, type Key, parseItem, shardChecksum, toChainEntry, withoutUndefined } from './items';
import { type ChainTableClient, itemKey } from './table';

/** Prunes restore points of the chain stored on the chain table (see `DeltaMapChain.pruneEntry`). */
export class ChainPruner {
  private readonly table: ChainTableClient;

  private readonly badVersions: BadVersionItems;

  constructor(table: ChainTableClient, badVersions: BadVersionItems) {
    this.table = table;
    this.badVersions = badVersions;
  }

  /**
   * ```
   *  BAD#succ += BAD#k − D_succ ─► MAP#succ#…#g(n+1) ─► ENTRY#succ{gen n+1, if checksum unchanged} ─► delete ENTRY#k ─► succ.kind=baseline (if k was first) ─► garbage (MAP#k, BAD#k)
   *  the same stored copies        ╰── invisible ──╯    commit point of the merge: D_succ ⊇ D_k                         ╰────── a retry finishes these ──────╯
   * ```
   *
   * `k`'s bad versions of blocks its successor did not rewrite are the copies the successor's
   * image holds from then on; they are handed over before the merge (which hides which blocks the
   * successor wrote itself), so a retry after the merge has nothing left to hand.
   */
  async pruneEntry(volumeId: string, seq: number, fence: Fence): Promise<PruneEntryResult> {
    checkSeq(seq);
    const meta = await this.table.readMeta(volumeId);
    checkFence(meta, fence);
    if (meta.inFlight?.seq === seq) {
      throw new RetentionError(`volume ${volumeId}: entry ${seq} is still in flight, not a restore point; it cannot be pruned`, { volumeId, seq });
    }
    if (meta.headSeq === undefined || seq >= meta.headSeq) {
      throw new RetentionError(
        seq === meta.headSeq
          ? `volume ${volumeId}: restore point ${seq} is the head, the parent of the next sync; it is never pruned`
          : `volume ${volumeId} has no restore point ${seq} to prune`,
        { volumeId, seq });
    }
    const [entry, successor] = await this.entryItems(volumeId, seq, meta.headSeq, 2);
    if (entry === undefined || entry.seq !== seq || successor === undefined) {
      // Pruned already; a crash may have stopped it before the successor became the baseline.
      await this.promoteFirstToBaseline(volumeId);
      await this.badVersions.deleteWriter(volumeId, seq);
      return { pruned: false };
    }
    const [before] = seq === 0 ? [] : await this.entryItems(volumeId, 0, seq - 1, 1);
    const shards = await this.table.batchGet([entry, successor].flatMap((item) =>
      item.segments.map((segment) => itemKey(volumeId, mapSk(item.seq, segment, item.mapGeneration)))));
    const pruned = toChainEntry(volumeId, entry, shards);
    const next = toChainEntry(volumeId, successor, shards);
    const handed = handedToSuccessor((await this.badVersions.read(volumeId, meta.volumeSize)).get(seq), next.deltaMap);
    if (!handed.isEmpty()) await this.badVersions.add(volumeId, new Map([[successor.seq, handed]]));
    const merged = pruned.deltaMap.union(next.deltaMap).resize(volumeBlocks(successor.volumeSize));
    if (!merged.equals(next.deltaMap)) {
      const generation = (successor.mapGeneration ?? 0) + 1;
      const mergedShards = merged.split();
      await this.table.batchWrite([...mergedShards].map(([segment, bytes]) => ({
        ...itemKey(volumeId, mapSk(successor.seq, segment, generation)), segment, bytes,
      })));
      const item: EntryItem = {
        ...successor,
        segments: [...mergedShards.keys()],
        shardCount: mergedShards.size,
        checksum: shardChecksum(mergedShards),
        mapGeneration: generation,
        // The pruned entry's digests, by reference: they still describe the copies the successor
        // now holds from it (its own layers come first and win).
        manifest: entry.manifest === undefined && successor.manifest === undefined ? undefined : [...(successor.manifest ?? []), ...(entry.manifest ?? [])],
      };
      try {
        await this.table.doc.send(new PutCommand({
          TableName: this.table.name,
          Item: withoutUndefined({ ...itemKey(volumeId, entrySk(successor.seq)), ...item }),
          ConditionExpression: 'checksum = :checksum',
          ExpressionAttributeValues: { ':checksum': successor.checksum },
        }));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        throw new ConcurrentUpdateError(
          `volume ${volumeId}: restore point ${successor.seq} changed while pruning ${seq} into it; retry the prune`,
          { volumeId, seq, cause: error });
      }
      await this.table.batchWrite([], successor.segments.map((segment) => itemKey(volumeId, mapSk(successor.seq, segment, successor.mapGeneration))));
    }
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: itemKey(volumeId, entrySk(seq)) }));
    if (before === undefined) await this.promoteFirstToBaseline(volumeId);
    const garbage: Key[] = [];
    for await (const shard of this.table.queryPrefix(volumeId, mapSkPrefix(seq), true)) garbage.push(itemKey(volumeId, String(shard.sk)));
    await this.table.batchWrite([], garbage);
    await this.badVersions.deleteWriter(volumeId, seq);
    // A holder superseded meanwhile learns it here, as recordBadVersions' does.
    await this.table.updateMeta(volumeId, (current) => ({ ...checkedFence(current, fence) }));
    return { pruned: true, successorSeq: successor.seq, secondarySnapshotId: entry.secondarySnapshotId };
  }

  /** Up to `limit` committed entry items with seq in [from, to], ascending, without their maps. */
  private async entryItems(volumeId: string, fromSeq: number, toSeq: number, limit: number): Promise<EntryItem[]> {
    const page = await this.table.doc.send(new QueryCommand({
      TableName: this.table.name,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': volumePk(volumeId), ':from': entrySk(fromSeq), ':to': entrySk(toSeq) },
      ConsistentRead: true,
      Limit: limit,
    }));
    return (page.Items ?? []).map((item) => parseItem(entrySchema, item, volumeId));
  }

  /** The chain's first entry must be the baseline: finishes a prune of the baseline a crash cut short. */
  private async promoteFirstToBaseline(volumeId: string): Promise<void> {
    const [first] = await this.entryItems(volumeId, 0, MAX_SEQ, 1);
    if (first === undefined || first.kind === 'baseline') return;
    await this.table.doc.send(new UpdateCommand({
      TableName: this.table.name,
      Key: itemKey(volumeId, entrySk(first.seq)),
      UpdateExpression: 'SET kind = :baseline',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':baseline': 'baseline' },
    }));
  }
}

/**
 * Access to the chain table shared by every family of the store: the DocumentClient, META's
 * read and optimistic conditional update, batches that retry unprocessed items, and paged
 * queries of a volume's partition.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { CHAIN_TABLE_KEY, META_SORT_KEY, volumePk } from '../../core/table-keys';
import { BatchRetryExhaustedError, ConcurrentUpdateError, VolumeNotProtectedError } from '../../core/ports/errors';
import type { Timer } from '../../core/ports/timer';
import { systemTimer } from '../timer';
import { checkId } from './checks';
import { type Item, type Key, type MetaItem, metaSchema, parseItem, type ShardItem, shardSchema, withoutUndefined } from './items';

/** DynamoDB's cap on one BatchWriteItem. */
const BATCH_WRITE_MAX_ITEMS = 25;

/** DynamoDB's cap on one BatchGetItem. */
const BATCH_GET_MAX_KEYS = 100;

/**
 * Attempts at a batch whose items keep coming back unprocessed (throttling). With the backoff
 * below the last retry waits ~2.5 s, ~5 s in all: long enough to ride out a throttling burst,
 * short enough that a Lambda fails visibly and Step Functions retries the task.
 */
const BATCH_MAX_ATTEMPTS = 8;

/** First backoff delay; doubled each attempt (full jitter, as AWS recommends for batches). */
const BATCH_BASE_DELAY_MS = 20;
const BATCH_MAX_DELAY_MS = 2_560;

/**
 * Rounds of read-check-write on META before giving up. META changes only under the lease,
 * plus lease renewals, so more than a couple of lost races means something is wrong.
 */
const META_UPDATE_MAX_ATTEMPTS = 5;

/** The primary key of item `sk` of `volumeId`. */
export function itemKey(volumeId: string, sk: string): Key {
  return { [CHAIN_TABLE_KEY.partitionKey]: volumePk(volumeId), [CHAIN_TABLE_KEY.sortKey]: sk };
}

/** The primary key of `volumeId`'s META record. */
export function metaKey(volumeId: string): Key {
  return itemKey(volumeId, META_SORT_KEY);
}

export interface ChainTableClientOptions {
  /** An SDK client (endpoint, region, credentials already set): tests point it at dynalite. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Clock for lease times (when the caller passes no `now`) and batch backoff; tests inject one that never waits. */
  readonly timer?: Timer;
}

/** The chain table as the store's families reach it: one per store, shared by all of them. */
export class ChainTableClient {
  readonly doc: DynamoDBDocumentClient;
  readonly name: string;
  readonly timer: Timer;

  constructor(options: ChainTableClientOptions) {
    // Items are stripped of undefined values here rather than with `removeUndefinedValues`:
    // DocumentClient.from() stores its options on the shared SDK client's config, so whoever wraps
    // the same client last decides them for everyone.
    this.doc = DynamoDBDocumentClient.from(options.client);
    this.name = options.tableName;
    this.timer = options.timer ?? systemTimer;
  }

  /** META of `volumeId`. @throws VolumeNotProtectedError when there is none. */
  async readMeta(volumeId: string): Promise<MetaItem> {
    checkId(volumeId, 'volumeId');
    const { Item } = await this.doc.send(new GetCommand({
      TableName: this.name, Key: metaKey(volumeId), ConsistentRead: true,
    }));
    if (Item === undefined) {
      throw new VolumeNotProtectedError(
        `volume ${volumeId} is not protected: protect it first: ebs-cdp protect ${volumeId}`, { volumeId });
    }
    return parseItem(metaSchema, Item, volumeId);
  }

  /**
   * Read, change, and put META back if nobody changed it meanwhile (optimistic `version`).
   * `change` returns undefined to leave META as is; it may throw to abort. `first` saves the
   * first read when the caller has just read META.
   */
  async updateMeta(
    volumeId: string,
    change: (current: MetaItem) => MetaItem | undefined,
    first?: MetaItem,
  ): Promise<MetaItem> {
    let current = first ?? await this.readMeta(volumeId);
    for (let attempt = 1; ; attempt++) {
      const next = change(current);
      if (next === undefined) return current;
      const written: MetaItem = { ...next, version: current.version + 1 };
      try {
        await this.doc.send(new PutCommand({
          TableName: this.name,
          Item: withoutUndefined({ ...metaKey(volumeId), ...written }),
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':version': current.version },
        }));
        return written;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (attempt >= META_UPDATE_MAX_ATTEMPTS) {
          throw new ConcurrentUpdateError(
            `volume ${volumeId}: its record kept changing under ${META_UPDATE_MAX_ATTEMPTS} attempts to update it; ` +
              'another process is writing it: check that only one deployment protects this volume, then retry',
            { volumeId, cause: error });
        }
      }
      current = await this.readMeta(volumeId);
    }
  }

  /** BatchWriteItem in chunks of 25, each retried until DynamoDB processed all of it. */
  async batchWrite(puts: Item[], deletes: Key[] = []): Promise<void> {
    const requests = [
      ...puts.map((Item) => ({ PutRequest: { Item } })),
      ...deletes.map((Key) => ({ DeleteRequest: { Key } })),
    ];
    for (let start = 0; start < requests.length; start += BATCH_WRITE_MAX_ITEMS) {
      let pending = requests.slice(start, start + BATCH_WRITE_MAX_ITEMS);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > BATCH_MAX_ATTEMPTS) {
          throw new BatchRetryExhaustedError(
            `BatchWriteItem left ${pending.length} items unprocessed after ${BATCH_MAX_ATTEMPTS} attempts: ` +
              `table ${this.name} is throttled; retry the step later (nothing was committed)`);
        }
        if (attempt > 1) await this.backoff(attempt);
        const { UnprocessedItems } = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.name]: pending } }));
        pending = (UnprocessedItems?.[this.name] ?? []) as typeof pending;
      }
    }
  }

  /** BatchGetItem in chunks of 100, retrying unprocessed keys; items keyed by `sk`. */
  async batchGet(keys: Key[]): Promise<Map<string, ShardItem>> {
    const found = new Map<string, ShardItem>();
    for (let start = 0; start < keys.length; start += BATCH_GET_MAX_KEYS) {
      let pending = keys.slice(start, start + BATCH_GET_MAX_KEYS);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > BATCH_MAX_ATTEMPTS) {
          throw new BatchRetryExhaustedError(
            `BatchGetItem left ${pending.length} keys unprocessed after ${BATCH_MAX_ATTEMPTS} attempts: ` +
              `table ${this.name} is throttled; retry later`);
        }
        if (attempt > 1) await this.backoff(attempt);
        const { Responses, UnprocessedKeys } = await this.doc.send(new BatchGetCommand({
          RequestItems: { [this.name]: { Keys: pending, ConsistentRead: true } },
        }));
        for (const item of Responses?.[this.name] ?? []) {
          const shard = parseItem(shardSchema, item, undefined);
          found.set(shard.sk, shard);
        }
        pending = (UnprocessedKeys?.[this.name]?.Keys ?? []) as Key[];
      }
    }
    return found;
  }

  /** Every item of the volume whose sort key starts with `prefix`, in key order; `keysOnly` projects `pk, sk, seq`. */
  async *queryPrefix(volumeId: string, prefix: string, keysOnly = false): AsyncIterable<Item> {
    let startKey: Key | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': volumePk(volumeId), ':prefix': prefix },
        ProjectionExpression: keysOnly ? 'pk, sk, seq' : undefined,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey as Key | undefined;
    } while (startKey !== undefined);
  }

  /** The keys of every item of the volume's partition. */
  async *queryVolumeKeys(volumeId: string): AsyncIterable<Item> {
    let startKey: Key | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.name,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': volumePk(volumeId) },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey as Key | undefined;
    } while (startKey !== undefined);
  }

  private backoff(attempt: number): Promise<void> {
    const ceiling = Math.min(BATCH_MAX_DELAY_MS, BATCH_BASE_DELAY_MS * 2 ** (attempt - 1));
    return this.timer.sleep(Math.random() * ceiling);
  }
}

/**
 * Shared set-up of the chain-store integration suites: a dynalite on a random loopback port,
 * the chain table, stores over real HTTP, builders of chain entries, and clients that count or
 * crash on writes.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbChainStore } from '../../../shared/aws/chain-store';
import type { Timer } from '../../../shared/core/ports/timer';
import type { ChainEntry, EntryKind } from '../../../shared/core/chain-entry';
import { volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import type { DirtyRegionLog } from '../../../shared/core/ports/chain-store';
import { createChainTable, type LocalDynamoDb, startLocalDynamoDb } from '../../../local/dynamodb';
import { LOCAL_CHAIN_TABLE } from '../../../local/config';

export const TABLE_NAME = LOCAL_CHAIN_TABLE;

/** Commands that change the table: the points where a crash can be injected. */
const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

/** Thrown in place of the k-th write: the process "died" before the request reached DynamoDB. */
export class SimulatedCrash extends Error {
  constructor(readonly write: number) {
    super(`simulated crash before write ${write}`);
    this.name = 'SimulatedCrash';
  }
}

export interface InstrumentedClient {
  readonly client: DynamoDBClient;
  /** Commands sent so far, by name (`QueryCommand`, `BatchWriteItemCommand`, …). */
  readonly calls: string[];
  /** Writes sent so far (a crashed one included). */
  writes(): number;
}

export interface Harness {
  readonly db: LocalDynamoDb;
  /** A store on a plain client. */
  readonly store: DynamoDbChainStore;
  /** A store on its own client, counting commands and optionally crashing on write `crashAtWrite`. */
  instrumentedStore(options?: { crashAtWrite?: number; pageSize?: number }): { store: DynamoDbChainStore } & InstrumentedClient;
  /** A fresh client on the same server (the caller destroys it, or `stop` does). */
  client(): DynamoDBClient;
  /** Every item under the volume's partition, by sort key. */
  rawItems(volumeId: string): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

/** Real clock, but backoff never waits: the suites test retries, not patience. */
export const instantTimer: Timer = { now: () => Date.now(), sleep: () => Promise.resolve() };

let nextVolume = 0;

/** A volume id no other test of the file uses, so tests share one table without interfering. */
export function uniqueVolumeId(label: string): string {
  nextVolume += 1;
  return `vol-${label}-${nextVolume}`;
}

/** Starts dynalite and creates the chain table; call in `beforeAll`. */
export async function startHarness(): Promise<Harness> {
  const db = await startLocalDynamoDb();
  const clients: DynamoDBClient[] = [];
  const client = (): DynamoDBClient => {
    const created = db.client();
    clients.push(created);
    return created;
  };
  const main = client();
  await createChainTable(main, TABLE_NAME);
  return {
    db,
    store: new DynamoDbChainStore({ client: main, tableName: TABLE_NAME, timer: instantTimer }),
    client,
    instrumentedStore(options = {}) {
      const instrumented = instrument(client(), options.crashAtWrite);
      return {
        ...instrumented,
        store: new DynamoDbChainStore({ client: instrumented.client, tableName: TABLE_NAME, timer: instantTimer, pageSize: options.pageSize }),
      };
    },
    async rawItems(volumeId) {
      const doc = DynamoDBDocumentClient.from(main);
      const items: Array<Record<string, unknown>> = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(new QueryCommand({
          TableName: TABLE_NAME,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `VOL#${volumeId}` },
          ExclusiveStartKey: startKey,
        }));
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      return items;
    },
    async stop() {
      for (const each of clients) each.destroy();
      await db.stop();
    },
  };
}

function instrument(client: DynamoDBClient, crashAtWrite: number | undefined): InstrumentedClient {
  const calls: string[] = [];
  let writes = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'UnknownCommand';
      calls.push(command);
      if (WRITE_COMMANDS.has(command)) {
        writes += 1;
        if (writes === crashAtWrite) throw new SimulatedCrash(writes);
      }
      return next(args);
    },
    { step: 'initialize', name: 'instrumentCommands' },
  );
  return { client, calls, writes: () => writes };
}

/** A volume of this size spans 64 segments, so its delta maps need several BatchWriteItem calls. */
export const WIDE_VOLUME_SIZE = 2_048;

/** One block in each of the first `segments` segments (block `s * 65,536 + s + offset`). */
export function blockPerSegment(segments: number, offset = 0): number[] {
  return Array.from({ length: segments }, (_, segment) => segment * 65_536 + segment + offset);
}

export interface EntrySpec {
  readonly seq: number;
  readonly kind?: EntryKind;
  readonly blocks: readonly number[];
  /** GiB; 8 when absent. */
  readonly volumeSize?: number;
}

/** A committed entry with snapshot ids and times derived from its seq. */
export function committedEntry(spec: EntrySpec): ChainEntry {
  const volumeSize = spec.volumeSize ?? 8;
  return {
    seq: spec.seq,
    kind: spec.kind ?? (spec.seq === 0 ? 'baseline' : 'sync'),
    deltaMap: DeltaMap.of(volumeBlocks(volumeSize), spec.blocks),
    primarySnapshotId: `snap-p${spec.seq}`,
    secondarySnapshotId: `snap-s${spec.seq}`,
    volumeSize,
    status: 'committed',
    trust: 'trusted',
    suspectBlocks: 0,
    pointInTime: new Date(Date.UTC(2026, 0, 1, 0, spec.seq)).toISOString(),
    committedAt: new Date(Date.UTC(2026, 0, 1, 0, spec.seq, 30)).toISOString(),
  };
}

/** The DRL of `entry` before it is copied, for run `runId`. */
export function dirtyRegionLogOf(entry: ChainEntry, runId: string): DirtyRegionLog {
  return {
    runId,
    seq: entry.seq,
    kind: entry.kind,
    primarySnapshotId: entry.primarySnapshotId,
    secondarySnapshotId: entry.secondarySnapshotId,
    volumeSize: entry.volumeSize,
    pointInTime: entry.pointInTime,
    deltaMap: entry.deltaMap,
  };
}

/** Drains an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** What a reader can see of an entry, in plain values that `toEqual` compares. */
export function entryView(entry: ChainEntry): Record<string, unknown> {
  return {
    seq: entry.seq,
    kind: entry.kind,
    status: entry.status,
    trust: entry.trust,
    suspectBlocks: entry.suspectBlocks,
    primarySnapshotId: entry.primarySnapshotId,
    secondarySnapshotId: entry.secondarySnapshotId,
    volumeSize: entry.volumeSize,
    pointInTime: entry.pointInTime,
    committedAt: entry.committedAt,
    blocks: entry.deltaMap.toArray(),
  };
}

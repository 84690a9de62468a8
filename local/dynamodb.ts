/**
 * The local cloud's DynamoDB: dynalite (a DynamoDB server on LevelDB) listening on loopback,
 * so the chain store runs against the real AWS SDK over real HTTP. dynalite has no
 * transactions and no TTL, which is why the chain store needs neither.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CHAIN_TABLE_KEY } from '../shared/core/table-keys';
import { EbsCdpError } from '../shared/core/errors';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './config';

/** Loopback only: the local cloud must never be reachable from another host. */
const LOOPBACK_HOST = '127.0.0.1';

/** Port 0 asks the OS for a free port, so parallel test files never collide. */
const RANDOM_PORT = 0;

/**
 * dynalite keeps a new table CREATING for 500 ms by default to imitate DynamoDB; the local
 * cloud gains nothing from the wait.
 */
const TABLE_STATE_DELAY_MS = 0;

/** Polls of DescribeTable before giving up on a table becoming ACTIVE. */
const TABLE_ACTIVE_MAX_POLLS = 50;

/** Pause between those polls: dynalite flips the state on its next tick, so this is plenty. */
const TABLE_ACTIVE_POLL_MS = 20;

export interface LocalDynamoDbOptions {
  /** Loopback port to listen on; a random free one when absent. */
  port?: number;
  /** Directory for a persisted store (survives restarts); in memory when absent. */
  path?: string;
}

/** A running dynalite. */
export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>`: pass as the SDK client's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** A DynamoDB client pointed at this server (dummy credentials). */
  client(): DynamoDBClient;
  /** Stops listening and closes the store. Idempotent. */
  stop(): Promise<void>;
}

/** The local DynamoDB did not start or did not create its table. */
export class LocalDynamoDbError extends EbsCdpError {
  static override readonly errorName: string = 'LocalDynamoDbError';
}

/**
 * Starts dynalite on loopback.
 *
 * @example
 * const db = await startLocalDynamoDb();
 * const client = db.client();
 * await createChainTable(client, 'ebs-cdp-chain');
 * // … use it …
 * client.destroy();
 * await db.stop();
 */
export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const server = dynalite({
    path: options.path,
    createTableMs: TABLE_STATE_DELAY_MS,
    deleteTableMs: TABLE_STATE_DELAY_MS,
    updateTableMs: TABLE_STATE_DELAY_MS,
  });
  await listen(server, options.port ?? RANDOM_PORT);
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${LOOPBACK_HOST}:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    port,
    client: () => new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    stop: () => {
      stopped ??= close(server);
      return stopped;
    },
  };
}

/**
 * Creates the chain table with the key schema the CDK stack deploys (`pk` S hash, `sk` S
 * range, on-demand) and waits until it is ACTIVE. Idempotent: an existing table (a persisted
 * store reopened) is accepted as is.
 */
export async function createChainTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: CHAIN_TABLE_KEY.partitionKey, AttributeType: 'S' },
        { AttributeName: CHAIN_TABLE_KEY.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: CHAIN_TABLE_KEY.partitionKey, KeyType: 'HASH' },
        { AttributeName: CHAIN_TABLE_KEY.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let poll = 0; poll < TABLE_ACTIVE_MAX_POLLS; poll++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, TABLE_ACTIVE_POLL_MS));
  }
  throw new LocalDynamoDbError(
    `Table ${tableName} did not become ACTIVE after ${TABLE_ACTIVE_MAX_POLLS} polls: restart the local DynamoDB.`,
  );
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void =>
      reject(new LocalDynamoDbError(`Local DynamoDB could not listen on ${LOOPBACK_HOST}:${port}: pick another port.`, { cause: error }));
    server.once('error', onError);
    server.listen(port, LOOPBACK_HOST, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // SDK clients keep sockets alive; without this, close waits for them to time out.
    server.closeAllConnections();
  });
}

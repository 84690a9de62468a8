/**
 * The local cloud's DynamoDB (dynalite on loopback): ports, persistence, and the chain table's
 * key schema, which must be the one the CDK stack deploys.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createChainTable, LocalDynamoDbError, startLocalDynamoDb } from '../../../local/dynamodb';

const TABLE_NAME = 'ebs-cdp-chain';

/** A port that was free a moment ago (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

describe('startLocalDynamoDb', () => {
  it('listens on a random loopback port by default', async () => {
    // Act
    const db = await startLocalDynamoDb();

    // Assess
    try {
      expect(db.port).toBeGreaterThan(0);
      expect(db.endpoint).toBe(`http://127.0.0.1:${db.port}`);
    } finally {
      await db.stop();
    }
  });

  it('listens on the port it is given, and says so when the port is taken', async () => {
    // Prepare
    const port = await freePort();

    // Act
    const db = await startLocalDynamoDb({ port });
    const second = startLocalDynamoDb({ port });

    // Assess
    try {
      expect(db.port).toBe(port);
      await expect(second).rejects.toBeInstanceOf(LocalDynamoDbError);
      await expect(second).rejects.toThrow(`could not listen on 127.0.0.1:${port}: pick another port`);
    } finally {
      await db.stop();
    }
  });

  it('keeps items across a restart when persisted under a directory', async () => {
    // Prepare
    const path = await mkdtemp(join(tmpdir(), 'ebs-cdp-dynamodb-'));
    const item = { pk: { S: 'VOL#vol-1' }, sk: { S: 'META' }, headSeq: { N: '4' } };
    try {
      const first = await startLocalDynamoDb({ path });
      const firstClient = first.client();
      await createChainTable(firstClient, TABLE_NAME);
      await firstClient.send(new PutItemCommand({ TableName: TABLE_NAME, Item: item }));
      firstClient.destroy();
      await first.stop();

      // Act
      const second = await startLocalDynamoDb({ path });
      const secondClient = second.client();
      await createChainTable(secondClient, TABLE_NAME);
      const { Item } = await secondClient.send(new GetItemCommand({ TableName: TABLE_NAME, Key: { pk: item.pk, sk: item.sk } }));
      secondClient.destroy();
      await second.stop();

      // Assess
      expect(Item).toEqual(item);
    } finally {
      await rm(path, { recursive: true, force: true });
    }
  });

  it('stops idempotently', async () => {
    // Prepare
    const db = await startLocalDynamoDb();

    // Act
    await db.stop();
    const again = db.stop();

    // Assess
    await expect(again).resolves.toBeUndefined();
  });
});

describe('createChainTable', () => {
  it('creates an on-demand table keyed by pk (S) and sk (S), ready to use', async () => {
    // Prepare
    const db = await startLocalDynamoDb();
    const client = db.client();

    try {
      // Act
      await createChainTable(client, TABLE_NAME);
      await createChainTable(client, TABLE_NAME);

      // Assess
      const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE_NAME }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.KeySchema).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ]);
      expect(Table?.AttributeDefinitions).toEqual([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]);
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    } finally {
      client.destroy();
      await db.stop();
    }
  });
});

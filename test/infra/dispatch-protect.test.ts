import { UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { engineVolumeConfig, parseProtectionConfig } from '../../infra/config';
import { EbsCdpStack } from '../../infra/ebs-cdp-stack';
import { createChainTable, startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb';
import { DynamoDbChainStore } from '../../shared/aws/chain-store';

const VOLUME_ID = 'vol-0123456789abcdef0';
const VOLUME_SIZE_GIB = 8;
const TABLE = 'ebs-cdp-chain';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The ProtectVolume state's UpdateItem as Step Functions would send it for one volume: the
 * JSONPath / intrinsic fields (`….$`) replaced by what they evaluate to for that Map item.
 */
function protectVolumeRequest(template: Template, volumeId: string, volumeSize: number): UpdateItemCommandInput {
  const [dispatch] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) => id.startsWith('SchedulesDispatch'));
  const parts = (dispatch?.[1].Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const definition = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'RESOLVED')).join('')) as {
    States: { EachVolume: { ItemProcessor: { States: { ProtectVolume: { Parameters: Record<string, Json> } } } } };
  };
  const evaluated: Record<string, string> = {
    "States.Format('VOL#{}', $.volumeId)": `VOL#${volumeId}`,
    '$.volumeId': volumeId,
    '$.volumeSize': String(volumeSize),
  };
  const substitute = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(substitute);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => {
      if (!key.endsWith('.$')) return [key, substitute(inner)];
      const result = evaluated[String(inner)];
      if (result === undefined) throw new Error(`no evaluation for ${String(inner)}`);
      return [key.slice(0, -2), result];
    }));
  };
  const parameters = substitute(definition.States.EachVolume.ItemProcessor.States.ProtectVolume.Parameters) as Record<string, Json>;
  return { ...(parameters as unknown as UpdateItemCommandInput), TableName: TABLE };
}

describe('Dispatch', () => {
  let db: LocalDynamoDb;
  let template: Template;
  const config = parseProtectionConfig({ volumes: [{ volumeId: VOLUME_ID }], retention: { keepLast: 5, keepWithinDays: 1 } }, 'test');

  beforeAll(async () => {
    template = Template.fromStack(new EbsCdpStack(new App(), 'Test', { taskCode: 'stub', config }));
    db = await startLocalDynamoDb();
    const client = db.client();
    await createChainTable(client, TABLE);
    client.destroy();
  });

  afterAll(async () => {
    await db.stop();
  });

  describe('ProtectVolume', () => {
    it('writes a META the chain store reads as a protected volume, and leaves the engine’s state alone on the next run', async () => {
      // Prepare
      const client = db.client();
      const store = new DynamoDbChainStore({ client, tableName: TABLE });
      const request = protectVolumeRequest(template, VOLUME_ID, VOLUME_SIZE_GIB);

      // Act
      await client.send(new UpdateItemCommand(request));
      const grant = await store.acquireLease(VOLUME_ID, { holder: 'run-1', runId: 'run-1', ttlMs: 60_000 });
      await client.send(new UpdateItemCommand(protectVolumeRequest(template, VOLUME_ID, VOLUME_SIZE_GIB * 2)));
      const volume = await store.getVolume(VOLUME_ID);
      const again = await store.acquireLease(VOLUME_ID, { holder: 'run-1', runId: 'run-1', ttlMs: 60_000 });

      // Assess
      expect(volume.volumeSize).toBe(VOLUME_SIZE_GIB); // set once; the engine owns it after
      expect(volume.config).toEqual(engineVolumeConfig(config));
      expect(again.fencingToken).toBe(grant.fencingToken); // the lease survived the second dispatch
      client.destroy();
    });
  });
});

import { DEFAULT_TUNING, SEGMENT_MAP_MAX_CONCURRENCY } from '../../../shared/engine/context';
import { engineConfigFromEnv, createEngineContext } from '../../../shared/wiring/engine-context';
import { EngineConfigError } from '../../../shared/engine/errors';

describe('engineConfigFromEnv', () => {
  describe('engineConfigFromEnv', () => {
    it('reads the tables, Regions, local endpoints and KMS key', () => {
      // Act
      const config = engineConfigFromEnv({
        CHAIN_TABLE: 'chain',
        PRIMARY_REGION: 'us-east-1',
        SECONDARY_REGION: 'us-west-2',
        EBS_ENDPOINT: 'http://127.0.0.1:4000',
        EC2_ENDPOINT: 'http://127.0.0.1:4001',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:4002',
        SECONDARY_KMS_KEY_ID: 'alias/ebs-cdp',
      });

      // Assess
      expect(config).toEqual({
        chainTable: 'chain',
        primary: { region: 'us-east-1', ebsEndpoint: 'http://127.0.0.1:4000', ec2Endpoint: 'http://127.0.0.1:4001' },
        secondary: { region: 'us-west-2', ebsEndpoint: 'http://127.0.0.1:4000', ec2Endpoint: 'http://127.0.0.1:4001' },
        dynamoDbEndpoint: 'http://127.0.0.1:4002',
        secondaryKmsKeyId: 'alias/ebs-cdp',
      });
    });

    it('treats empty variables as unset', () => {
      // Act
      const config = engineConfigFromEnv({ CHAIN_TABLE: 't', PRIMARY_REGION: 'eu-west-1', SECONDARY_REGION: 'eu-west-1', EBS_ENDPOINT: '', SECONDARY_KMS_KEY_ID: '' });

      // Assess
      expect(config.primary.ebsEndpoint).toBeUndefined();
      expect(config.secondaryKmsKeyId).toBeUndefined();
    });

    it('names every missing or malformed variable in one EngineConfigError', () => {
      // Act
      const read = (): unknown => engineConfigFromEnv({ PRIMARY_REGION: 'us-east-1', EBS_ENDPOINT: 'not a url' });

      // Assess
      expect(read).toThrow(EngineConfigError);
      expect(read).toThrow(/CHAIN_TABLE.*SECONDARY_REGION.*EBS_ENDPOINT|CHAIN_TABLE[\s\S]*EBS_ENDPOINT/);
    });
  });
});

describe('createEngineContext', () => {
  describe('createEngineContext', () => {
    it('gives each Map item an equal share of the account quotas and keeps overrides', () => {
      // Act
      const context = createEngineContext({
        chainTable: 't',
        primary: { region: 'us-east-1', ebsEndpoint: 'http://127.0.0.1:1', ec2Endpoint: 'http://127.0.0.1:1' },
        secondary: { region: 'us-east-1', ebsEndpoint: 'http://127.0.0.1:1', ec2Endpoint: 'http://127.0.0.1:2' },
        tuning: { blockWorkers: 3 },
      });
      context.close();

      // Assess
      expect(context.tuning.blockWorkers).toBe(3);
      expect(context.tuning.accountRates.GetSnapshotBlock * SEGMENT_MAP_MAX_CONCURRENCY).toBe(1_000);
      expect(context.tuning.leaseTtlMs).toBe(DEFAULT_TUNING.leaseTtlMs);
      expect(context.secondary.kmsKeyId).toBeUndefined();
    });
  });
});

describe('createEngineContext', () => {
  describe('rate limiters', () => {
    // The limiter is private to the adapters; reading it is the only way to see the sharing.
    const limiterOf = (reader: unknown): unknown => (reader as { options: { limiter: unknown } }).options.limiter;

    it('shares one EBS budget between the sides when they live in one Region, since quotas are per account and Region', () => {
      // Prepare
      const side = { region: 'us-east-1', ebsEndpoint: 'http://127.0.0.1:4000', ec2Endpoint: 'http://127.0.0.1:4000' };

      // Act
      const context = createEngineContext({ chainTable: 't', primary: side, secondary: { ...side }, dynamoDbEndpoint: 'http://127.0.0.1:4001' });

      // Assess
      expect(limiterOf(context.primary.reader)).toBe(limiterOf(context.secondary.reader));
      expect(limiterOf(context.primary.writer)).toBe(limiterOf(context.secondary.writer));
      context.close();
    });

    it('gives each Region its own budget', () => {
      // Act
      const context = createEngineContext({
        chainTable: 't',
        primary: { region: 'us-east-1' },
        secondary: { region: 'us-west-2' },
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });

      // Assess
      expect(limiterOf(context.primary.reader)).not.toBe(limiterOf(context.secondary.reader));
      expect(limiterOf(context.primary.reader)).toBe(limiterOf(context.primary.writer));
      context.close();
    });
  });
});

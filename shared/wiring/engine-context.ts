/**
 * The composition root (ARCHITECTURE.md, Layers): builds the engine context from plain config:
 * SDK clients per side, one rate limiter per EBS quota scope, the adapters of `shared/aws` behind
 * the ports of `shared/core`. The only module that knows both the engine and the adapters; a
 * Lambda's cold start calls {@link createEngineContext}`(`{@link engineConfigFromEnv}`(process.env))`,
 * the local cloud calls it with its endpoints.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { DynamoDbChainStore } from '../aws/chain-store';
import { createSideClients, SDK_MAX_ATTEMPTS, type SideClients, type StaticCredentials } from '../aws/clients';
import { Ec2PrimarySnapshots } from '../aws/ec2-snapshots';
import { Ec2Volumes } from '../aws/ec2-volumes';
import { RateLimiter } from '../aws/rate-limiter';
import { Ec2SnapshotLookup } from '../aws/snapshot-lookup';
import { EbsSnapshotReader } from '../aws/snapshot-reader';
import { Ec2SnapshotWaiter } from '../aws/snapshot-waiter';
import { EbsSnapshotWriter } from '../aws/snapshot-writer';
import { systemTimer } from '../aws/timer';
import type { Timer } from '../core/ports/timer';
import { DEFAULT_TUNING, type EngineContext, type EngineLogger, type EngineTuning, silentLogger } from '../engine/context';
import { EngineConfigError } from '../engine/errors';

/** Endpoints of one side; absent on AWS, set to the emulator for the local cloud. */
export interface SideEndpoints {
  readonly region: string;
  readonly ebsEndpoint?: string;
  readonly ec2Endpoint?: string;
}

/** Plain configuration of an engine process. */
export interface EngineConfig {
  readonly chainTable: string;
  readonly primary: SideEndpoints;
  readonly secondary: SideEndpoints;
  /** Set for the local cloud (dynalite). */
  readonly dynamoDbEndpoint?: string;
  /** The chain table's Region; the primary's when absent (it protects primary volumes). */
  readonly dynamoDbRegion?: string;
  /** KMS key id or ARN for an encrypted secondary lineage. */
  readonly secondaryKmsKeyId?: string;
  /** Static credentials (the local cloud); the default provider chain when absent. */
  readonly credentials?: StaticCredentials;
  readonly tuning?: Partial<EngineTuning>;
  /** Poll interval of the adapters' bounded waits (tests shorten it). */
  readonly pollIntervalMs?: number;
  /** Injected time for tests; real time when absent. */
  readonly timer?: Timer;
  readonly logger?: EngineLogger;
}

/** Dummy credentials the local cloud accepts when an endpoint is set and none are given. */
const LOCAL_CREDENTIALS: StaticCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * The EBS quota scope of a side: quotas are per account and Region, so two sides with the same
 * Region and endpoint (one account per deployment) share one budget.
 */
export function quotaScope(side: SideEndpoints): string {
  return `${side.region}|${side.ebsEndpoint ?? ''}`;
}

/** The EBS and EC2 clients of one side; EBS and EC2 endpoints may differ (two emulators). */
function buildSide(side: SideEndpoints, credentials: StaticCredentials | undefined): SideClients {
  const ebsSide = createSideClients({ region: side.region, endpoint: side.ebsEndpoint, credentials });
  if (side.ec2Endpoint === side.ebsEndpoint) return ebsSide;
  // Two endpoints: keep each side's matching half; both pairs are closed together.
  const ec2Side = createSideClients({ region: side.region, endpoint: side.ec2Endpoint, credentials });
  return { ebs: ebsSide.ebs, ec2: ec2Side.ec2, destroy: () => { ebsSide.destroy(); ec2Side.destroy(); } };
}

/**
 * Builds the engine context: SDK clients per side (`shared/aws/clients.ts`), one rate limiter
 * per EBS quota scope (account and Region) shared by every reader and writer in it, the DynamoDB
 * chain store.
 *
 * @example
 * const context = createEngineContext(engineConfigFromEnv(process.env));
 * const begun = await syncBegin(context, { volumeId, runId });
 */
export function createEngineContext(config: EngineConfig): EngineContext {
  const tuning: EngineTuning = { ...DEFAULT_TUNING, ...config.tuning };
  const timer = config.timer ?? systemTimer;
  const localEndpoint = config.primary.ebsEndpoint ?? config.primary.ec2Endpoint ?? config.dynamoDbEndpoint;
  const credentials = config.credentials ?? (localEndpoint === undefined ? undefined : LOCAL_CREDENTIALS);
  const primary = buildSide(config.primary, credentials);
  const secondary = buildSide(config.secondary, credentials);
  const dynamo = new DynamoDBClient({
    region: config.dynamoDbRegion ?? config.primary.region,
    endpoint: config.dynamoDbEndpoint,
    credentials,
    maxAttempts: SDK_MAX_ATTEMPTS,
  });
  const ec2Options = { timer, pollIntervalMs: config.pollIntervalMs };
  // EBS quotas are per account and Region: when both sides live in one Region (the usual local
  // and single-Region setup) a verify's reads of P0 and S_head draw on one GetSnapshotBlock
  // budget, so they must share one limiter, or together they ask for twice the quota and the
  // throttles halve both (the quota bench measured 20 % of the quota before this).
  const limiters = new Map<string, RateLimiter>();
  const limiterFor = (side: SideEndpoints): RateLimiter => {
    const scope = quotaScope(side);
    let limiter = limiters.get(scope);
    if (limiter === undefined) {
      limiter = new RateLimiter({ accountRates: tuning.accountRates, timer });
      limiters.set(scope, limiter);
    }
    return limiter;
  };
  const sideAdapters = (
    clients: SideClients,
    endpoints: SideEndpoints,
  ): { reader: EbsSnapshotReader; writer: EbsSnapshotWriter; waiter: Ec2SnapshotWaiter; lookup: Ec2SnapshotLookup } => {
    const limiter = limiterFor(endpoints);
    return {
      reader: new EbsSnapshotReader(clients.ebs, { limiter, timer }),
      writer: new EbsSnapshotWriter(clients.ebs, { limiter, timer }),
      waiter: new Ec2SnapshotWaiter(clients.ec2, ec2Options),
      lookup: new Ec2SnapshotLookup(clients.ec2, ec2Options),
    };
  };
  const p = sideAdapters(primary, config.primary);
  const s = sideAdapters(secondary, config.secondary);
  return {
    store: new DynamoDbChainStore({ client: dynamo, tableName: config.chainTable, timer }),
    primary: {
      reader: p.reader,
      writer: p.writer,
      snapshots: new Ec2PrimarySnapshots(primary.ec2, ec2Options),
      waiter: p.waiter,
      volumes: new Ec2Volumes(primary.ec2, ec2Options),
      lookup: p.lookup,
    },
    secondary: {
      reader: s.reader,
      writer: s.writer,
      waiter: s.waiter,
      snapshots: new Ec2PrimarySnapshots(secondary.ec2, ec2Options),
      lookup: s.lookup,
      kmsKeyId: config.secondaryKmsKeyId,
    },
    clock: { now: () => timer.now() },
    logger: config.logger ?? silentLogger,
    tuning,
    close() {
      primary.destroy();
      secondary.destroy();
      dynamo.destroy();
    },
  };
}

const optionalUrl = z.url().optional();

/** The environment of every engine Lambda (the CDK stack sets it; the local runner too). */
export const engineEnvSchema = z.object({
  CHAIN_TABLE: z.string().min(1),
  PRIMARY_REGION: z.string().min(1),
  SECONDARY_REGION: z.string().min(1),
  EBS_ENDPOINT: optionalUrl,
  EC2_ENDPOINT: optionalUrl,
  DYNAMODB_ENDPOINT: optionalUrl,
  SECONDARY_KMS_KEY_ID: z.string().min(1).optional(),
});

export type EngineEnv = z.infer<typeof engineEnvSchema>;

/**
 * Reads the engine's configuration from environment variables, validated.
 *
 * @throws EngineConfigError naming every missing or malformed variable
 * @example
 * const context = createEngineContext(engineConfigFromEnv(process.env));
 */
export function engineConfigFromEnv(env: Readonly<Record<string, string | undefined>>): EngineConfig {
  // Empty strings (a CDK environment left blank) mean "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = engineEnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new EngineConfigError(`the engine's environment is incomplete or malformed (${problems}); set it in the stack or the local runner`);
  }
  const e = parsed.data;
  return {
    chainTable: e.CHAIN_TABLE,
    primary: { region: e.PRIMARY_REGION, ebsEndpoint: e.EBS_ENDPOINT, ec2Endpoint: e.EC2_ENDPOINT },
    secondary: { region: e.SECONDARY_REGION, ebsEndpoint: e.EBS_ENDPOINT, ec2Endpoint: e.EC2_ENDPOINT },
    dynamoDbEndpoint: e.DYNAMODB_ENDPOINT,
    secondaryKmsKeyId: e.SECONDARY_KMS_KEY_ID,
  };
}

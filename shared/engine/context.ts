/**
 * The engine's context: every port an engine step needs (chain store, primary side, secondary
 * side, clock, logger) and its tuning, built once per Lambda cold start from plain config
 * ({@link engineConfigFromEnv}) or by a test from the local cloud's endpoints.
 *
 * Engine steps take an `EngineContext` and never construct SDK clients themselves, so tests can
 * wrap any port (e.g. one that throws mid-copy to inject a crash) by spreading a new context.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { DynamoDbChainStore } from '../aws/chain-store';
import { createSideClients, SDK_MAX_ATTEMPTS, type SideClients, type StaticCredentials } from '../aws/clients';
import { Ec2PrimarySnapshots } from '../aws/ec2-snapshots';
import { Ec2Volumes } from '../aws/ec2-volumes';
import { DEFAULT_ACCOUNT_RATES, type EbsApi, RateLimiter } from '../aws/rate-limiter';
import { EbsSnapshotReader } from '../aws/snapshot-reader';
import { Ec2SnapshotWaiter } from '../aws/snapshot-waiter';
import { EbsSnapshotWriter } from '../aws/snapshot-writer';
import { systemTimer, type Timer } from '../aws/timer';
import type { ChainStore } from '../core/ports/chain-store';
import type { PrimarySnapshots, SnapshotReader, SnapshotWaiter, SnapshotWriter, Volumes } from '../core/ports/snapshots';
import { EngineConfigError } from './errors';
import { Ec2SnapshotLookup } from '../aws/snapshot-lookup';
import type { SnapshotLookup } from '../core/ports/snapshots';

/**
 * The subset of Powertools' `Logger` the engine calls, so a Powertools logger (with its
 * `volumeId` / `runId` keys appended by the handler) can be passed as is, and tests can pass a
 * silent one.
 */
export interface EngineLogger {
  debug(message: string, ...extra: Array<Record<string, unknown>>): void;
  info(message: string, ...extra: Array<Record<string, unknown>>): void;
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  error(message: string, ...extra: Array<Record<string, unknown>>): void;
}

/** A logger that drops everything (tests, tools). */
export const silentLogger: EngineLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Time as the engine sees it: `now()` stamps points in time and lease expiries; tests move it. */
export interface EngineClock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Reading, waiting for, taking and deleting snapshots on the primary's side, and its volumes. */
export interface PrimarySide {
  readonly reader: SnapshotReader;
  /** Writes a restore's target snapshot (parent `P_now`) in the primary's Region. */
  readonly writer: SnapshotWriter;
  /** EC2 CreateSnapshot / DeleteSnapshot of primary snapshots. */
  readonly snapshots: PrimarySnapshots;
  readonly waiter: SnapshotWaiter;
  readonly volumes: Volumes;
  /** Our snapshots by tag: finds a `P_now` a crashed step already took. */
  readonly lookup: SnapshotLookup;
}

/** Reading, writing, waiting for and deleting secondary snapshots. */
export interface SecondarySide {
  readonly reader: SnapshotReader;
  readonly writer: SnapshotWriter;
  readonly waiter: SnapshotWaiter;
  /** DeleteSnapshot of our secondary snapshots (ownership-checked): pruning, discarding orphans. */
  readonly snapshots: PrimarySnapshots;
  readonly lookup: SnapshotLookup;
  /** KMS key of a new encrypted secondary lineage (the baseline's StartSnapshot); absent = unencrypted. */
  readonly kmsKeyId?: string;
}

/** Knobs of one engine process (one Lambda): concurrency, budgets, lease and snapshot timings. */
export interface EngineTuning {
  /** Blocks in flight per CopySegment (memory: two 512 KiB buffers each). */
  readonly blockWorkers: number;
  /** This process's share of each EBS account quota, requests per second. */
  readonly accountRates: Readonly<Record<EbsApi, number>>;
  /** How long a job's lease lasts without renewal. */
  readonly leaseTtlMs: number;
  /** StartSnapshot's timeout: a secondary snapshot not completed by then goes to `error`. */
  readonly snapshotTimeoutMinutes: number;
}

/**
 * Segments copied at once (the Map state's MaxConcurrency). Four keeps four Lambdas × one
 * snapshot's 1,000 blocks/s under the account's 1,000 GetSnapshotBlock/s only if each takes a
 * quarter: {@link DEFAULT_TUNING} gives each that quarter.
 */
export const SEGMENT_MAP_MAX_CONCURRENCY = 4;

/**
 * 64 workers (coldsnap's SNAPSHOT_BLOCK_WORKERS): ~50 ms per block request × 64 fills the
 * 250 requests/s share of one Map item with room to spare, within 64 MiB of buffers.
 */
export const DEFAULT_BLOCK_WORKERS = 64;

/**
 * One hour: a sync copies one interval's changes, far less than an hour's worth, so a live run
 * never outlasts it; and a run that died without its Catch (lost execution) frees the volume
 * for the next scheduled run within the hour.
 */
export const DEFAULT_LEASE_TTL_MS = 3_600_000;

/**
 * One day: long enough for a crashed sync's pending secondary to be resumed by the next run
 * (minutes later), short enough that abandoned ones free their slot of the 100 pending
 * snapshots per account the same day.
 */
export const DEFAULT_SNAPSHOT_TIMEOUT_MINUTES = 1_440;

/** Each Map item gets an equal share of every account quota, so the items together stay under it. */
function accountShare(): Record<EbsApi, number> {
  const share = {} as Record<EbsApi, number>;
  for (const [api, rate] of Object.entries(DEFAULT_ACCOUNT_RATES) as Array<[EbsApi, number]>) {
    share[api] = rate / SEGMENT_MAP_MAX_CONCURRENCY;
  }
  return share;
}

export const DEFAULT_TUNING: EngineTuning = {
  blockWorkers: DEFAULT_BLOCK_WORKERS,
  accountRates: accountShare(),
  leaseTtlMs: DEFAULT_LEASE_TTL_MS,
  snapshotTimeoutMinutes: DEFAULT_SNAPSHOT_TIMEOUT_MINUTES,
};

/** Everything an engine step uses. Build it with {@link createEngineContext}. */
export interface EngineContext {
  readonly store: ChainStore;
  readonly primary: PrimarySide;
  readonly secondary: SecondarySide;
  readonly clock: EngineClock;
  readonly logger: EngineLogger;
  readonly tuning: EngineTuning;
  /** Closes the SDK clients' sockets (tests; a Lambda keeps them for the next invocation). */
  close(): void;
}

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

/** The EBS and EC2 clients of one side; EBS and EC2 endpoints may differ (two emulators). */
/**
 * The EBS quota scope of a side: quotas are per account and Region, so two sides with the same
 * Region and endpoint (one account per deployment) share one budget.
 */
export function quotaScope(side: SideEndpoints): string {
  return `${side.region}|${side.ebsEndpoint ?? ''}`;
}

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

/**
 * The engine's context: every port an engine step needs (chain store, primary side, secondary
 * side, clock, logger) and its tuning. It is built by the composition root (`shared/wiring`)
 * once per Lambda cold start, or by a test from the local cloud's endpoints.
 *
 * Engine steps take an `EngineContext` and never construct SDK clients themselves, so tests can
 * wrap any port (e.g. one that throws mid-copy to inject a crash) by spreading a new context.
 */
import { DEFAULT_BLOCK_WORKERS } from '../core/block-pool';
import type { ChainStore } from '../core/ports/chain-store';
import type { PrimarySnapshots, SnapshotLookup, SnapshotReader, SnapshotWaiter, SnapshotWriter, Volumes } from '../core/ports/snapshots';
import { DEFAULT_ACCOUNT_RATES, type EbsApi } from '../core/quotas';


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
  /** How often a long task (a copy loop) renews the lease while it works; well under `leaseTtlMs`. */
  readonly leaseHeartbeatMs: number;
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
 * Five minutes. Every task of a lease-holding job renews the lease when it starts (see
 * `renewFence`), and the copy loops renew it every {@link DEFAULT_LEASE_HEARTBEAT_MS} while
 * they copy, so a live job never lets it lapse, however long it runs. The longest gap between
 * two renewals is one Lambda that is not a copy loop (at most 15 minutes, in practice seconds)
 * or one Wait of a poll loop (15 s; SnapshotStatus renews too): the TTL covers the ordinary
 * ones, and a task that outlives it finds the lease taken over at its next renewal or commit
 * (LeaseLostError, nothing committed) only if another run took it meanwhile. A job whose
 * execution died without its Catch frees the volume within five minutes, not an hour.
 */
export const DEFAULT_LEASE_TTL_MS = 300_000;

/**
 * One minute: five renewals per TTL, so a copy survives a few slow or throttled renewal calls;
 * one conditional UpdateItem per minute per copying Lambda costs nothing next to its block calls.
 */
export const DEFAULT_LEASE_HEARTBEAT_MS = 60_000;

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
  leaseHeartbeatMs: DEFAULT_LEASE_HEARTBEAT_MS,
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

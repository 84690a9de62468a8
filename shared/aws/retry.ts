/**
 * The retry policy of the EBS adapters. The SDK's own retries are off (`maxAttempts: 1`): this
 * policy owns them, because it must feed throttles to the shared rate limiter, wait out the
 * "snapshot does not exist" window after StartSnapshot, and never retry a validation error.
 */
import { EbsCdpError } from '../core/errors';
import {
  ClientTokenConflictError,
  EbsServiceError,
  EbsValidationError,
  SnapshotLimitError,
  SnapshotNotFoundError,
  ThrottledError,
  UnrelatedSnapshotsError,
} from '../core/ports/errors';
import type { EbsApi } from '../core/quotas';
import type { RateLimiter, ThrottleScope } from './rate-limiter';
import type { Timer } from '../core/ports/timer';
import { systemTimer } from './timer';

export interface RetryPolicy {
  /** Attempts of one request on a server error, the first included. */
  readonly maxAttempts: number;
  /**
   * How long after the first attempt a throttled request is still retried. Throttling is
   * backpressure, not failure: the limiter slows down until EBS stops throttling, and a request
   * waits for that however many attempts it takes, within this bound.
   */
  readonly throttleWindowMs: number;
  /** First backoff ceiling; doubles at each attempt. */
  readonly baseDelayMs: number;
  /** Largest backoff ceiling. */
  readonly maxDelayMs: number;
  /**
   * How long after the first attempt "snapshot does not exist" is still retried on writes: EBS
   * may answer it for up to about two minutes after StartSnapshot (EBS-FACTS.md).
   */
  readonly notFoundWindowMs: number;
}

/**
 * Server errors: 10 attempts with a 100 ms base and a 10 s cap wait up to ~35 s in total (full
 * jitter halves that on average), short enough for a Lambda to report a persistent failure well
 * within its 15 minutes. Throttles: three minutes, enough for AIMD to halve from 1,000/s down
 * to a quota a hundred times lower several times over, and still well within a Lambda's time.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  throttleWindowMs: 180_000,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  // Two minutes as documented, plus half a minute of margin.
  notFoundWindowMs: 150_000,
};

/** What to do with a failed request. */
export type ErrorClass =
  | { kind: 'throttled'; scope?: ThrottleScope }
  | { kind: 'server' }
  | { kind: 'not-found' }
  | { kind: 'fatal' };

/** HTTP statuses at and above this are server errors: transient, retried. */
const SERVER_ERROR_STATUS = 500;

interface SdkErrorShape {
  name?: string;
  Reason?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** Sorts an SDK error into what the policy does with it. Network failures count as server errors. */
export function classifyEbsError(error: unknown): ErrorClass {
  const { name, Reason, $metadata } = shape(error);
  if (error instanceof EbsCdpError) return { kind: 'fatal' };
  if (name === 'RequestThrottledException' || name === 'ThrottlingException') {
    const scope = Reason === 'ACCOUNT_THROTTLED' ? 'account' : Reason === 'RESOURCE_LEVEL_THROTTLE' ? 'snapshot' : undefined;
    return { kind: 'throttled', scope };
  }
  if (name === 'ResourceNotFoundException') return { kind: 'not-found' };
  if (name === 'InternalServerException' || ($metadata?.httpStatusCode ?? 0) >= SERVER_ERROR_STATUS) return { kind: 'server' };
  // No HTTP answer at all (connection reset, socket timeout): transient as far as we can tell.
  if ($metadata?.httpStatusCode === undefined && (name === 'TimeoutError' || /ECONNRESET|EPIPE|socket hang up|ETIMEDOUT/.test(String(shape(error).message)))) {
    return { kind: 'server' };
  }
  return { kind: 'fatal' };
}

export interface EbsErrorContext {
  readonly api: EbsApi;
  readonly snapshotId?: string;
  readonly blockIndex?: number;
}

/**
 * Translates an EBS SDK exception into a typed error whose message says what to do. Errors it
 * does not know are returned as they are, to be rethrown.
 */
export function translateEbsError(error: unknown, context: EbsErrorContext): unknown {
  if (error instanceof EbsCdpError) return error;
  const { name, Reason, message } = shape(error);
  const where = `${context.api}${context.snapshotId === undefined ? '' : ` on ${context.snapshotId}`}${
    context.blockIndex === undefined ? '' : ` block ${context.blockIndex}`
  }`;
  const base = { snapshotId: context.snapshotId, blockIndex: context.blockIndex, cause: error };
  switch (name) {
    case 'ResourceNotFoundException':
      return new SnapshotNotFoundError(
        `${where}: the snapshot does not exist (${message ?? Reason ?? 'not found'}); check its id and that the client points at its Region`,
        base,
      );
    case 'ConflictException':
      return new ClientTokenConflictError(
        `${where}: an earlier attempt of this step started a snapshot with the same ClientToken but different parameters ` +
          '(parent, size, tags or encryption); find out why the step input changed instead of retrying',
        base,
      );
    case 'ConcurrentLimitExceededException':
    case 'ServiceQuotaExceededException':
      return new SnapshotLimitError(
        `${where}: too many snapshots in progress (${message ?? name}); wait for pending snapshots to complete, then retry`,
        base,
      );
    case 'ValidationException':
      if (Reason === 'UNRELATED_SNAPSHOTS') {
        return new UnrelatedSnapshotsError(
          `${where}: these snapshots are not of one lineage: ${message ?? ''}; the base primary snapshot was replaced, take a new baseline`,
          base,
        );
      }
      return new EbsValidationError(`${where}: EBS refused the request as invalid (${Reason ?? 'no reason'}: ${message ?? ''}); retrying cannot help`, Reason, base);
    default:
      return error;
  }
}

export interface RetryContext extends EbsErrorContext {
  readonly limiter: RateLimiter;
  readonly policy?: RetryPolicy;
  readonly timer?: Timer;
  /** 0 ≤ x < 1; injectable so tests can pin the jitter. */
  readonly random?: () => number;
  /** Retry "snapshot does not exist" within the policy's window (writes right after StartSnapshot). */
  readonly retryNotFound?: boolean;
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * Runs one EBS request under the rate limiter with the retry policy: throttles (which also slow
 * the limiter down) and server errors are retried with jittered backoff up to `maxAttempts`;
 * "snapshot does not exist" only when `retryNotFound`, within `notFoundWindowMs`; anything else
 * fails at once, translated.
 */
export async function callEbs<T>(request: () => Promise<T>, context: RetryContext): Promise<T> {
  const policy = context.policy ?? DEFAULT_RETRY_POLICY;
  const timer = context.timer ?? systemTimer;
  const random = context.random ?? Math.random;
  const started = timer.now();
  let attempt = 0;
  for (;;) {
    await context.limiter.acquire(context.api, context.snapshotId);
    try {
      return await request();
    } catch (error) {
      const kind = classifyEbsError(error);
      if (kind.kind === 'throttled') context.limiter.throttled(context.api, context.snapshotId, kind.scope);
      const elapsed = timer.now() - started;
      const retryable =
        kind.kind === 'throttled'
          ? elapsed < policy.throttleWindowMs
          : kind.kind === 'server'
            ? attempt + 1 < policy.maxAttempts
            : kind.kind === 'not-found' && context.retryNotFound === true && elapsed < policy.notFoundWindowMs;
      if (!retryable) throw exhausted(error, kind, attempt + 1, elapsed, context);
      await timer.sleep(backoffDelay(attempt, policy, random));
      attempt++;
    }
  }
}

function exhausted(error: unknown, kind: ErrorClass, attempts: number, elapsedMs: number, context: EbsErrorContext): unknown {
  const where = `${context.api}${context.snapshotId === undefined ? '' : ` on ${context.snapshotId}`}${
    context.blockIndex === undefined ? '' : ` block ${context.blockIndex}`
  }`;
  const base = { snapshotId: context.snapshotId, blockIndex: context.blockIndex, cause: error };
  if (kind.kind === 'throttled') {
    return new ThrottledError(
      `${where}: still throttled after ${attempts} attempts over ${Math.round(elapsedMs / 1_000)} s; lower the account budget or the number of concurrent workers`,
      base,
    );
  }
  if (kind.kind === 'server') {
    return new EbsServiceError(`${where}: EBS kept failing with server errors after ${attempts} attempts; retry the step later`, base);
  }
  return translateEbsError(error, context);
}

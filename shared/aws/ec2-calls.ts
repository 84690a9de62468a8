/**
 * The retry policy of the EC2 adapters: the SDK's retries are off (`maxAttempts: 1`) on every
 * client of ebs-cdp, so that one policy, in our code, decides what is retried. EC2 calls are few
 * (snapshots, volumes, instances), so a short bounded backoff on throttling and 5xx is enough.
 */
import { EbsCdpError } from '../core/errors';
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
import type { Timer } from '../core/ports/timer';
import { systemTimer } from './timer';

/** EC2's throttling error codes. */
const EC2_THROTTLE_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException']);

/** HTTP statuses at and above this are server errors: transient, retried. */
const SERVER_ERROR_STATUS = 500;

/** What the EC2 adapters share. */
export interface Ec2AdapterOptions {
  readonly timer?: Timer;
  readonly policy?: RetryPolicy;
  readonly random?: () => number;
  /** Between two polls of a snapshot, volume or instance state. */
  readonly pollIntervalMs?: number;
  /** Polls before a wait gives up. */
  readonly maxPolls?: number;
}

/**
 * 5 s between polls (the SDK waiters use 15 s for snapshots; we want restores to feel prompt) and
 * 720 polls: an hour, the longest a snapshot of a large volume usually takes. A Lambda does not
 * wait that long: Step Functions polls with `status` instead.
 */
export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_POLLS = 720;

/** The EC2 error code of an SDK exception (its `name`). */
export function ec2ErrorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { name?: string }).name : undefined;
}

/** Runs one EC2 request, retrying throttling and server errors with jittered backoff. */
export async function callEc2<T>(request: () => Promise<T>, options: Ec2AdapterOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const timer = options.timer ?? systemTimer;
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
      const transient = !(error instanceof EbsCdpError) && (EC2_THROTTLE_CODES.has(ec2ErrorCode(error) ?? '') || status >= SERVER_ERROR_STATUS);
      if (!transient || attempt + 1 >= policy.maxAttempts) throw error;
      await timer.sleep(backoffDelay(attempt, policy, random));
    }
  }
}

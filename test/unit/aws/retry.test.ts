import { ClientTokenConflictError, EbsServiceError, EbsValidationError, SnapshotNotFoundError, ThrottledError, UnrelatedSnapshotsError } from '../../../shared/core/ports/errors';
import { RateLimiter } from '../../../shared/aws/rate-limiter';
import { backoffDelay, callEbs, classifyEbsError, DEFAULT_RETRY_POLICY, translateEbsError } from '../../../shared/aws/retry';
import { FakeTimer } from './fake-timer';

/** An error shaped as the SDK raises it: class name, EBS reason, HTTP status. */
function sdkError(name: string, status: number, Reason?: string): Error & { Reason?: string; $metadata: { httpStatusCode: number } } {
  return Object.assign(new Error(`${name} (test)`), { name, Reason, $metadata: { httpStatusCode: status } });
}

/** A request that fails with `errors` in turn, then answers `value`. */
function flaky<T>(errors: unknown[], value: T): { request: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    request: async () => {
      const error = errors[calls++];
      if (error !== undefined) throw error;
      return value;
    },
    calls: () => calls,
  };
}

function setup(): { timer: FakeTimer; limiter: RateLimiter } {
  const timer = new FakeTimer();
  return { timer, limiter: new RateLimiter({ timer }) };
}

describe('retry', () => {
  describe('callEbs', () => {
    it('retries throttling and server errors, then returns the answer', async () => {
      // Prepare
      const { timer, limiter } = setup();
      const op = flaky([sdkError('RequestThrottledException', 400, 'RESOURCE_LEVEL_THROTTLE'), sdkError('InternalServerException', 500)], 'ok');

      // Act
      const result = await callEbs(op.request, { api: 'PutSnapshotBlock', snapshotId: 'snap-a', limiter, timer, random: () => 0.5 });

      // Assess
      expect(result).toBe('ok');
      expect(op.calls()).toBe(3);
      expect(limiter.snapshotRate('PutSnapshotBlock', 'snap-a')).toBeLessThan(1_000);
    });

    it('never retries a validation error, and translates it', async () => {
      // Prepare
      const { timer, limiter } = setup();
      const op = flaky([sdkError('ValidationException', 400, 'INVALID_PARAMETER_VALUE')], 'ok');

      // Act
      const failure = callEbs(op.request, { api: 'PutSnapshotBlock', snapshotId: 'snap-a', blockIndex: 3, limiter, timer });

      // Assess
      await expect(failure).rejects.toBeInstanceOf(EbsValidationError);
      await expect(failure).rejects.toMatchObject({ reason: 'INVALID_PARAMETER_VALUE', blockIndex: 3, snapshotId: 'snap-a' });
      expect(op.calls()).toBe(1);
    });

    it('retries throttling for the throttle window, beyond the server-error attempts, then gives up with a ThrottledError', async () => {
      // Prepare
      const { timer, limiter } = setup();
      const throttles = Array.from({ length: 10_000 }, () => sdkError('RequestThrottledException', 400, 'ACCOUNT_THROTTLED'));
      const op = flaky(throttles, 'ok');
      const start = timer.now();

      // Act
      const failure = callEbs(op.request, { api: 'GetSnapshotBlock', snapshotId: 'snap-a', limiter, timer });

      // Assess: throttling is backpressure, retried beyond the server-error attempts, until the window ends.
      await expect(failure).rejects.toBeInstanceOf(ThrottledError);
      await expect(failure).rejects.toThrow(/lower the account budget/);
      expect(op.calls()).toBeGreaterThan(DEFAULT_RETRY_POLICY.maxAttempts);
      expect(timer.now() - start).toBeGreaterThanOrEqual(DEFAULT_RETRY_POLICY.throttleWindowMs);
    });

    it('gives up on server errors after the bounded attempts with an EbsServiceError', async () => {
      // Prepare
      const { timer, limiter } = setup();
      const op = flaky(Array.from({ length: 20 }, () => sdkError('InternalServerException', 500)), 'ok');

      // Act / Assess
      await expect(callEbs(op.request, { api: 'ListSnapshotBlocks', limiter, timer })).rejects.toBeInstanceOf(EbsServiceError);
      expect(op.calls()).toBe(DEFAULT_RETRY_POLICY.maxAttempts);
    });

    it('waits out "snapshot does not exist" on writes within the window, and not beyond it', async () => {
      // Prepare
      const { timer, limiter } = setup();
      const notFound = Array.from({ length: 1_000 }, () => sdkError('ResourceNotFoundException', 404, 'SNAPSHOT_NOT_FOUND'));
      const recovering = flaky(notFound.slice(0, 15), 'ok');
      const never = flaky(notFound, 'ok');

      // Act
      const result = await callEbs(recovering.request, { api: 'PutSnapshotBlock', snapshotId: 's', limiter, timer, retryNotFound: true, random: () => 0.5 });
      const start = timer.now();
      const failure = callEbs(never.request, { api: 'PutSnapshotBlock', snapshotId: 's', limiter, timer, retryNotFound: true });

      // Assess: 15 not-found answers were more than maxAttempts, but within the time window.
      expect(result).toBe('ok');
      expect(recovering.calls()).toBe(16);
      await expect(failure).rejects.toBeInstanceOf(SnapshotNotFoundError);
      expect(timer.now() - start).toBeGreaterThanOrEqual(DEFAULT_RETRY_POLICY.notFoundWindowMs);
      expect(timer.now() - start).toBeLessThan(DEFAULT_RETRY_POLICY.notFoundWindowMs + DEFAULT_RETRY_POLICY.maxDelayMs + 1_000);
    });

    it('does not retry "snapshot does not exist" on reads', async () => {
      // Prepare
      const { timer, limiter } = setup();
      const op = flaky([sdkError('ResourceNotFoundException', 404, 'SNAPSHOT_NOT_FOUND')], 'ok');

      // Act / Assess
      await expect(callEbs(op.request, { api: 'GetSnapshotBlock', snapshotId: 's', limiter, timer })).rejects.toBeInstanceOf(SnapshotNotFoundError);
      expect(op.calls()).toBe(1);
    });
  });

  describe('backoffDelay', () => {
    it('grows exponentially up to the cap, jittered below the ceiling', () => {
      // Prepare
      const top = () => 0.999_999;

      // Act
      const ceilings = [0, 1, 2, 3, 10, 20].map((attempt) => backoffDelay(attempt, DEFAULT_RETRY_POLICY, top));

      // Assess
      expect(ceilings).toEqual([99, 199, 399, 799, 9_999, 9_999]);
      expect(backoffDelay(5, DEFAULT_RETRY_POLICY, () => 0)).toBe(0);
    });
  });

  describe('classifyEbsError', () => {
    it('reads the throttle scope from the reason', () => {
      // Act / Assess
      expect(classifyEbsError(sdkError('RequestThrottledException', 400, 'ACCOUNT_THROTTLED'))).toEqual({ kind: 'throttled', scope: 'account' });
      expect(classifyEbsError(sdkError('RequestThrottledException', 400, 'RESOURCE_LEVEL_THROTTLE'))).toEqual({ kind: 'throttled', scope: 'snapshot' });
      expect(classifyEbsError(sdkError('Unknown', 503))).toEqual({ kind: 'server' });
      expect(classifyEbsError(sdkError('AccessDeniedException', 403))).toEqual({ kind: 'fatal' });
    });
  });

  describe('translateEbsError', () => {
    it('maps known exceptions to typed errors that say what to do, and returns unknown ones as they are', () => {
      // Prepare
      const context = { api: 'ListChangedBlocks' as const, snapshotId: 'snap-2' };
      const unknown = sdkError('AccessDeniedException', 403);

      // Act
      const unrelated = translateEbsError(sdkError('ValidationException', 400, 'UNRELATED_SNAPSHOTS'), context);
      const conflict = translateEbsError(sdkError('ConflictException', 409), { api: 'StartSnapshot' });

      // Assess
      expect(unrelated).toBeInstanceOf(UnrelatedSnapshotsError);
      expect((unrelated as Error).message).toMatch(/these snapshots are not of one lineage/);
      expect((unrelated as Error).name).toBe('UnrelatedSnapshotsError');
      expect(conflict).toBeInstanceOf(ClientTokenConflictError);
      expect((conflict as Error).message).toMatch(/different parameters/);
      expect(translateEbsError(unknown, context)).toBe(unknown);
    });
  });
});

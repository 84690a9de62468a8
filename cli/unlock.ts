/**
 * `ebs-cdp unlock <volume>`: breaks the lease of a job whose execution died, once Step Functions
 * confirmed that it no longer runs. A lease now lapses within minutes by itself (see
 * `DEFAULT_LEASE_TTL_MS`); unlock is for not waiting, and it never frees a live job's volume.
 *
 * ```
 *  META.lease ─ none ───────────────────────────────────────────► nothing to unlock (exit 0)
 *      │ holder (= execution name, or ARN)
 *      ▼
 *  DescribeExecution under each job machine ─ RUNNING ──────────► LeaseHeldError (exit 4), the execution named
 *      │ ended (SUCCEEDED, FAILED, TIMED_OUT, ABORTED)             none found and the lease live ─► RunNotFoundError (exit 3)
 *      ▼                                                          none found and the lease expired ─┐
 *  breakLease(expected fencing token) ◄──────────────────────────────────────────────────────────────┘
 *      ├─ broken ───────────────────────────────────────────────► unlocked (exit 0)
 *      └─ another run took the volume meanwhile ────────────────► LeaseHeldError (exit 4), that run named
 * ```
 */
import type { BreakLeaseResult, ProtectedVolume, VolumeLease } from '../shared/core/ports/chain-store';
import type { ExecutionLookup } from './aws-jobs';
import { CliError, EXIT_CODES, NotFoundError } from './errors';

/** What unlock reads and writes in the chain store. */
export interface UnlockStore {
  getVolume(volumeId: string): Promise<ProtectedVolume>;
  breakLease(volumeId: string, request: { expectedFencingToken: number }): Promise<BreakLeaseResult>;
}

/** Where unlock asks whether the lease's execution still runs (Step Functions). */
export interface ExecutionFinder {
  findExecution(name: string): Promise<ExecutionLookup | undefined>;
}

export interface UnlockOutcome {
  readonly volumeId: string;
  /** True when this call broke a lease; false when the volume was free already. */
  readonly unlocked: boolean;
  /** The lease that was broken. */
  readonly lease?: { readonly holder: string; readonly runId: string; readonly expiresAt: string; readonly fencingToken: number };
  /** Its execution, as Step Functions reported it; absent when none was found (the lease had expired). */
  readonly execution?: ExecutionLookup;
}

/** The lease's job is still running, or another job took the volume: unlock refuses (exit 4). */
export class LeaseHeldError extends CliError {
  static override readonly errorName: string = 'LeaseHeldError';
}

/** No execution of the stack is the lease's holder, and the lease is live: unlock cannot confirm it is dead (exit 3). */
export class RunNotFoundError extends NotFoundError {
  static override readonly errorName: string = 'RunNotFoundError';
}

/**
 * Breaks the volume's lease if, and only if, its execution no longer runs (or, when the stack
 * has no such execution, the lease has expired anyway).
 *
 * @param where the target's option for hints (` --local` or '')
 * @throws LeaseHeldError (exit 4) while the execution runs, or when another run took the volume since
 * @throws RunNotFoundError (exit 3) when no execution is the holder and the lease is live
 */
export async function unlockVolume(
  store: UnlockStore,
  executions: ExecutionFinder,
  volumeId: string,
  options: { readonly now: number; readonly where: string },
): Promise<UnlockOutcome> {
  const { lease } = await store.getVolume(volumeId);
  if (lease === undefined) return { volumeId, unlocked: false };
  const execution = await executions.findExecution(lease.holder)
    ?? (lease.runId === lease.holder ? undefined : await executions.findExecution(lease.runId));
  if (execution?.status === 'RUNNING') {
    throw new LeaseHeldError(
      `volume ${volumeId}: run ${lease.runId} holds its lease and its execution ${execution.executionArn} is still running`,
      {
        exitCode: EXIT_CODES.busy, volumeId,
        hint: `wait for it to end, or stop it (aws stepfunctions stop-execution --execution-arn ${execution.executionArn}), then unlock again`,
      });
  }
  if (execution === undefined && lease.expiresAt > options.now) {
    throw new RunNotFoundError(
      `volume ${volumeId}: no execution of the stack's jobs is ${lease.holder}, the holder of its lease (run ${lease.runId}), ` +
        'so unlock cannot confirm that it stopped',
      `the lease lapses by itself at ${new Date(lease.expiresAt).toISOString()}: wait for that, or check that --stack and --region name the deployment that ran it`,
      { volumeId });
  }
  const result = await store.breakLease(volumeId, { expectedFencingToken: lease.fencingToken });
  if (!result.broken && result.lease !== undefined) throw takenSince(volumeId, result.lease, options.where);
  return { volumeId, unlocked: result.broken, lease: leaseView(lease), execution };
}

function takenSince(volumeId: string, lease: VolumeLease, where: string): LeaseHeldError {
  return new LeaseHeldError(
    `volume ${volumeId}: run ${lease.runId} of ${lease.holder} took its lease while unlock looked at the previous holder`,
    { exitCode: EXIT_CODES.busy, volumeId, hint: `ebs-cdp status ${volumeId}${where} shows the lease; unlock again if that run died too` });
}

function leaseView(lease: VolumeLease): NonNullable<UnlockOutcome['lease']> {
  return { holder: lease.holder, runId: lease.runId, expiresAt: new Date(lease.expiresAt).toISOString(), fencingToken: lease.fencingToken };
}

/** The text `unlock` prints. */
export function renderUnlock(outcome: UnlockOutcome): string {
  if (outcome.lease === undefined) return `volume ${outcome.volumeId} holds no lease: nothing to unlock`;
  const ended = outcome.execution === undefined
    ? 'no execution of it was found and its lease had expired'
    : `its execution ${outcome.execution.executionArn} is ${outcome.execution.status}`;
  const verb = outcome.unlocked ? 'broke' : 'found released';
  return `${verb} the lease of run ${outcome.lease.runId} on ${outcome.volumeId}: ${ended}\nnext: ebs-cdp sync ${outcome.volumeId} recovers whatever that run left in flight`;
}

/** The JobFailed task: what every Catch of every job's state machine runs. */
import { VERIFY_RUN_TAG } from '../../core/tags';
import type { EngineContext } from '../context';
import type { JobFailedInput } from './schemas';

export interface JobFailedOutput {
  readonly errorName: string;
  readonly message: string;
  readonly leaseReleased: boolean;
}

/**
 * Every Catch: records the failure (error name and message) in the volume's job records, which
 * `status` shows, and releases the lease if this run holds it. The DRL stays: the next run
 * recovers from it. The execution then fails with the original error name.
 */
export async function jobFailed(ctx: EngineContext, input: JobFailedInput): Promise<JobFailedOutput> {
  const { volumeId, runId } = input;
  const errorName = input.error.Error ?? 'UnknownError';
  const message = causeMessage(input.error.Cause);
  await ctx.store.putJobRecord(volumeId, {
    runId, job: input.job, status: 'failed', at: new Date(ctx.clock.now()).toISOString(), errorName, message,
  });
  const volume = await ctx.store.getVolume(volumeId);
  const lease = volume.lease;
  const ours = lease !== undefined && (lease.fencingToken === input.fencingToken || lease.runId === runId);
  if (ours) await ctx.store.releaseLease(volumeId, { fencingToken: lease.fencingToken });
  if (input.job === 'verify') {
    // Only VerifyReport deletes a verify's P0; a run that failed before it would leak one
    // primary snapshot per failure.
    for (const p0 of await ctx.primary.lookup.findOwned([{ key: VERIFY_RUN_TAG, value: runId }])) {
      await ctx.primary.snapshots.deleteSnapshot(p0.snapshotId);
    }
  }
  ctx.logger.error('job failed', { job: input.job, errorName, message, leaseReleased: ours });
  return { errorName, message, leaseReleased: ours };
}

/** A Lambda error's Cause is JSON `{ errorType, errorMessage, … }`; anything else is kept as is. */
export function causeMessage(cause: string | undefined): string {
  if (cause === undefined) return '';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { errorMessage?: unknown }).errorMessage === 'string') {
      return (parsed as { errorMessage: string }).errorMessage;
    }
  } catch {
    // Not JSON: a plain message.
  }
  return cause;
}

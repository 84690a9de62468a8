/** The SnapshotStatus task: one look at a snapshot for the Wait/Choice loop of every job. */
import { SnapshotFailedError } from '../../core/ports/errors';
import type { EngineContext } from '../context';
import { renewFence } from './lease';
import type { SnapshotStatusInput } from './schemas';

export interface SnapshotStatusOutput {
  readonly snapshotId: string;
  readonly status: 'IN_PROGRESS' | 'COMPLETED';
  readonly progress: number;
}

/**
 * One look at a snapshot for a Wait/Choice loop (shared by every job). With `fencingToken` (a
 * job that holds the lease while it waits) it renews the lease too: a snapshot may take far
 * longer than the lease's TTL to complete, and each poll is a renewal.
 * @throws SnapshotFailedError when it went to `error`
 * @throws LeaseLostError when `fencingToken` no longer holds the lease
 */
export async function snapshotStatus(ctx: EngineContext, input: SnapshotStatusInput): Promise<SnapshotStatusOutput> {
  if (input.fencingToken !== undefined) await renewFence(ctx, input.volumeId, { fencingToken: input.fencingToken });
  const waiter = input.side === 'primary' ? ctx.primary.waiter : ctx.secondary.waiter;
  const status = await waiter.status(input.snapshotId);
  if (status.state === 'error') throw new SnapshotFailedError(input.snapshotId, status.stateMessage, { volumeId: input.volumeId });
  return { snapshotId: input.snapshotId, status: status.state === 'completed' ? 'COMPLETED' : 'IN_PROGRESS', progress: status.progress };
}

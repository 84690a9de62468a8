/** The SnapshotStatus task: one look at a snapshot for the Wait/Choice loop of every job. */
import { SnapshotFailedError } from '../../core/ports/errors';
import type { EngineContext } from '../context';
import type { SnapshotStatusInput } from './schemas';

export interface SnapshotStatusOutput {
  readonly snapshotId: string;
  readonly status: 'IN_PROGRESS' | 'COMPLETED';
  readonly progress: number;
}

/**
 * One look at a snapshot for a Wait/Choice loop (shared by every job).
 * @throws SnapshotFailedError when it went to `error`
 */
export async function snapshotStatus(ctx: EngineContext, input: SnapshotStatusInput): Promise<SnapshotStatusOutput> {
  const waiter = input.side === 'primary' ? ctx.primary.waiter : ctx.secondary.waiter;
  const status = await waiter.status(input.snapshotId);
  if (status.state === 'error') throw new SnapshotFailedError(input.snapshotId, status.stateMessage, { volumeId: input.volumeId });
  return { snapshotId: input.snapshotId, status: status.state === 'completed' ? 'COMPLETED' : 'IN_PROGRESS', progress: status.progress };
}

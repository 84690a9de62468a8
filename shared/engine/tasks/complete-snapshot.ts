/**
 * The CompleteSnapshot task of a sync or fix-up: completes the secondary with the LINEAR
 * aggregate over the run's persisted digests ({@link completeSnapshotFromDigests}).
 */
import { entryDigestKey } from './digest-key';
import type { EngineContext } from '../context';
import { completeSnapshotFromDigests } from './copy-blocks';
import { renewFence } from './lease';
import type { CompleteSnapshotInput } from './schemas';

export interface CompleteSnapshotOutput {
  readonly snapshotId: string;
  readonly state: 'pending' | 'completed' | 'error';
}

/**
 * CompleteSnapshot of the secondary with the LINEAR aggregate over this run's persisted digests;
 * then wait with SnapshotStatus. Idempotent (a completed snapshot is reported as is).
 *
 * With `fencingToken` (a sync or fix-up holding the lease) it renews the lease first; with `seq`
 * (a sync's entry) the digests are that entry's (`entryDigestKey`).
 *
 * @throws DigestsIncompleteError when the digests do not add up to `expectedBlocks`
 * @throws LeaseLostError when `fencingToken` no longer holds the lease
 */
export async function completeSnapshot(ctx: EngineContext, input: CompleteSnapshotInput): Promise<CompleteSnapshotOutput> {
  if (input.fencingToken !== undefined) await renewFence(ctx, input.volumeId, { fencingToken: input.fencingToken });
  const state = await completeSnapshotFromDigests(
    { store: ctx.store, writer: ctx.secondary.writer, waiter: ctx.secondary.waiter },
    { volumeId: input.volumeId, runId: input.seq === undefined ? input.runId : entryDigestKey(input.runId, input.seq), snapshotId: input.snapshotId, expectedBlocks: input.expectedBlocks },
  );
  return { snapshotId: input.snapshotId, state };
}

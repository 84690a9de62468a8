/** The lease check every step that writes under the volume lease makes before it writes. */
import type { Fence, ProtectedVolume } from '../../core/ports/chain-store';
import { LeaseLostError } from '../../core/ports/errors';

/**
 * @throws LeaseLostError when the volume's lease is no longer the one `fence` was granted with
 */
export function checkLease(volume: ProtectedVolume, fence: Fence): void {
  if (volume.lease?.fencingToken !== fence.fencingToken) {
    throw new LeaseLostError(
      `volume ${volume.volumeId}: this run's lease (fencing token ${fence.fencingToken}) was taken over or released; ` +
        'stop without writing: the next run recovers from the dirty region log', { volumeId: volume.volumeId });
  }
}

/**
 * The lease checks and heartbeats of every step that works under the volume lease: a step
 * checks (or renews) the lease before it writes, and a long step renews it while it works, so
 * a live job never lets its short lease lapse while a dead one frees the volume within a TTL.
 *
 * ```
 *  task start ──► renewFence (LeaseLostError: stop, nothing written)
 *  copy loop  ──► heartbeat.beat() before each block: renews once leaseHeartbeatMs passed on ctx.clock
 * ```
 */
import type { Fence, LeaseGrant, ProtectedVolume } from '../../core/ports/chain-store';
import { LeaseLostError } from '../../core/ports/errors';
import type { EngineContext } from '../context';

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

/**
 * Renews the lease `fence` holds for another `leaseTtlMs` from `ctx.clock`: what every task of a
 * lease-holding job does first, so the TTL only has to cover the gap between two tasks.
 * @throws LeaseLostError when another run took the lease over, or it was released
 */
export function renewFence(ctx: Pick<EngineContext, 'store' | 'clock' | 'tuning'>, volumeId: string, fence: Fence): Promise<LeaseGrant> {
  return ctx.store.renewLease(volumeId, { fencingToken: fence.fencingToken, ttlMs: ctx.tuning.leaseTtlMs, now: ctx.clock.now() });
}

/**
 * Renews a lease while a long task works: {@link beat} is cheap (a clock read) until
 * `leaseHeartbeatMs` passed since the last renewal, then renews once, however many workers beat
 * at the same time. Time is `ctx.clock`'s, so tests move it instead of waiting.
 */
export class LeaseHeartbeat {
  private lastRenewal: number;
  private renewing: Promise<void> | undefined;
  private lost: unknown;

  /** `renewedAt`: when the task last renewed (usually at its start, with {@link renewFence}). */
  constructor(
    private readonly ctx: Pick<EngineContext, 'store' | 'clock' | 'tuning'>,
    private readonly volumeId: string,
    private readonly fence: Fence,
    renewedAt: number = ctx.clock.now(),
  ) {
    this.lastRenewal = renewedAt;
  }

  /**
   * Renews the lease if it is due.
   * @throws LeaseLostError (every call, once one renewal found the lease lost)
   */
  async beat(): Promise<void> {
    if (this.lost !== undefined) throw this.lost;
    if (this.renewing === undefined) {
      const now = this.ctx.clock.now();
      if (now - this.lastRenewal < this.ctx.tuning.leaseHeartbeatMs) return;
      this.lastRenewal = now;
      this.renewing = renewFence(this.ctx, this.volumeId, this.fence).then(
        () => { this.renewing = undefined; },
        (error: unknown) => { this.renewing = undefined; this.lost = error; },
      );
    }
    await this.renewing;
    if (this.lost !== undefined) throw this.lost;
  }
}

/**
 * LeaseHeartbeat on its own (a counting store, a clock the test moves): renewals only when due,
 * one at a time however many workers beat, and a lost lease stops every later beat. And the
 * present delta map's listing beats while it lists.
 */
import type { ChainStore, LeaseGrant, RenewRequest } from '../../../shared/core/ports/chain-store';
import type { SnapshotReader } from '../../../shared/core/ports/snapshots';
import { LeaseLostError } from '../../../shared/core/ports/errors';
import { DEFAULT_TUNING, type EngineContext } from '../../../shared/engine/context';
import { LeaseHeartbeat } from '../../../shared/engine/tasks/lease';
import { presentDeltaMap } from '../../../shared/engine/tasks/present-delta-map';

const HEARTBEAT_MS = DEFAULT_TUNING.leaseHeartbeatMs;

function fixture(renew: (request: RenewRequest) => Promise<LeaseGrant>): { ctx: Pick<EngineContext, 'store' | 'clock' | 'tuning'>; clock: { t: number }; renewals: RenewRequest[] } {
  const clock = { t: 1_000_000 };
  const renewals: RenewRequest[] = [];
  const store = {
    renewLease: async (_volumeId: string, request: RenewRequest) => {
      renewals.push(request);
      return renew(request);
    },
  } as unknown as ChainStore;
  return { ctx: { store, clock: { now: () => clock.t }, tuning: DEFAULT_TUNING }, clock, renewals };
}

describe('LeaseHeartbeat', () => {
  it('renews only once leaseHeartbeatMs passed, once for many concurrent beats, with the clock\'s time', async () => {
    // Prepare
    const { ctx, clock, renewals } = fixture(async (request) => ({ fencingToken: request.fencingToken, expiresAt: 0 }));
    const heartbeat = new LeaseHeartbeat(ctx, 'vol-1', { fencingToken: 7 });

    // Act
    await heartbeat.beat();
    clock.t += HEARTBEAT_MS - 1;
    await heartbeat.beat();
    const beforeDue = renewals.length;
    clock.t += 1;
    await Promise.all(Array.from({ length: 8 }, () => heartbeat.beat()));

    // Assess
    expect(beforeDue).toBe(0);
    expect(renewals).toEqual([{ fencingToken: 7, ttlMs: DEFAULT_TUNING.leaseTtlMs, now: clock.t }]);
    expect(DEFAULT_TUNING.leaseHeartbeatMs * 3).toBeLessThanOrEqual(DEFAULT_TUNING.leaseTtlMs);
  });

  it('throws LeaseLostError from the renewal that found the lease lost, and from every beat after it', async () => {
    // Prepare
    const lost = new LeaseLostError('taken over', { volumeId: 'vol-1' });
    const { ctx, clock, renewals } = fixture(async () => { throw lost; });
    const heartbeat = new LeaseHeartbeat(ctx, 'vol-1', { fencingToken: 7 });
    clock.t += HEARTBEAT_MS;

    // Act
    const first = heartbeat.beat();
    const second = heartbeat.beat();

    // Assess
    await expect(first).rejects.toBe(lost);
    await expect(second).rejects.toBe(lost);
    await expect(heartbeat.beat()).rejects.toBe(lost);
    expect(renewals).toHaveLength(1);
  });
});

describe('presentDeltaMap with a heartbeat', () => {
  it('beats while it lists, and stops listing when the beat throws', async () => {
    // Prepare: 10,000 changed blocks of a 16 GiB volume
    const reader = {
      async *listChangedBlocks() {
        for (let blockIndex = 0; blockIndex < 10_000; blockIndex++) yield { blockIndex };
      },
    } as unknown as SnapshotReader;
    let beats = 0;
    const counting = { beat: async () => { beats++; } };
    const stopping = { beat: async () => { throw new LeaseLostError('taken over', { volumeId: 'vol-1' }); } };

    // Act
    const listed = await presentDeltaMap(reader, 'snap-base', 'snap-now', { volumeSize: 16, heartbeat: counting });
    const stopped = presentDeltaMap(reader, 'snap-base', 'snap-now', { volumeSize: 16, heartbeat: stopping });

    // Assess
    expect(listed.deltaMap.size).toBe(10_000);
    expect(beats).toBeGreaterThanOrEqual(2);
    await expect(stopped).rejects.toBeInstanceOf(LeaseLostError);
  });
});

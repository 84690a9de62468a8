/**
 * The volume lease of the DynamoDB chain store, against dynalite over HTTP: one holder at a
 * time, expiry and takeover, and fencing tokens that stop a superseded holder from committing.
 *
 *   run A  ──acquire(t=0, token 1)────────── lease expires (t=ttl) ──── commit(token 1) ✗ LeaseLostError
 *   run B  ──acquire(t=0) ✗ VolumeBusyError ─── acquire(t=ttl+1, token 2) ──── commit(token 2) ✓
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDbChainStore } from '../../../shared/aws/chain-store';
import {
  ChainStoreInputError,
  ConcurrentUpdateError,
  LeaseLostError,
  VolumeBusyError,
  VolumeNotProtectedError,
} from '../../../shared/core/ports/errors';
import { collect, committedEntry, type Harness, startHarness, TABLE_NAME, uniqueVolumeId } from './chain-store-harness';

/** Lease duration of these tests; time is passed explicitly, so nothing waits for it. */
const TTL_MS = 60_000;
const T0 = Date.UTC(2026, 0, 1);

describe('DynamoDbChainStore', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  async function protectedVolume(label: string): Promise<string> {
    const volumeId = uniqueVolumeId(label);
    await harness.store.protectVolume(volumeId, { volumeSize: 8, config: {} });
    return volumeId;
  }

  describe('acquireLease', () => {
    it('grants a free lease with the first fencing token and records it on the volume', async () => {
      // Prepare
      const volumeId = await protectedVolume('free');

      // Act
      const grant = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Assess
      expect(grant).toEqual({ fencingToken: 1, expiresAt: T0 + TTL_MS });
      const volume = await harness.store.getVolume(volumeId);
      expect(volume.lease).toEqual({ holder: 'exec-a', runId: 'run-a', expiresAt: T0 + TTL_MS, fencingToken: 1 });
    });

    it('lets exactly one of two simultaneous runs take the lease; the other gets VolumeBusyError naming the winner', async () => {
      // Prepare
      const volumeId = await protectedVolume('race');
      const a = harness.instrumentedStore().store;
      const b = harness.instrumentedStore().store;

      // Act
      const results = await Promise.allSettled([
        a.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 }),
        b.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 }),
      ]);

      // Assess
      const won = results.filter((result) => result.status === 'fulfilled');
      const lost = results.filter((result) => result.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const volume = await harness.store.getVolume(volumeId);
      const winner = volume.lease;
      expect(winner?.fencingToken).toBe(1);
      const error = (lost[0] as PromiseRejectedResult).reason as VolumeBusyError;
      expect(error).toBeInstanceOf(VolumeBusyError);
      expect(error.name).toBe('VolumeBusyError');
      expect(error.runId).toBe(winner?.runId);
      expect(error.holder).toBe(winner?.holder);
      expect(error.expiresAt).toBe(T0 + TTL_MS);
      expect(error.message).toContain(`run ${winner?.runId} of ${winner?.holder}`);
      expect(error.message).toContain(new Date(T0 + TTL_MS).toISOString());
    });

    it('grants one lease among five simultaneous contenders', async () => {
      // Prepare
      const volumeId = await protectedVolume('crowd');
      const contenders = Array.from({ length: 5 }, (_, n) => ({ store: harness.instrumentedStore().store, runId: `run-${n}` }));

      // Act
      const results = await Promise.allSettled(contenders.map(({ store, runId }) =>
        store.acquireLease(volumeId, { holder: `exec-${runId}`, runId, ttlMs: TTL_MS, now: T0 })));

      // Assess
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const reasons = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
      expect(reasons).toHaveLength(4);
      for (const reason of reasons) expect(reason).toBeInstanceOf(VolumeBusyError);
      expect((await harness.store.getVolume(volumeId)).lease?.fencingToken).toBe(1);
    });

    it('re-acquires idempotently for the same run: same token, later expiry', async () => {
      // Prepare
      const volumeId = await protectedVolume('again');
      const first = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Act
      const second = await harness.store.acquireLease(volumeId, { holder: 'exec-a2', runId: 'run-a', ttlMs: TTL_MS, now: T0 + 1_000 });

      // Assess
      expect(second.fencingToken).toBe(first.fencingToken);
      expect(second.expiresAt).toBe(T0 + 1_000 + TTL_MS);
    });

    it('lets another run take an expired lease over with the next fencing token', async () => {
      // Prepare
      const volumeId = await protectedVolume('takeover');
      const old = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Act
      const taken = await harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS + 1 });

      // Assess
      expect(taken.fencingToken).toBe(old.fencingToken + 1);
      expect((await harness.store.getVolume(volumeId)).lease?.runId).toBe('run-b');
    });

    it('refuses a live lease until the very moment it expires', async () => {
      // Prepare
      const volumeId = await protectedVolume('edge');
      await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Act
      const early = harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS - 1 });

      // Assess
      await expect(early).rejects.toBeInstanceOf(VolumeBusyError);
      await expect(harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS }))
        .resolves.toEqual({ fencingToken: 2, expiresAt: T0 + 2 * TTL_MS });
    });

    it('never reuses a fencing token after a release', async () => {
      // Prepare
      const volumeId = await protectedVolume('release');
      const first = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      await harness.store.releaseLease(volumeId, first);

      // Act
      const next = await harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 });

      // Assess
      expect(next.fencingToken).toBe(first.fencingToken + 1);
    });

    it('refuses a lease without a positive duration', async () => {
      // Prepare
      const volumeId = await protectedVolume('no-ttl');

      // Act
      const acquiring = harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: 0, now: T0 });

      // Assess
      await expect(acquiring).rejects.toBeInstanceOf(ChainStoreInputError);
      expect((await harness.store.getVolume(volumeId)).lease).toBeUndefined();
    });

    it('gives up with ConcurrentUpdateError when the volume record keeps changing under it', async () => {
      // Prepare: every version-conditional write loses, as if another writer always got there first.
      const volumeId = await protectedVolume('contended');
      const client = harness.client();
      let conditionalWrites = 0;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { ConditionExpression?: string };
          if (context.commandName === 'PutItemCommand' && input.ConditionExpression === 'version = :version') {
            conditionalWrites += 1;
            throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
          }
          return next(args);
        },
        { step: 'initialize', name: 'loseEveryRace' },
      );
      const store = new DynamoDbChainStore({ client, tableName: TABLE_NAME });

      // Act
      const acquiring = store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Assess
      await expect(acquiring).rejects.toBeInstanceOf(ConcurrentUpdateError);
      await expect(acquiring).rejects.toThrow('another process is writing it');
      expect(conditionalWrites).toBe(5);
    });

    it('tells how to protect an unknown volume', async () => {
      // Prepare
      const volumeId = uniqueVolumeId('unknown');

      // Act
      const acquiring = harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Assess
      await expect(acquiring).rejects.toBeInstanceOf(VolumeNotProtectedError);
      await expect(acquiring).rejects.toThrow(`protect it first: ebs-cdp protect ${volumeId}`);
    });
  });

  describe('renewLease', () => {
    it('extends the expiry and keeps the token', async () => {
      // Prepare
      const volumeId = await protectedVolume('renew');
      const grant = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Act
      const renewed = await harness.store.renewLease(volumeId, { fencingToken: grant.fencingToken, ttlMs: TTL_MS, now: T0 + 30_000 });

      // Assess
      expect(renewed).toEqual({ fencingToken: grant.fencingToken, expiresAt: T0 + 30_000 + TTL_MS });
      await expect(harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS + 1 }))
        .rejects.toBeInstanceOf(VolumeBusyError);
    });

    it('fails with LeaseLostError once another run took the lease over', async () => {
      // Prepare
      const volumeId = await protectedVolume('renew-lost');
      const old = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      await harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS + 1 });

      // Act
      const renewing = harness.store.renewLease(volumeId, { fencingToken: old.fencingToken, ttlMs: TTL_MS, now: T0 + TTL_MS + 2 });

      // Assess
      await expect(renewing).rejects.toBeInstanceOf(LeaseLostError);
      await expect(renewing).rejects.toThrow('run run-b of exec-b holds it now');
    });
  });

  describe('renewLease and commits', () => {
    it('lets a commit right after a renewal, and one racing many renewals, succeed', async () => {
      // Prepare
      const volumeId = await protectedVolume('renew-commit');
      const grant = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      const renewers = Array.from({ length: 4 }, () => harness.instrumentedStore().store);

      // Act: one renewal, a commit, then a commit racing four heartbeats of parallel copy tasks
      await harness.store.renewLease(volumeId, { ...grant, ttlMs: TTL_MS, now: T0 + 1_000 });
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1] }), grant);
      const racing = await Promise.allSettled([
        harness.store.commitEntry(volumeId, committedEntry({ seq: 1, blocks: [2] }), grant),
        ...renewers.map((store, at) => store.renewLease(volumeId, { ...grant, ttlMs: TTL_MS, now: T0 + 2_000 + at })),
      ]);

      // Assess
      expect(racing.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      const volume = await harness.store.getVolume(volumeId);
      expect(volume.headSeq).toBe(1);
      expect(volume.lease?.fencingToken).toBe(grant.fencingToken);
      expect(volume.lease?.expiresAt).toBeGreaterThanOrEqual(T0 + 2_000 + TTL_MS);
    });

    it('fails with LeaseLostError once the lease was released, and on a volume that is not protected', async () => {
      // Prepare
      const volumeId = await protectedVolume('renew-released');
      const grant = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      await harness.store.releaseLease(volumeId, grant);

      // Act
      const renewing = harness.store.renewLease(volumeId, { ...grant, ttlMs: TTL_MS, now: T0 + 1 });
      const unknown = harness.store.renewLease(uniqueVolumeId('renew-unknown'), { ...grant, ttlMs: TTL_MS, now: T0 + 1 });

      // Assess
      await expect(renewing).rejects.toBeInstanceOf(LeaseLostError);
      await expect(renewing).rejects.toThrow('nobody holds it now');
      await expect(unknown).rejects.toBeInstanceOf(VolumeNotProtectedError);
      expect((await harness.store.getVolume(volumeId)).lease).toBeUndefined();
    });
  });

  describe('breakLease', () => {
    it('clears the expected lease, then answers broken: false (idempotent)', async () => {
      // Prepare
      const volumeId = await protectedVolume('break');
      const grant = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Act
      const first = await harness.store.breakLease(volumeId, { expectedFencingToken: grant.fencingToken });
      const second = await harness.store.breakLease(volumeId, { expectedFencingToken: grant.fencingToken });

      // Assess
      expect(first).toEqual({ broken: true });
      expect(second).toEqual({ broken: false, lease: undefined });
      expect((await harness.store.getVolume(volumeId)).lease).toBeUndefined();
      await expect(harness.store.renewLease(volumeId, { ...grant, ttlMs: TTL_MS, now: T0 + 1 })).rejects.toBeInstanceOf(LeaseLostError);
    });

    it('leaves the lease of a run that took the volume since in place, and names it', async () => {
      // Prepare
      const volumeId = await protectedVolume('break-stale');
      const old = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      const current = await harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS + 1 });

      // Act
      const result = await harness.store.breakLease(volumeId, { expectedFencingToken: old.fencingToken });

      // Assess
      const lease = { holder: 'exec-b', runId: 'run-b', expiresAt: current.expiresAt, fencingToken: current.fencingToken };
      expect(result).toEqual({ broken: false, lease });
      expect((await harness.store.getVolume(volumeId)).lease).toEqual(lease);
    });
  });

  describe('releaseLease', () => {
    it('frees the lease for its holder and is idempotent', async () => {
      // Prepare
      const volumeId = await protectedVolume('free-twice');
      const grant = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });

      // Act
      await harness.store.releaseLease(volumeId, grant);
      await harness.store.releaseLease(volumeId, grant);

      // Assess
      expect((await harness.store.getVolume(volumeId)).lease).toBeUndefined();
    });

    it('leaves the lease of the run that took it over in place', async () => {
      // Prepare
      const volumeId = await protectedVolume('release-stale');
      const old = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      const current = await harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS + 1 });

      // Act
      await harness.store.releaseLease(volumeId, old);

      // Assess
      expect((await harness.store.getVolume(volumeId)).lease).toEqual({
        holder: 'exec-b', runId: 'run-b', expiresAt: current.expiresAt, fencingToken: current.fencingToken,
      });
    });
  });

  describe('commitEntry', () => {
    it('refuses the commit of a holder whose expired lease was taken over, and accepts the new holder\'s', async () => {
      // Prepare
      const volumeId = await protectedVolume('fenced');
      const old = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      const current = await harness.store.acquireLease(volumeId, { holder: 'exec-b', runId: 'run-b', ttlMs: TTL_MS, now: T0 + TTL_MS + 1 });
      const staleBaseline = committedEntry({ seq: 0, blocks: [1, 2, 3] });
      const baseline = committedEntry({ seq: 0, blocks: [4, 5] });

      // Act
      const staleCommit = harness.store.commitEntry(volumeId, staleBaseline, old);
      await expect(staleCommit).rejects.toBeInstanceOf(LeaseLostError);
      await harness.store.commitEntry(volumeId, baseline, current);

      // Assess
      await expect(staleCommit).rejects.toThrow('stop this run without committing');
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map((entry) => entry.deltaMap.toArray())).toEqual([[4, 5]]);
      expect((await harness.store.getVolume(volumeId)).headSeq).toBe(0);
    });

    it('lets only the lease holder commit when two runs commit at once', async () => {
      // Prepare
      const volumeId = await protectedVolume('two-commits');
      const grant = await harness.store.acquireLease(volumeId, { holder: 'exec-a', runId: 'run-a', ttlMs: TTL_MS, now: T0 });
      const holderStore = harness.instrumentedStore().store;
      const intruderStore = harness.instrumentedStore().store;

      // Act
      const results = await Promise.allSettled([
        holderStore.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [7] }), grant),
        intruderStore.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [9] }), { fencingToken: grant.fencingToken + 1 }),
      ]);

      // Assess
      expect(results[0].status).toBe('fulfilled');
      expect(results[1].status).toBe('rejected');
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map((entry) => entry.deltaMap.toArray())).toEqual([[7]]);
    });
  });
});

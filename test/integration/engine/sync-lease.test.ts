/**
 * The sync's heartbeated lease, against the local cloud (real SDK clients; time is the
 * harness's movable clock, so nothing waits for a TTL):
 *
 * ```
 *  long sync:   Begin ─ Plan ─ Copy (clock +30 s a block, > 1 h in all; renewed every minute) ─ Complete ─ Commit ✓
 *               a rival run asks for the lease all along ✗ VolumeBusyError
 *  stalled run: A: Begin ─ Plan ─ (no heartbeat)   clock +TTL   B: acquire ✓   A: CopySegment / SyncCommit ✗ LeaseLostError
 *  lost mid-copy: A copies; clock +TTL, B takes the lease; A's next heartbeat ✗ LeaseLostError, no digests persisted
 * ```
 */
import type { SnapshotWriter } from '../../../shared/core/ports/snapshots';
import { LeaseLostError, VolumeBusyError } from '../../../shared/core/ports/errors';
import { DEFAULT_LEASE_TTL_MS, type EngineContext } from '../../../shared/engine/context';
import { syncCommit } from '../../../shared/engine/sync';
import { copySegment } from '../../../shared/engine/tasks';
import { driveSync, nextRunId } from '../../../local/drivers';
import { startEngineHarness, type EngineHarness } from './engine-harness';

/** The lease's TTL before heartbeats: a sync had to finish within it. */
const OLD_TTL_MS = 3_600_000;

/** A writer that runs `onPut` before each block put: where a test moves the clock mid-copy. */
class ObservedWriter implements SnapshotWriter {
  puts = 0;

  constructor(private readonly inner: SnapshotWriter, private readonly onPut: (put: number) => Promise<void>) {}

  startSnapshot: SnapshotWriter['startSnapshot'] = (request) => this.inner.startSnapshot(request);
  completeSnapshot: SnapshotWriter['completeSnapshot'] = (snapshotId, written) => this.inner.completeSnapshot(snapshotId, written);

  putBlock: SnapshotWriter['putBlock'] = async (snapshotId, blockIndex, data) => {
    await this.onPut(++this.puts);
    return this.inner.putBlock(snapshotId, blockIndex, data);
  };

  putZeroBlock: SnapshotWriter['putZeroBlock'] = async (snapshotId, blockIndex) => {
    await this.onPut(++this.puts);
    return this.inner.putZeroBlock(snapshotId, blockIndex);
  };
}

describe('Sync lease heartbeats', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });

  afterAll(async () => {
    await h.stop();
  });

  /** A protected 1 GiB volume with `blocks` written blocks (seeds 1, 2, …). */
  async function volumeWith(blocks: number): Promise<string> {
    const volumeId = await h.createPrimaryVolume(1);
    await h.protect(volumeId, 1);
    await h.writeBlocks(volumeId, new Map(Array.from({ length: blocks }, (_, at) => [at, at + 1])));
    return volumeId;
  }

  function withWriter(writer: SnapshotWriter): EngineContext {
    return { ...h.context, secondary: { ...h.context.secondary, writer } };
  }

  it('commits a sync whose copy runs longer than the old one-hour TTL: heartbeats keep the lease live', async () => {
    // Prepare: 160 blocks at 30 s each = 80 minutes of copy on the clock
    const volumeId = await volumeWith(160);
    const rival: unknown[] = [];
    const writer = new ObservedWriter(h.context.secondary.writer, async (put) => {
      h.timer.advance(30_000);
      if (put % 20 !== 0) return;
      // Another run asks for the volume now and then: the lease must still be live.
      try {
        await h.context.store.acquireLease(volumeId, { holder: 'rival', runId: 'rival', ttlMs: DEFAULT_LEASE_TTL_MS, now: h.timer.now() });
        rival.push('granted');
      } catch (error) {
        rival.push(error);
      }
    });
    const started = h.timer.now();

    // Act
    const run = await driveSync(withWriter(writer), volumeId, nextRunId('long'));

    // Assess
    expect(h.timer.now() - started).toBeGreaterThan(OLD_TTL_MS);
    expect(DEFAULT_LEASE_TTL_MS).toBeLessThan(OLD_TTL_MS);
    expect(rival).toHaveLength(8);
    for (const attempt of rival) expect(attempt).toBeInstanceOf(VolumeBusyError);
    expect(run.summary).toMatchObject({ seq: 0, kind: 'baseline', blocks: 160 });
    const volume = await h.context.store.getVolume(volumeId);
    expect(volume.headSeq).toBe(0);
    expect(volume.lease).toBeUndefined();
  });

  it('lets another run take over the lease of a run that stopped renewing, within one short TTL; the stalled run then commits nothing', async () => {
    // Prepare: run A planned its copy and then stalled (no task, so no heartbeat)
    const volumeId = await volumeWith(4);
    const a = await driveSync(h.context, volumeId, nextRunId('stalled'), { stopAfter: 'SyncPlan' });
    const plan = a.plan;
    if (plan === undefined || plan.skipped !== undefined) throw new Error('run A planned nothing');
    await expect(h.context.store.acquireLease(volumeId, { holder: 'b', runId: 'run-b', ttlMs: DEFAULT_LEASE_TTL_MS, now: h.timer.now() }))
      .rejects.toBeInstanceOf(VolumeBusyError);

    // Act: the clock moves past the short TTL (minutes, not the old hour); run B takes the lease
    h.timer.advance(DEFAULT_LEASE_TTL_MS + 1);
    const b = await h.context.store.acquireLease(volumeId, { holder: 'b', runId: 'run-b', ttlMs: DEFAULT_LEASE_TTL_MS, now: h.timer.now() });
    const copying = copySegment(h.context, {
      volumeId, runId: a.runId, fencingToken: plan.fencingToken, seq: plan.seq, segment: plan.segments[0],
      sourceSnapshotId: plan.primarySnapshotId, targetSnapshotId: plan.secondarySnapshotId,
    });
    const committing = syncCommit(h.context, { volumeId, runId: a.runId, fencingToken: plan.fencingToken, seq: plan.seq });

    // Assess
    expect(DEFAULT_LEASE_TTL_MS).toBeLessThanOrEqual(10 * 60_000);
    expect(b.fencingToken).toBeGreaterThan(plan.fencingToken);
    await expect(copying).rejects.toBeInstanceOf(LeaseLostError);
    await expect(committing).rejects.toBeInstanceOf(LeaseLostError);
    const volume = await h.context.store.getVolume(volumeId);
    expect(volume.headSeq).toBeUndefined();
    expect(volume.lease).toMatchObject({ runId: 'run-b', fencingToken: b.fencingToken });
    await h.context.store.releaseLease(volumeId, b);
  });

  it('stops a copy whose heartbeat finds the lease taken over, with LeaseLostError and no digests persisted', async () => {
    // Prepare
    const volumeId = await volumeWith(40);
    const a = await driveSync(h.context, volumeId, nextRunId('lost'), { stopAfter: 'SyncPlan' });
    const plan = a.plan;
    if (plan === undefined || plan.skipped !== undefined) throw new Error('run A planned nothing');
    let taken: Promise<unknown> | undefined;
    const writer = new ObservedWriter(h.context.secondary.writer, async (put) => {
      if (put !== 10) return;
      // Mid-copy, A's Lambda stalls past the TTL and B takes the volume (B's clock first, so
      // none of A's parallel workers renews in between), then A's clock catches up.
      const later = h.timer.now() + DEFAULT_LEASE_TTL_MS + 1;
      taken = h.context.store.acquireLease(volumeId, { holder: 'b', runId: 'run-b', ttlMs: DEFAULT_LEASE_TTL_MS, now: later });
      await taken;
      h.timer.advance(DEFAULT_LEASE_TTL_MS + 1);
    });

    // Act
    const copying = copySegment(withWriter(writer), {
      volumeId, runId: a.runId, fencingToken: plan.fencingToken, seq: plan.seq, segment: plan.segments[0],
      sourceSnapshotId: plan.primarySnapshotId, targetSnapshotId: plan.secondarySnapshotId,
    });

    // Assess
    await expect(copying).rejects.toBeInstanceOf(LeaseLostError);
    await expect(taken).resolves.toMatchObject({ fencingToken: plan.fencingToken + 1 });
    expect(writer.puts).toBeLessThan(40);
    const digests = [];
    for await (const chunk of h.context.store.readBlockDigests(volumeId, a.runId)) digests.push(chunk);
    expect(digests).toEqual([]);
  });
});

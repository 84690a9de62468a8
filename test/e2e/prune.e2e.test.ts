/**
 * Scenario 10 (retention): the real Prune definition, synthesized from CDK and run by the local
 * runner; after pruning, every remaining restore point is restored by the real Restore definition
 * and read back byte for byte.
 */
import { keptBy } from '../../shared/core/retention';
import { chainView, differences, outcomeOf, runJob, startE2eHarness, Workload, type EngineHarness, type RestoreOutput } from './e2e-harness';

const VOLUME_GIB = 1;

/** Restore points the retention policy keeps. */
const KEEP_LAST = 2;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

interface PruneOutput {
  pruned: number[];
  deletedSnapshotIds: string[];
  remaining: number[];
}

/**
 * ```
 *  block:      0  1  2  3  4      D_n
 *  S_0 base:   a  b  .  .  .      {0,1}
 *  S_1 sync:   ·  c  d  .  .      {1,2}
 *  S_2 sync:   e  ·  ∅  f  .      {0,2,3}    (2 cleared)
 *  S_3 sync:   ·  g  ·  ·  h      {1,4}
 *  S_4 sync:   ·  ·  i  ·  ·      {2}
 * ```
 */
describe('Prune state machine (local runner, scenario 10)', () => {
  let harness: EngineHarness;

  beforeAll(async () => {
    harness = await startE2eHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  async function buildChain(config = {}): Promise<{ workload: Workload; snapshots: string[] }> {
    const workload = await Workload.start(harness, VOLUME_GIB, config);
    const steps: Array<ReadonlyMap<number, number | null>> = [
      new Map([[0, 1], [1, 2]]),
      new Map([[1, 3], [2, 4]]),
      new Map<number, number | null>([[0, 5], [2, null], [3, 6]]),
      new Map([[1, 7], [4, 8]]),
      new Map([[2, 9]]),
    ];
    for (const step of steps) {
      await workload.write(step);
      const run = await workload.sync();
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
    }
    const snapshots: string[] = [];
    for await (const entry of harness.context.store.readChain(workload.volumeId)) snapshots.push(entry.secondarySnapshotId);
    return { workload, snapshots };
  }

  /** Restores every remaining point and returns, per seq, the blocks where it differs from its image. */
  async function restoreEach(workload: Workload, seqs: readonly number[]): Promise<Record<number, number[] | string>> {
    const result: Record<number, number[] | string> = {};
    for (const seq of seqs) {
      const run = await runJob(harness, 'Restore', { volumeId: workload.volumeId, seq });
      result[seq] = run.status === 'SUCCEEDED'
        ? differences(await workload.imageOfVolume((run.output as RestoreOutput).newVolumeId), workload.pointImage(seq))
        : `${run.error ?? ''}: ${run.cause ?? ''}`;
    }
    return result;
  }

  it('applies the retention policy, deleting the pruned points’ snapshots, and every remaining point restores byte-identically', async () => {
    // Prepare
    const { workload, snapshots } = await buildChain({ retention: { keepLast: KEEP_LAST } });

    // Act
    const run = await runJob(harness, 'Prune', { volumeId: workload.volumeId });

    // Assess
    expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
    expect(run.history).toEqual(['Prune']);
    const output = run.output as PruneOutput;
    expect({ pruned: output.pruned, remaining: output.remaining }).toEqual({ pruned: [0, 1, 2], remaining: [3, 4] });
    expect([...output.deletedSnapshotIds].sort()).toEqual(snapshots.slice(0, 3).sort());
    const chain = await chainView(harness, workload.volumeId);
    // D_3 absorbed D_0 ∪ D_1 ∪ D_2: it now describes the step from nothing to S_3.
    expect(chain.map(({ seq, blocks }) => ({ seq, blocks }))).toEqual([{ seq: 3, blocks: [0, 1, 2, 3, 4] }, { seq: 4, blocks: [2] }]);
    expect(await restoreEach(workload, [3, 4])).toEqual({ 3: [], 4: [] });
  });

  it('prunes points in the middle of the chain, merging each delta map into its successor’s', async () => {
    // Prepare
    const { workload } = await buildChain();

    // Act
    const run = await runJob(harness, 'Prune', { volumeId: workload.volumeId, seqs: [1, 3] });
    const again = await runJob(harness, 'Prune', { volumeId: workload.volumeId, seqs: [1, 3] });

    // Assess
    expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
    expect((run.output as PruneOutput).remaining).toEqual([0, 2, 4]);
    expect(outcomeOf(again)).toEqual({ status: 'SUCCEEDED' });
    expect(again.output).toMatchObject({ pruned: [], deletedSnapshotIds: [], remaining: [0, 2, 4] });
    const chain = await chainView(harness, workload.volumeId);
    expect(chain.map(({ seq, blocks }) => ({ seq, blocks }))).toEqual([
      { seq: 0, blocks: [0, 1] },
      { seq: 2, blocks: [0, 1, 2, 3] },
      { seq: 4, blocks: [1, 2, 4] },
    ]);
    expect(await restoreEach(workload, [0, 2, 4])).toEqual({ 0: [], 2: [], 4: [] });
  });
  /*
   * Tiers { all: 1h, hourly: 1d, daily: 30d }, the clock moved to each point's time; prune at D+1 02:05.
   *
   *  seq   time          age     kept by
   *  0     D   00:10     25h55   daily (first of day D; hourly too old)
   *  1     D   00:40             -
   *  2     D   01:20     24h45   - (first of its hour, but older than 1d)
   *  3     D   01:50             -
   *  4     D+1 00:10     1h55    hourly, daily
   *  5     D+1 00:30             - (not the first of its hour)
   *  6     D+1 02:00     0h05    head, all, hourly
   */
  it('prunes with retention tiers over points at moved clock times, and every remaining point restores byte-identically', async () => {
    // Prepare
    const tiers = { all: '1h', hourly: '1d', daily: '30d' };
    const workload = await Workload.start(harness, VOLUME_GIB, { retention: { tiers } });
    const dayD = Math.floor(harness.timer.now() / DAY) * DAY + DAY;
    const times = [10 * MINUTE, 40 * MINUTE, HOUR + 20 * MINUTE, HOUR + 50 * MINUTE, DAY + 10 * MINUTE, DAY + 30 * MINUTE, DAY + 2 * HOUR].map((offset) => dayD + offset);
    for (const [step, time] of times.entries()) {
      harness.timer.advance(time - harness.timer.now());
      await workload.write(new Map([[step, step + 1], [(step + 3) % 8, 20 + step]]));
      const sync = await workload.sync();
      expect(outcomeOf(sync)).toEqual({ status: 'SUCCEEDED' });
    }
    const pointTimes: string[] = [];
    for await (const entry of harness.context.store.readChain(workload.volumeId)) pointTimes.push(entry.pointInTime.slice(0, 16));
    expect(pointTimes).toEqual(times.map((time) => new Date(time).toISOString().slice(0, 16)));
    harness.timer.advance(dayD + DAY + 2 * HOUR + 5 * MINUTE - harness.timer.now());

    // Act
    const run = await runJob(harness, 'Prune', { volumeId: workload.volumeId });

    // Assess
    expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
    const output = run.output as PruneOutput;
    expect({ pruned: output.pruned, remaining: output.remaining }).toEqual({ pruned: [1, 2, 3, 5], remaining: [0, 4, 6] });
    expect(output.deletedSnapshotIds).toHaveLength(4);
    const chain = [];
    for await (const entry of harness.context.store.readChain(workload.volumeId)) chain.push(entry);
    expect(Object.fromEntries(keptBy(chain, { tiers }, new Date(harness.timer.now()).toISOString()))).toEqual({
      0: ['daily'], 4: ['hourly', 'daily'], 6: ['head', 'all', 'hourly'],
    });
    expect(await restoreEach(workload, [0, 4, 6])).toEqual({ 0: [], 4: [], 6: [] });
  });
});

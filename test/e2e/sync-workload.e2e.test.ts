/**
 * Scenarios 1, 2 and 11 (claims 5–6 for the DRL): the real Sync definition, synthesized from
 * CDK and run by the local runner, while a workload writes, clears and grows the primary volume.
 * Every restore point is read back over the EBS direct APIs and compared with the primary
 * snapshot it was made from.
 */
import { DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { BLOCKS_PER_GIB } from '../../shared/core/constants';
import { chainView, differences, outcomeOf, startE2eHarness, Workload, ZERO_BLOCK_HEX, type EngineHarness, type SyncOutput } from './e2e-harness';
import { sha256Hex } from '../../local/block-content';

const VOLUME_GIB = 1;
const LAST_BLOCK = BLOCKS_PER_GIB - 1;

/** Writes the workload makes while one sync runs: enough to land on both sides of `P_now`. */
const CONCURRENT_WRITES = 6;

/** The Task states of a sync that went straight through; consecutive repeats (polls, retries) collapsed. */
const HAPPY_PATH = ['SyncBegin', 'SnapshotStatus', 'SyncPlan', 'CopySegment', 'CompleteSnapshot', 'SnapshotStatus.Secondary', 'SyncCommit'];

/** A history with consecutive repeats of a state collapsed: a poll loop or a retry shows once. */
function collapsed(history: readonly string[]): string[] {
  return history.filter((state, at) => at === 0 || history[at - 1] !== state);
}

describe('Sync state machine with a live workload (local runner)', () => {
  let harness: EngineHarness;

  beforeAll(async () => {
    harness = await startE2eHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  async function snapshotInfo(snapshotId: string): Promise<{ encrypted: boolean; volumeSize: number }> {
    const described = await harness.cloud.clients.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    const snapshot = described.Snapshots?.[0];
    return { encrypted: snapshot?.Encrypted === true, volumeSize: snapshot?.VolumeSize ?? -1 };
  }

  /**
   * ```
   *  block:     0    5    7   9   2047
   *  P_0:       a    b    .   .    c      → S_0 baseline {0,5,2047}
   *  P_1:       ·    d    e   .    ·      → S_1 sync {5,7}
   *  P_2:       f    ·    ·   g    ·      → S_2 sync {0,9}
   *  P_3:       writes land while the sync runs: S_3 = P_3 whatever P_3 caught
   *  P_4:       (quiet)                    → S_4 equals the primary volume
   * ```
   */
  describe('baseline then incremental syncs while a workload writes (scenario 1; claims 5–6)', () => {
    it('makes every secondary snapshot equal to the primary snapshot it was made from, read back', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [5, 2], [LAST_BLOCK, 3]]));
      const steps: Array<ReadonlyMap<number, number | null>> = [new Map([[5, 4], [7, 5]]), new Map([[0, 6], [9, 7]])];
      const outputs: SyncOutput[] = [];
      const pairs: Array<{ primary: Map<number, string>; secondary: Map<number, string> }> = [];
      const record = async (output: SyncOutput): Promise<void> => {
        outputs.push(output);
        // Read P_n now: the next sync deletes it (only the newest primary snapshot is kept).
        pairs.push({ primary: await harness.readImage(output.primarySnapshotId), secondary: await harness.readImage(output.secondarySnapshotId) });
      };

      // Act
      const histories: string[][] = [];
      for (const step of [undefined, ...steps]) {
        if (step !== undefined) await workload.write(step);
        const run = await workload.sync();
        expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
        histories.push(collapsed(run.history));
        await record(run.output as SyncOutput);
      }
      const concurrent = workload.sync();
      for (let write = 0; write < CONCURRENT_WRITES; write++) {
        await workload.write(new Map([[20 + write, 100 + write]]));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const during = await concurrent;
      expect(outcomeOf(during)).toEqual({ status: 'SUCCEEDED' });
      await record(during.output as SyncOutput);
      const quiet = await workload.sync();
      expect(outcomeOf(quiet)).toEqual({ status: 'SUCCEEDED' });
      // When P_3 caught every concurrent write, the quiet sync has nothing to copy: no restore point.
      const quietSkipped = (quiet.output as { skipped?: string }).skipped === 'unchanged';
      if (!quietSkipped) await record(quiet.output as SyncOutput);

      // Assess
      expect(histories).toEqual([HAPPY_PATH, HAPPY_PATH, HAPPY_PATH]);
      for (const [seq, pair] of pairs.entries()) {
        expect({ seq, differ: differences(pair.secondary, pair.primary) }).toEqual({ seq, differ: [] });
      }
      expect(outputs.map((output) => [output.seq, output.kind])).toEqual([[0, 'baseline'], [1, 'sync'], [2, 'sync'], [3, 'sync'], ...(quietSkipped ? [] : [[4, 'sync']])]);
      const chain = await chainView(harness, workload.volumeId);
      expect(chain.slice(0, 3).map((entry) => entry.blocks)).toEqual([[0, 5, LAST_BLOCK], [5, 7], [0, 9]]);
      // Whatever P_3 caught of the concurrent writes, S_3 and S_4 between them hold all of them once.
      const concurrentBlocks = Array.from({ length: CONCURRENT_WRITES }, (_, write) => 20 + write);
      expect([...(chain[3]?.blocks ?? []), ...(chain[4]?.blocks ?? [])].sort((a, b) => a - b)).toEqual(concurrentBlocks);
      expect(differences(pairs.at(-1)?.secondary ?? new Map(), await workload.volumeImage())).toEqual([]);
      expect(differences(pairs[2]?.secondary ?? new Map(), workload.pointImage(2))).toEqual([]);
    });
  });

  /**
   * ```
   *  block:     0  1  2  3
   *  P_0:       a  b  c  .    → S_0 baseline, encrypted lineage
   *  P_1:       a  ·  c  d    → S_1: block 1 written as zeros (an encrypted unwritten block reads random)
   * ```
   */
  describe('a block cleared in the primary (scenario 2; claims 5–6)', () => {
    it('reads as zeros in the encrypted secondary lineage', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB, { encrypted: true });
      await workload.write(new Map([[0, 1], [1, 2], [2, 3]]));
      const baseline = await workload.sync();
      await workload.write(new Map<number, number | null>([[1, null], [3, 4]]));

      // Act
      const incremental = await workload.sync();

      // Assess
      expect(outcomeOf(baseline)).toEqual({ status: 'SUCCEEDED' });
      expect(outcomeOf(incremental)).toEqual({ status: 'SUCCEEDED' });
      const first = baseline.output as SyncOutput;
      const second = incremental.output as SyncOutput;
      expect(await snapshotInfo(first.secondarySnapshotId)).toEqual({ encrypted: true, volumeSize: VOLUME_GIB });
      expect(await snapshotInfo(second.secondarySnapshotId)).toEqual({ encrypted: true, volumeSize: VOLUME_GIB });
      expect(second).toMatchObject({ seq: 1, kind: 'sync', blocks: 2 });
      expect((await chainView(harness, workload.volumeId))[1]?.blocks).toEqual([1, 3]);
      expect(await harness.listedBlocks(second.secondarySnapshotId)).toEqual([0, 1, 2, 3]);
      const reader = harness.context.secondary.reader;
      let clearedHex = '';
      for await (const block of reader.listBlocks(second.secondarySnapshotId)) {
        if (block.blockIndex === 1) clearedHex = sha256Hex(await reader.getBlock(second.secondarySnapshotId, 1, block.blockToken));
      }
      expect(clearedHex).toBe(ZERO_BLOCK_HEX);
      expect(differences(await harness.readImage(second.secondarySnapshotId), await workload.volumeImage())).toEqual([]);
      expect(differences(await harness.readImage(first.secondarySnapshotId), workload.pointImage(0))).toEqual([]);
    });
  });

  /**
   * ```
   *  block:     0   2047 │ 2048  4095
   *  P_0 1 GiB: a   b    │                → S_0 (1 GiB)
   *  grow to 2 GiB, write:  c     d
   *  P_1 2 GiB: a   b    │ c     d        → S_1 (2 GiB, child of S_0) sync {2048, 4095}
   * ```
   */
  describe('the primary volume grows between syncs (scenario 11)', () => {
    it('syncs the grown volume into a larger child snapshot equal to the primary', async () => {
      // Prepare
      const workload = await Workload.start(harness, VOLUME_GIB);
      await workload.write(new Map([[0, 1], [LAST_BLOCK, 2]]));
      const baseline = await workload.sync();
      workload.grow(2 * VOLUME_GIB);
      await workload.write(new Map([[BLOCKS_PER_GIB, 3], [2 * BLOCKS_PER_GIB - 1, 4]]));

      // Act
      const grown = await workload.sync();

      // Assess
      expect(outcomeOf(baseline)).toEqual({ status: 'SUCCEEDED' });
      expect(outcomeOf(grown)).toEqual({ status: 'SUCCEEDED' });
      expect(collapsed(grown.history)).toEqual(HAPPY_PATH);
      const output = grown.output as SyncOutput;
      expect(output).toMatchObject({ seq: 1, kind: 'sync', blocks: 2, volumeSize: 2 * VOLUME_GIB });
      expect((await chainView(harness, workload.volumeId))[1]?.blocks).toEqual([BLOCKS_PER_GIB, 2 * BLOCKS_PER_GIB - 1]);
      expect(await snapshotInfo((baseline.output as SyncOutput).secondarySnapshotId)).toEqual({ encrypted: false, volumeSize: VOLUME_GIB });
      expect(await snapshotInfo(output.secondarySnapshotId)).toEqual({ encrypted: false, volumeSize: 2 * VOLUME_GIB });
      expect(differences(await harness.readImage(output.secondarySnapshotId), await workload.volumeImage())).toEqual([]);
      expect((await harness.context.store.getVolume(workload.volumeId)).volumeSize).toBe(2 * VOLUME_GIB);
    });
  });
});

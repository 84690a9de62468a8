/**
 * Scenario 9 (claim 12): the real Restore definition, synthesized from CDK and run by the local
 * runner, over a chain built by the real Sync and Verify definitions. Every restored volume is
 * read back block by block and compared with the image its restore point was made from.
 */
import { BLOCKS_PER_GIB } from '../../shared/core/constants';
import {
  chainView,
  corruptFrom,
  differences,
  outcomeOf,
  RESTORE_PATH,
  restorePathOf,
  runJob,
  startE2eHarness,
  Workload,
  type EngineHarness,
  type RestoreOutput,
} from './e2e-harness';

const VOLUME_GIB = 1;

/** One millisecond: a time just after a restore point's, before the next one's. */
const JUST_AFTER_MS = 1;

/**
 * ```
 *  block:      0  1  2  3  4  5  6  7      D_n
 *  S_0 base:   a  b  c  d  .  .  .  .      {0,1,2,3}
 *  S_1 sync:   ·  e  ·  ·  f  .  .  .      {1,4}
 *  S_2 sync:   ·  ·  g  ∅  ·  h  .  .      {2,3,5}     (3 cleared)
 *  S_3 sync:   ·  ·  ·  ·  ·  ·  i  .      {6}
 *  primary:    ·  ·  ·  ·  ·  ·  ·  j      present {7} (not synced)
 *  restore 1:  R = D_2 ∪ D_3 ∪ {7} = {2,3,5,6,7}: 5 blocks written, not 2,048
 * ```
 */
describe('Restore state machine (local runner, scenario 9; claim 12)', () => {
  let harness: EngineHarness;
  let workload: Workload;

  beforeAll(async () => {
    harness = await startE2eHarness();
    workload = await Workload.start(harness, VOLUME_GIB);
    const steps: Array<ReadonlyMap<number, number | null>> = [
      new Map([[0, 1], [1, 2], [2, 3], [3, 4]]),
      new Map([[1, 5], [4, 6]]),
      new Map<number, number | null>([[2, 7], [3, null], [5, 8]]),
      new Map([[6, 9]]),
    ];
    for (const step of steps) {
      await workload.write(step);
      const run = await workload.sync();
      if (run.status !== 'SUCCEEDED') throw new Error(`setup sync failed: ${run.error ?? ''} ${run.cause ?? ''}`);
    }
    await workload.write(new Map([[7, 10]]));
  });

  afterAll(async () => {
    await harness.stop();
  });

  async function pointInTimeOf(seq: number): Promise<string> {
    return (await harness.context.store.getEntry(workload.volumeId, seq)).pointInTime;
  }

  describe('by seq', () => {
    it('restores point 1 byte-identically, writing exactly the restore plan (delta restore)', async () => {
      // Prepare
      const chain = await chainView(harness, workload.volumeId);
      const plan = new Set([...(chain[2]?.blocks ?? []), ...(chain[3]?.blocks ?? []), 7]);

      // Act
      const run = await runJob(harness, 'Restore', { volumeId: workload.volumeId, seq: 1 });

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(restorePathOf(run)).toEqual(RESTORE_PATH);
      const output = run.output as RestoreOutput;
      expect(output).toMatchObject({ mode: 'delta', restorePoint: { seq: 1, trust: 'trusted' }, swapped: false });
      expect([...plan].sort((a, b) => a - b)).toEqual([2, 3, 5, 6, 7]);
      expect({ planBlocks: output.planBlocks, blocksWritten: output.blocksWritten }).toEqual({ planBlocks: plan.size, blocksWritten: plan.size });
      expect(output.planBlocks).toBeLessThan(BLOCKS_PER_GIB * VOLUME_GIB);
      expect(differences(await workload.imageOfVolume(output.newVolumeId), workload.pointImage(1))).toEqual([]);
      expect(differences(await workload.volumeImage(), workload.pointImage(1))).toEqual([2, 3, 5, 6, 7]);
    });
  });

  describe('by time', () => {
    it('restores the newest trusted point at or before the time', async () => {
      // Prepare
      const between = new Date(Date.parse(await pointInTimeOf(2)) + JUST_AFTER_MS).toISOString();

      // Act
      const run = await runJob(harness, 'Restore', { volumeId: workload.volumeId, pointInTime: between });

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(restorePathOf(run)).toEqual(RESTORE_PATH);
      const output = run.output as RestoreOutput;
      expect(output.restorePoint.seq).toBe(2);
      expect(output.blocksWritten).toBe(2);
      expect(differences(await workload.imageOfVolume(output.newVolumeId), workload.pointImage(2))).toEqual([]);
    });
  });

  /**
   * Block 2 of S_2 (and of S_3, which shares it) goes bad; a Verify marks 2 and 3 suspect and
   * appends fix-up 4.
   */
  describe('a suspect restore point', () => {
    let suspectSeqs: number[] = [];

    beforeAll(async () => {
      await corruptFrom(harness, workload.volumeId, 2, [2]);
      const verify = await runJob(harness, 'Verify', { volumeId: workload.volumeId });
      if (verify.status !== 'SUCCEEDED') throw new Error(`setup verify failed: ${verify.error ?? ''} ${verify.cause ?? ''}`);
      workload.commit((await harness.context.store.getVolume(workload.volumeId)).headSeq ?? -1);
      suspectSeqs = (await chainView(harness, workload.volumeId)).filter((entry) => entry.trust === 'suspect').map((entry) => entry.seq);
    });

    it('is refused without the override: the execution fails with the refusal and says what to do', async () => {
      // Act
      const run = await runJob(harness, 'Restore', { volumeId: workload.volumeId, seq: 2 });

      // Assess
      expect(suspectSeqs).toEqual([2, 3]);
      expect({ status: run.status, error: run.error, history: run.history }).toEqual({ status: 'FAILED', error: 'SuspectRestorePointError', history: ['RestoreBegin'] });
      expect(JSON.parse(run.cause ?? '{}')).toMatchObject({ errorMessage: expect.stringMatching(/restore point 2 is suspect \(1 bad blocks\); pick another point or pass .*allow-suspect/) });
      expect((await harness.context.store.getVolume(workload.volumeId)).lease).toBeUndefined();
    });

    it('is restored with the override, bad block and all', async () => {
      // Act
      const run = await runJob(harness, 'Restore', { volumeId: workload.volumeId, seq: 2, allowSuspect: true });

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      const output = run.output as RestoreOutput;
      expect(output.restorePoint).toMatchObject({ seq: 2, trust: 'suspect' });
      expect(differences(await workload.imageOfVolume(output.newVolumeId), workload.pointImage(2))).toEqual([2]);
    });

    it('is passed over by a restore by time, which takes the newest trusted point before it', async () => {
      // Prepare
      const afterSuspects = new Date(Date.parse(await pointInTimeOf(3)) + JUST_AFTER_MS).toISOString();

      // Act
      const run = await runJob(harness, 'Restore', { volumeId: workload.volumeId, pointInTime: afterSuspects });

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      const output = run.output as RestoreOutput;
      expect(output.restorePoint).toMatchObject({ seq: 1, trust: 'trusted' });
      expect(differences(await workload.imageOfVolume(output.newVolumeId), workload.pointImage(1))).toEqual([]);
    });
  });

  describe('in place', () => {
    it('swaps the restored volume onto the instance at the primary’s device', async () => {
      // Prepare
      const before = await harness.context.primary.volumes.describeVolume(workload.volumeId);

      // Act
      const run = await runJob(harness, 'Restore', { volumeId: workload.volumeId, seq: 0, inPlace: true });

      // Assess
      expect(outcomeOf(run)).toEqual({ status: 'SUCCEEDED' });
      expect(restorePathOf(run)).toEqual(RESTORE_PATH);
      const output = run.output as RestoreOutput;
      expect(output).toMatchObject({ swapped: true, restorePoint: { seq: 0 } });
      const restored = await harness.context.primary.volumes.describeVolume(output.newVolumeId);
      const detached = await harness.context.primary.volumes.describeVolume(workload.volumeId);
      expect(before.attachment?.instanceId).toBe(workload.instanceId);
      expect(restored.attachment).toEqual({ instanceId: workload.instanceId, device: before.attachment?.device });
      expect(detached.attachment).toBeUndefined();
      expect(differences(await workload.imageOfVolume(output.newVolumeId), workload.pointImage(0))).toEqual([]);
    });
  });
});

/**
 * Scenario 1 (claims 5–6 for the DRL): the real Sync definition, synthesized from CDK, run by the
 * local runner against the emulator and dynalite. A baseline, then an incremental sync while the
 * workload writes; every secondary image equals the primary's, read back block by block.
 *
 * ```
 *  block:     0    5    7   2047
 *  P_0:       a    b    .    c        → S_0 (baseline, 3 blocks)
 *  P_1:       ·    d    e    c        → S_1 (sync: 0 cleared, 5 rewritten, 7 new = 3 blocks)
 * ```
 */
import { runStateMachine } from '../../local/stepfunctions/runner';
import { startEngineHarness, type EngineHarness } from '../integration/engine/engine-harness';

/** 1 GiB: one segment of 2,048 blocks, enough for the scenario and quick to copy. */
const VOLUME_GIB = 1;
const LAST_BLOCK = 2_047;

/** The Task states of a sync that went straight through, in order (polls may repeat a SnapshotStatus). */
const HAPPY_PATH = ['SyncBegin', 'SnapshotStatus', 'SyncPlan', 'CopySegment', 'CompleteSnapshot', 'SnapshotStatus.Secondary', 'SyncCommit'];

/** The states of a history in the order each was first entered. */
function firstOccurrences(history: readonly string[]): string[] {
  return [...new Set(history)];
}

interface SyncOutput {
  seq: number;
  kind: string;
  blocks: number;
  primarySnapshotId: string;
  secondarySnapshotId: string;
}

describe('Sync state machine (local runner)', () => {
  let harness: EngineHarness;

  beforeAll(async () => {
    harness = await startEngineHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  describe('runStateMachine', () => {
    it('has Promise.withResolvers installed, without which every task would fail into the Catch', () => {
      // Assess
      expect(typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers).toBe('function');
    });

    it('takes a baseline then an incremental sync on the happy path, each secondary image equal to the primary', async () => {
      // Prepare
      const volumeId = await harness.createPrimaryVolume(VOLUME_GIB);
      await harness.protect(volumeId, VOLUME_GIB);
      await harness.writeBlocks(volumeId, new Map([[0, 1], [5, 2], [LAST_BLOCK, 3]]));
      const candidates = [0, 5, 7, LAST_BLOCK];

      // Act
      const baseline = await runStateMachine('Sync', { volumeId }, { context: harness.context });
      const primaryAfterBaseline = await harness.volumeImage(volumeId, VOLUME_GIB, candidates);
      await harness.writeBlocks(volumeId, new Map<number, number | null>([[0, null], [5, 4], [7, 5]]));
      const incremental = await runStateMachine('Sync', { volumeId }, { context: harness.context });
      const primaryAfterIncremental = await harness.volumeImage(volumeId, VOLUME_GIB, candidates);

      // Assess
      expect({ status: baseline.status, error: baseline.error, cause: baseline.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
      expect(firstOccurrences(baseline.history)).toEqual(HAPPY_PATH);
      expect(baseline.tasks).not.toContain('JobFailed');
      const first = baseline.output as SyncOutput;
      expect(first).toMatchObject({ seq: 0, kind: 'baseline', blocks: 3 });
      expect(await harness.readImage(first.secondarySnapshotId)).toEqual(primaryAfterBaseline);

      expect(incremental.status).toBe('SUCCEEDED');
      expect(firstOccurrences(incremental.history)).toEqual(HAPPY_PATH);
      expect(incremental.tasks).not.toContain('JobFailed');
      const second = incremental.output as SyncOutput;
      expect(second).toMatchObject({ seq: 1, kind: 'sync', blocks: 3 });
      expect(second.secondarySnapshotId).not.toBe(first.secondarySnapshotId);
      const secondaryImage = await harness.readImage(second.secondarySnapshotId);
      expect(secondaryImage).toEqual(primaryAfterIncremental);
      expect(secondaryImage.has(0)).toBe(false);
      expect([...secondaryImage.keys()].sort((a, b) => a - b)).toEqual([5, 7, LAST_BLOCK]);
    });
    it('fails through JobFailed with the original error when a task crashes, and the next run loses nothing', async () => {
      // Prepare: a baseline, then writes the crashed run was meant to copy
      const volumeId = await harness.createPrimaryVolume(VOLUME_GIB);
      await harness.protect(volumeId, VOLUME_GIB);
      await harness.writeBlocks(volumeId, new Map([[1, 11], [2, 12]]));
      expect((await runStateMachine('Sync', { volumeId }, { context: harness.context })).status).toBe('SUCCEEDED');
      await harness.writeBlocks(volumeId, new Map([[2, 13], [9, 14]]));

      // Act: task invocation 4 of a 1-segment sync is CopySegment; it dies after copying
      const crashed = await runStateMachine('Sync', { volumeId }, { context: harness.context, crash: { atTask: 4, when: 'after' } });
      const recovered = await runStateMachine('Sync', { volumeId }, { context: harness.context });

      // Assess
      expect(crashed.crashed).toEqual({ stateName: 'CopySegment', when: 'after' });
      expect(crashed.status).toBe('FAILED');
      expect(crashed.error).toBe('InjectedCrashError');
      expect(JSON.parse(crashed.cause ?? '{}')).toMatchObject({ errorType: 'InjectedCrashError' });
      expect(crashed.history.at(-1)).toBe('JobFailed');
      expect(recovered.status).toBe('SUCCEEDED');
      const output = recovered.output as SyncOutput;
      expect(await harness.readImage(output.secondarySnapshotId)).toEqual(await harness.volumeImage(volumeId, VOLUME_GIB, [1, 2, 9]));
    });
  });
});

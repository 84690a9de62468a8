/**
 * A scheduled sync with nothing to copy ends in a Succeed, not in an empty restore point: the
 * real Sync definition, synthesized from CDK, run by the local runner.
 *
 * ```
 *  block:      0   1   2
 *  P_0:        a   b   .     → S_0 (baseline, 2 blocks)
 *  P_now:      ·   ·   ·     → skipped: unchanged (P_now deleted, no S, lease free)
 *  P_1:        ·   ·   c     → S_1 (sync, 1 block: changes(P_0 → P_1))
 * ```
 */
import { runStateMachine } from '../../local/stepfunctions/runner';
import { PURPOSE_TAG, SYNC_PRIMARY_PURPOSE, VOLUME_ID_TAG } from '../../shared/core/tags';
import { startEngineHarness, type EngineHarness } from '../integration/engine/engine-harness';
import { chainView, firstOccurrences, type SyncOutput } from './e2e-harness';

const VOLUME_GIB = 1;

/** An unchanged sync's Task states: it ends after the plan. */
const UNCHANGED_PATH = ['SyncBegin', 'SnapshotStatus', 'SyncPlan'];

describe('Sync state machine (local runner)', () => {
  let harness: EngineHarness;

  beforeAll(async () => {
    harness = await startEngineHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  describe('a sync when nothing changed since the head restore point', () => {
    it('succeeds with { skipped: "unchanged" }, commits nothing, and the next sync copies only the new change', async () => {
      // Prepare
      const volumeId = await harness.createPrimaryVolume(VOLUME_GIB);
      await harness.protect(volumeId, VOLUME_GIB);
      await harness.writeBlocks(volumeId, new Map([[0, 1], [1, 2]]));
      const baseline = await runStateMachine('Sync', { volumeId }, { context: harness.context });
      const base = (baseline.output as SyncOutput).primarySnapshotId;

      // Act
      const unchanged = await runStateMachine('Sync', { volumeId }, { context: harness.context });
      const afterSkip = await harness.context.store.getVolume(volumeId);
      const primaries = await harness.context.primary.lookup.findOwned([{ key: VOLUME_ID_TAG, value: volumeId }, { key: PURPOSE_TAG, value: SYNC_PRIMARY_PURPOSE }]);
      await harness.writeBlocks(volumeId, new Map([[2, 3]]));
      const next = await runStateMachine('Sync', { volumeId }, { context: harness.context });

      // Assess
      expect(baseline.output).toMatchObject({ seq: 0, kind: 'baseline', blocks: 2 });
      expect({ status: unchanged.status, output: unchanged.output }).toEqual({ status: 'SUCCEEDED', output: { skipped: 'unchanged' } });
      expect(firstOccurrences(unchanged.history)).toEqual(UNCHANGED_PATH);
      expect({ headSeq: afterSkip.headSeq, lease: afterSkip.lease, base: afterSkip.basePrimarySnapshotId }).toEqual({ headSeq: 0, lease: undefined, base });
      expect(primaries.map((snapshot) => snapshot.snapshotId)).toEqual([base]);
      expect(next.output).toMatchObject({ seq: 1, kind: 'sync', blocks: 1 });
      expect((await chainView(harness, volumeId)).map((entry) => entry.blocks)).toEqual([[0, 1], [2]]);
    });
  });
});

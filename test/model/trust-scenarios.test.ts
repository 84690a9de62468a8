/**
 * Named trust scenarios (issue 12: the five of the brief, and one the random suite found):
 * histories the design must get right, each asserting its exact outcome and then, through the model harness, that no invariant broke after any step.
 * Every step runs on the engine (the local drivers against the emulator and dynalite) and on the
 * naive model of `model.ts`.
 */
import { driveRestore, driveScrub, driveSync, nextRunId } from '../../local/drivers';
import { sha256Hex, startEngineHarness, type EngineHarness } from '../integration/engine/engine-harness';
import { contentDigest, damagedDigest, ModelRunner } from './harness';
import type { SyncFault } from './model';
import type { Op } from './ops';

/** A write of `patternBlock(seed)` at each block. */
function write(blocks: Record<number, number>): Op {
  return { op: 'write', blocks: Object.entries(blocks).map(([block, seed]) => [Number(block), seed] as const) };
}

const SYNC: Op = { op: 'sync' };
const VERIFY: Op = { op: 'verify', quick: false };

function corrupt(seq: number, block: number): Op {
  return { op: 'corrupt', seq, block };
}

describe('Trust scenarios', () => {
  let engine: EngineHarness;
  let scenario = 100;

  beforeAll(async () => {
    engine = await startEngineHarness();
  }, 30_000);

  afterAll(async () => {
    await engine?.stop();
  });

  async function runner(): Promise<ModelRunner> {
    scenario += 1;
    return ModelRunner.start(engine, { seed: scenario, collect: true });
  }

  /** `[seq, trust, suspectBlocks]` of every committed point, as the engine reports them. */
  async function trustOf(run: ModelRunner): Promise<Array<[number, string, number]>> {
    return [...(await run.engineChain()).values()].map((entry) => [entry.seq, entry.trust, entry.suspectBlocks]);
  }

  /** Restores point `seq` and reads `block` of the new volume back (or the refusal's name). */
  async function restoreBlock(run: ModelRunner, seq: number, block: number, allowSuspect = false): Promise<{ refused?: string; hex?: string }> {
    try {
      const restored = await driveRestore(engine.context, { volumeId: run.volumeId, seq, allowSuspect });
      const newVolumeId = restored.volume?.newVolumeId ?? '';
      const hex = sha256Hex(await engine.model.readBlock(newVolumeId, block));
      await engine.model.deleteVolume(newVolumeId);
      return { hex };
    } catch (error) {
      return { refused: error instanceof Error ? error.name : String(error) };
    }
  }

  it('1. a crashed sync resumed after a verify never commits a trusted point holding the bad block, and the repair leaves a trusted head equal to the primary', async () => {
    // block        0    1    2    3    4
    // seq 0        a0   a1   a2             baseline
    // seq 1                       b3        sync
    // in flight                        c4   sync died after CopySegment: DRL {4}, S_2 pending (parent S_1)
    // damage       ✗                        version (0, 0): read by S_0, S_1 and the pending S_2
    // verify       C = {0} → 0 and 1 suspect; the fix-up resumes seq 2 first, then repairs block 0
    // Prepare
    const run = await runner();
    await run.applyAll([
      write({ 0: 1000, 1: 1001, 2: 1002 }), SYNC,
      write({ 3: 1003 }), SYNC,
      write({ 4: 1004 }), { op: 'sync', fault: { stopAfter: 'CopySegment' } },
      corrupt(0, 0),
    ]);

    // Act
    await run.apply(VERIFY);
    await run.apply(SYNC);

    // Assess
    const chain = await run.engineChain();
    const resumed = chain.get(2);
    expect(resumed).toBeDefined();
    // Point 2 either rewrote block 0 (then trusted) or holds the bad version (then suspect).
    expect(resumed?.trust).toBe(resumed?.deltaMap.has(0) === true ? 'trusted' : 'suspect');
    const restored = await restoreBlock(run, 2, 0);
    expect(restored.hex ?? restored.refused).not.toBe(damagedDigest(1000));
    if (restored.refused !== undefined) expect(restored.refused).toBe('SuspectRestorePointError');
    else expect(restored.hex).toBe(contentDigest(1000));
    const head = [...chain.values()].at(-1);
    expect(head?.trust).toBe('trusted');
    expect(await run.headMatchesPrimary()).toEqual([]);
    run.assertNoViolations();
  }, 120_000);

  it('2. a second damaged version adds to the bad blocks of every point holding both: 0 and 1 say 2 bad, 2 says 1', async () => {
    // block        0    1    5
    // seq 0        a0   a1        baseline
    // seq 1                  b5   sync: holds (0,0) and (0,1)
    // damage 1     ✗              (0,0) → verify: 0, 1 suspect (1 bad); fix-up seq 2 rewrites 0
    // damage 2          ✗         (0,1), held by 0, 1, 2 → verify: 0, 1: 2 bad; 2: 1 bad; fix-up seq 3 rewrites 1
    // Prepare
    const run = await runner();
    await run.applyAll([write({ 0: 2000, 1: 2001 }), SYNC, write({ 5: 2005 }), SYNC]);

    // Act
    await run.applyAll([corrupt(0, 0), VERIFY]);
    const afterFirst = await trustOf(run);
    await run.applyAll([corrupt(2, 1), VERIFY]);

    // Assess
    expect(afterFirst).toEqual([[0, 'suspect', 1], [1, 'suspect', 1], [2, 'trusted', 0]]);
    expect(await trustOf(run)).toEqual([[0, 'suspect', 2], [1, 'suspect', 2], [2, 'suspect', 1], [3, 'trusted', 0]]);
    run.assertNoViolations();
  }, 120_000);

  /** Fix-ups that die before their dirty region log exists: nothing of the repair is in flight. */
  const BEFORE_THE_DRL: ReadonlyArray<[string, SyncFault]> = [
    ['stopped after SyncBegin', { stopAfter: 'SyncBegin' }],
    ['stopped after WaitPrimary', { stopAfter: 'WaitPrimary' }],
    ['crashed before SyncPlan', { crash: { step: 'SyncPlan', when: 'before' } }],
  ];

  it.each(BEFORE_THE_DRL)('3. a verify whose fix-up %s: the next scheduled sync commits the repair as a fixup, and no later point is trusted holding the bad block', async (_, fixup) => {
    // block        0    1    2    3    4
    // seq 0        a0   a1   a2             baseline
    // seq 1                       b3        sync
    // damage       ✗                        (0, 0) → verify: C = {0}, 0 and 1 suspect; its fix-up dies, no DRL
    // seq 2        a0'                 c4   the next scheduled sync: D = {4} ∪ {0} (the head's bad block), kind fixup
    // Prepare
    const run = await runner();
    await run.applyAll([write({ 0: 3000, 1: 3001, 2: 3002 }), SYNC, write({ 3: 3003 }), SYNC, corrupt(1, 0)]);
    await run.apply({ op: 'verify', quick: false, fixup });

    // Act
    await run.applyAll([write({ 4: 3004 }), SYNC]);

    // Assess
    const chain = await run.engineChain();
    expect(await engine.context.store.readDirtyRegionLog(run.volumeId)).toBeUndefined();
    expect(chain.get(2)).toMatchObject({ kind: 'fixup', trust: 'trusted' });
    expect([...(chain.get(2)?.deltaMap ?? [])].sort((a, b) => a - b)).toEqual([0, 4]);
    for (const entry of chain.values()) {
      const holdsBad = entry.seq <= 1;
      expect([entry.seq, entry.trust]).toEqual([entry.seq, holdsBad ? 'suspect' : 'trusted']);
    }
    expect(await run.headMatchesPrimary()).toEqual([]);
    run.assertNoViolations();
  }, 120_000);

  describe('4. damage to a version whose block the host has since rewritten (pending in D0)', () => {
    // block        0    1    2    3
    // seq 0        a0   a1   a2        baseline
    // seq 1                       b3   sync
    // host         a0'                 rewritten after P_1: block 0 is pending (D0) at the next verify
    // damage       ✗                   (0, 0), held by 0 and 1 only once seq 2 copies a0'
    const history = (): Op[] => [write({ 0: 4000, 1: 4001, 2: 4002 }), SYNC, write({ 3: 4003 }), SYNC, write({ 0: 4010 }), corrupt(1, 0)];

    it('is not seen by a verify (block 0 is pending): the points holding it stay trusted until a scrub reads it', async () => {
      // Prepare
      const run = await runner();
      await run.applyAll(history());

      // Act
      await run.applyAll([VERIFY, SYNC]);

      // Assess
      expect(await trustOf(run)).toEqual([[0, 'trusted', 0], [1, 'trusted', 0], [2, 'trusted', 0]]);
      run.assertNoViolations();
    }, 120_000);

    it('is found by the scrub, which makes the older points holding it suspect', async () => {
      // Prepare
      const run = await runner();
      await run.applyAll([...history(), VERIFY, SYNC]);

      // Act
      await run.apply({ op: 'scrub', scope: 'all' });

      // Assess
      expect(await trustOf(run)).toEqual([[0, 'suspect', 1], [1, 'suspect', 1], [2, 'trusted', 0]]);
      run.assertNoViolations();
    }, 120_000);
  });

  describe('6. (found by the random suite) the digests of a resumed sync', () => {
    // block        0    5
    // seq 0        a0   a5     baseline
    // in flight    b0          a sync died after SyncPlan: DRL {0}, nothing copied, no digests under its run
    // seq 1        b0          the next sync resumes it: copies b0 (its digests go under the resuming run's id),
    //                          commits it with the crashed run's (empty) manifest layer
    // prune 0      D_1 = {0, 5}, manifest [crashed run, seq 0's run]: the only digest of block 0 is a0's
    // scrub        before the prune: b0 has no digest, so damage to it goes unseen; after: b0 is read against a0's digest
    const history = (): Op[] => [
      write({ 0: 6000, 5: 6005 }), SYNC,
      write({ 0: 6010 }), { op: 'sync', fault: { stopAfter: 'SyncPlan' } }, SYNC,
    ];

    it('a scrub checks every block the resumed entry wrote (none is left unchecked)', async () => {
      // Prepare
      const run = await runner();
      await run.applyAll(history());

      // Act
      const { segments } = await driveScrub(engine.context, run.volumeId, nextRunId('scenario-scrub'), { scope: 'all' });

      // Assess
      expect(segments.map(({ seq, read, unchecked, bad }) => ({ seq, read, unchecked, bad }))).toEqual([
        { seq: 0, read: 2, unchecked: 0, bad: 0 },
        { seq: 1, read: 1, unchecked: 0, bad: 0 },
      ]);
    }, 120_000);

    it('a scrub finds damage to a version the resumed sync wrote: the point holding it becomes suspect', async () => {
      // Prepare
      const run = await runner();
      await run.applyAll([...history(), corrupt(1, 0)]);

      // Act
      await run.apply({ op: 'scrub', scope: 'all' });

      // Assess
      expect(await trustOf(run)).toEqual([[0, 'trusted', 0], [1, 'suspect', 1]]);
      run.assertNoViolations();
    }, 120_000);

    it('an execution that resumes one entry and then commits its own keeps both manifests: a scrub checks both and finds nothing bad', async () => {
      // block        0    5
      // seq 0        a0   a5     baseline
      // in flight    b0          died after CopySegment: DRL {0}
      // host         c0          rewritten before the next sync
      // next sync    pass 1 resumes seq 1 (b0), pass 2 commits seq 2 (c0): one run id, one segment, two entries
      // Prepare
      const run = await runner();
      await run.applyAll([write({ 0: 6100, 5: 6105 }), SYNC, write({ 0: 6110 }), { op: 'sync', fault: { stopAfter: 'CopySegment' } }, write({ 0: 6120 }), SYNC]);

      // Act
      const { segments } = await driveScrub(engine.context, run.volumeId, nextRunId('scenario-scrub'), { scope: 'all' });

      // Assess
      expect(segments.map(({ seq, read, unchecked, bad }) => ({ seq, read, unchecked, bad }))).toEqual([
        { seq: 0, read: 2, unchecked: 0, bad: 0 },
        { seq: 1, read: 1, unchecked: 0, bad: 0 },
        { seq: 2, read: 1, unchecked: 0, bad: 0 },
      ]);
      expect(await trustOf(run)).toEqual([[0, 'trusted', 0], [1, 'trusted', 0], [2, 'trusted', 0]]);
    }, 120_000);

    it('after a prune, a scrub reports no bad version where nothing is damaged', async () => {
      // Prepare
      const run = await runner();
      await run.applyAll([...history(), { op: 'prune', seqs: [0] }]);

      // Act
      await run.apply({ op: 'scrub', scope: 'all' });

      // Assess
      expect(await trustOf(run)).toEqual([[1, 'trusted', 0]]);
      run.assertNoViolations();
    }, 120_000);
  });

  describe('5. stored-copy damage', () => {
    it('to block b of S_k marks every point holding that version after a verify, not only k', async () => {
      // block        0    1    2    6    7
      // seq 0        a0   a1   a2             baseline
      // seq 1                       b6        sync
      // seq 2                            c7   sync
      // damage            ✗                   through S_1: version (0, 1), held by 0, 1 and 2
      // verify       C = {1} → 0, 1, 2 suspect (1 bad each); fix-up seq 3 rewrites 1
      // Prepare
      const run = await runner();
      await run.applyAll([write({ 0: 5000, 1: 5001, 2: 5002 }), SYNC, write({ 6: 5006 }), SYNC, write({ 7: 5007 }), SYNC]);

      // Act
      await run.applyAll([corrupt(1, 1), VERIFY]);

      // Assess
      expect(await trustOf(run)).toEqual([[0, 'suspect', 1], [1, 'suspect', 1], [2, 'suspect', 1], [3, 'trusted', 0]]);
      run.assertNoViolations();
    }, 120_000);

    it("the tour's situation: damage through the head to a block of D_{k-1} is read by S_{k-1} and by a child taken later (the emulator shares the stored version)", async () => {
      // block        0    1    2    3
      // seq 0        a0   a1   a2        baseline
      // seq 1             b1             sync
      // seq 2                  c2        sync (the head)
      // damage            ✗              POST /_emulator/corrupt on S_2, block 1 ∈ D_1 − D_2: version (1, 1)
      // seq 3                       d3   a child taken after the damage: it holds (1, 1) too
      // No model harness here: this is the emulator's own behaviour, without the suite's shim.
      // Prepare
      const volumeId = await engine.createPrimaryVolume(1);
      await engine.protect(volumeId, 1);
      const sync = async (): Promise<string> => {
        const { summary } = await driveSync(engine.context, volumeId, nextRunId('tour-sync'));
        return summary?.secondarySnapshotId ?? '';
      };
      await engine.writeBlocks(volumeId, new Map([[0, 5100], [1, 5101], [2, 5102]]));
      await sync();
      await engine.writeBlocks(volumeId, new Map([[1, 5111]]));
      const s1 = await sync();
      await engine.writeBlocks(volumeId, new Map([[2, 5122]]));
      const s2 = await sync();

      // Act
      const response = await fetch(`${engine.emulator.endpoint}/_emulator/corrupt`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ snapshotId: s2, blockIndex: 1 }),
      });
      await engine.writeBlocks(volumeId, new Map([[3, 5133]]));
      const s3 = await sync();

      // Assess
      expect(response.ok).toBe(true);
      const damaged = damagedDigest(5111);
      expect((await engine.readImage(s2)).get(1)).toBe(damaged);
      expect((await engine.readImage(s1)).get(1)).toBe(damaged);
      expect((await engine.readImage(s3)).get(1)).toBe(damaged);
    }, 120_000);
  });
});

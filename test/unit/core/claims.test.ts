/**
 * One scenario per claim of seed/claims.txt that the pure core carries. The system claims
 * 13–24 restate the method claims 1–12 as "means for …": they run through the same functions,
 * so each scenario below names its twin rather than repeating it.
 *
 * Volumes are 1 GiB (2,048 blocks) unless a scenario needs more; block diagrams show only the
 * blocks that matter. Entry i has its point in time at minute 10·i and commits at 10·i + 1.
 * The instants of a verify are chain positions: `T0` is the head seq when the verify took `P0`.
 */
import { imageBadBlocks, suspectWalkVersions } from '../../../shared/core/bad-versions';
import { appendPending, type Chain, commitEntry, headEntry } from '../../../shared/core/chain';
import { BLOCKS_PER_SEGMENT, volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { SuspectRestorePointError } from '../../../shared/core/errors';
import { PitMap } from '../../../shared/core/pit-map';
import { restorePlan, selectRestorePoint } from '../../../shared/core/restore-plan';
import { compareDeltaMap, dirtyRegionLog, fixupMap, revisedCompareMap, scanDeltaMap, scanScope } from '../../../shared/core/verify-plan';
import { at, badArrays, badCounts, blocks, buildChain } from './chain-fixtures';

/** A 64 GiB volume: exactly two segments of 65,536 blocks. */
const TWO_SEGMENT_GIB = 64;

describe('claims 1–2 (twins 13–14): scan every region, compare, record mismatches in C, copy guided by C', () => {
  /*
   * segment 0                          segment 1
   * blocks  1  2  3                    65537
   * S_0     a  b  c                    x
   * P0      a  B  c                    X        (B, X differ)
   * C       .  ■  .                    ■        → C = {2, 65537}, copy F = C
   */
  const chain = buildChain([{ delta: [1, 2, 3, BLOCKS_PER_SEGMENT + 1], volumeSize: TWO_SEGMENT_GIB }]);
  const noChanges = DeltaMap.empty(volumeBlocks(TWO_SEGMENT_GIB));
  const allocated = DeltaMap.of(volumeBlocks(TWO_SEGMENT_GIB), [1, 2, 3, BLOCKS_PER_SEGMENT + 1]);
  const mismatchesBySegment = new Map([[0, [2]], [1, [BLOCKS_PER_SEGMENT + 1]]]);

  it('records exactly the mismatching blocks of every segment in C and copies those', () => {
    // Prepare
    const pitMap = PitMap.atVerifyStart(chain, noChanges);

    // Act
    let compare = DeltaMap.empty(pitMap.volumeBlocks);
    for (const segmentIndex of [0, 1]) {
      const scope = scanScope({ pitMap, segmentIndex, allocated });
      compare = compare.union(compareDeltaMap(scope, mismatchesBySegment.get(segmentIndex) ?? []));
    }
    const copy = fixupMap(DeltaMap.empty(pitMap.volumeBlocks), revisedCompareMap(compare, DeltaMap.empty(pitMap.volumeBlocks)));

    // Assess
    expect(compare.toArray()).toEqual([2, BLOCKS_PER_SEGMENT + 1]);
    expect(copy.toArray()).toEqual([2, BLOCKS_PER_SEGMENT + 1]);
  });

  it('repeats the scan for each region: the segment scopes together cover every allocated block once', () => {
    // Prepare
    const pitMap = PitMap.atVerifyStart(chain, noChanges);

    // Act
    const scopes = [0, 1].map((segmentIndex) => scanScope({ pitMap, segmentIndex, allocated }).toArray());

    // Assess
    expect(scopes).toEqual([[1, 2, 3], [BLOCKS_PER_SEGMENT + 1]]);
  });
});

describe('claims 3–4 (twins 15–16): the present delta map and the PIT map decide what is compared', () => {
  /*
   * block       0  1  2  3  4  5
   * D_0         ■  ■  ■  ■  .  .
   * D_1         .  .  ■  .  .  .      head = 1
   * D0 (T0)     .  .  .  ■  .  ■      P_head → P0: pending, not compared
   * PIT         S1 S1 S1 ⧗  .  ⧗      compared: {0, 1, 2}
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [2] }]);
  const presentDelta = blocks([3, 5]);

  it('maps every block outside D0 to S_head and every block of D0 to pending', () => {
    // Prepare
    const pitMap = PitMap.atVerifyStart(chain, presentDelta);

    // Act
    const sources = [0, 2, 3, 5].map((blockIndex) => pitMap.sourceOf(blockIndex));

    // Assess
    expect(sources).toEqual([
      { kind: 'secondary', seq: 1, secondarySnapshotId: 'snap-s1' },
      { kind: 'secondary', seq: 1, secondarySnapshotId: 'snap-s1' },
      { kind: 'pending' },
      { kind: 'pending' },
    ]);
  });

  it('compares only the allocated blocks that are not pending', () => {
    // Prepare
    const pitMap = PitMap.atVerifyStart(chain, presentDelta);
    const allocatedInP0OrShead = blocks([0, 1, 2, 3, 5]);

    // Act
    const compared = pitMap.blocksToCompare(0, allocatedInP0OrShead);

    // Assess
    expect(compared.toArray()).toEqual([0, 1, 2]);
  });
});

describe('claims 5–6 (twins 17–18): the dirty region log limits the scan', () => {
  /*
   * block       0  1  2  3  4  5  6  7
   * D_0         ■  ■  ■  ■  ■  ■  ■  ■    committed
   * D_1         .  .  .  .  ■  .  .  ■    pending: S_1 completed, then the sync crashed
   * DRL         .  .  .  .  ■  .  .  ■    = what was in flight
   * S_1 vs P_1  .  .  .  .  =  .  .  ≠    → C = {7}: only 2 of 8 blocks read
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3, 4, 5, 6, 7] }, { delta: [4, 7], status: 'pending' }]);
  const allocated = blocks([0, 1, 2, 3, 4, 5, 6, 7]);

  it('scans and compares only the regions listed in the dirty region log', () => {
    // Prepare
    const inFlight = chain[1];
    const pitMap = PitMap.against(inFlight, blocks([]));
    const log = dirtyRegionLog(chain);

    // Act
    const scope = scanScope({ pitMap, segmentIndex: 0, allocated, dirtyRegionLog: log });
    const compare = compareDeltaMap(scope, [7]);

    // Assess
    expect(scope.toArray()).toEqual([4, 7]);
    expect(compare.toArray()).toEqual([7]);
  });

  it('lists only blocks modified but not yet committed, and nothing once the entry commits', () => {
    // Prepare
    const committed = commitEntry(chain, 1, at(12));

    // Act
    const before = dirtyRegionLog(chain);
    const after = dirtyRegionLog(committed);

    // Assess
    expect(before.toArray()).toEqual([4, 7]);
    expect(after.toArray()).toEqual([]);
  });
});

describe('claims 7–9 (twins 19–21): the scan delta map is subtracted and the copy uses the revised map', () => {
  /*
   * seq      0 baseline   1 sync = head at T0 (P0)   2 sync, commits during the scan   T1
   *          {0..9}       {1}                        {2,3}
   *                                        ├──── scan interval: seq > 1 ──────────────┤
   * block    1  2  3  4  5  6
   * C        .  ■  .  ■  .  ■      mismatches found from T0's images
   * SD       .  ■  ■  .  .  .      = D_2 (committed after the head at T0)
   * C'       .  .  .  ■  .  ■      = C − SD: the only blocks still to copy
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, { delta: [1] }, { delta: [2, 3] }]);
  const headAtT0 = 1;
  const compare = blocks([2, 4, 6]);

  it('builds SD from the delta maps committed during the scan interval only', () => {
    // Act
    const scanDelta = scanDeltaMap(chain, headAtT0, compare.volumeBlocks);

    // Assess
    expect(scanDelta.toArray()).toEqual([2, 3]);
  });

  it('revises C by subtracting SD, and the copy follows C′', () => {
    // Prepare
    const scanDelta = scanDeltaMap(chain, headAtT0, compare.volumeBlocks);

    // Act
    const revised = revisedCompareMap(compare, scanDelta);
    const copy = fixupMap(blocks([]), revised);

    // Assess
    expect(revised.toArray()).toEqual([4, 6]);
    expect(copy.toArray()).toEqual([4, 6]);
  });
});

describe('claim 10 (twin 22): the host change map merged with the revised map becomes a fix-up entry at the end', () => {
  /*
   * block    4  6  8
   * C'       ■  ■  .
   * HC       .  .  ■     changes(P_head → P2)
   * F        ■  ■  ■     → appended as entry 3, kind fixup, the new head
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, { delta: [1] }, { delta: [2, 3] }]);

  it('appends F = HC ∪ C′ as a committed fixup entry after the head', () => {
    // Prepare
    const fixup = fixupMap(blocks([8]), blocks([4, 6]));

    // Act
    const appended = appendPending(chain, {
      kind: 'fixup',
      deltaMap: fixup,
      primarySnapshotId: 'snap-p2-fixup',
      secondarySnapshotId: 'snap-s3',
      volumeSize: 1,
      pointInTime: at(30),
    });
    const committed = commitEntry(appended.chain, appended.entry.seq, at(31));
    const head = headEntry(committed);

    // Assess
    expect(fixup.toArray()).toEqual([4, 6, 8]);
    expect(head.seq).toBe(3);
    expect(head.kind).toBe('fixup');
    expect(head.deltaMap.toArray()).toEqual([4, 6, 8]);
    expect(committed).toHaveLength(4);
  });
});

describe('claim 11 (twin 23): the suspect walk records bad versions; every image that holds one is suspect', () => {
  /*
   * seq          0              1       2       3 = head at T0
   * D            {0,1,2,3,4,5}  {1,2}   {2}     {3}
   * walk map     —              {1}     {1,2}   {1,2,3}   (C = {1,2,3} on arrival at 3)
   * bad version  —              (1,1)   (2,2)   (3,3)     the writer of the copy image 3 holds
   * image holds  —              {1}     {1,2}   {1,2,3}   → suspect (1), (2), (3 bad)
   * after D_1 the map is empty: the baseline holds the good version of every block of C
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3, 4, 5] }, { delta: [1, 2] }, { delta: [2] }, { delta: [3] }]);
  const headAtT0 = 3;

  /** The claim word for word: select the delta map at T0, mark it with the blocks left, subtract, step back. */
  function claimMarks(walked: Chain, compare: DeltaMap, startSeq: number): Record<number, number> {
    const marks: Record<number, number> = {};
    let walk = compare;
    for (const entry of [...walked].reverse()) {
      if (entry.seq > startSeq) continue;
      if (walk.isEmpty()) break;
      marks[entry.seq] = walk.size;
      walk = walk.subtract(entry.deltaMap);
    }
    return marks;
  }

  it('records, back from the head at T0 until the map is empty, the writer of each block of C; the marks follow', () => {
    // Prepare
    const compare = blocks([1, 2, 3]);

    // Act
    const walk = suspectWalkVersions(chain, compare, headAtT0);
    const badBlocks = imageBadBlocks(chain, walk.versions);

    // Assess
    expect(walk.startSeq).toBe(headAtT0);
    expect(badArrays(walk.versions)).toEqual({ 1: [1], 2: [2], 3: [3] });
    expect(walk.residual.toArray()).toEqual([]);
    expect(badArrays(badBlocks)).toEqual({ 1: [1], 2: [1, 2], 3: [1, 2, 3] });
    expect(badCounts(badBlocks)).toEqual(claimMarks(chain, compare, headAtT0));
  });

  it('records blocks no entry ever wrote as a residual, a bad version of the oldest entry', () => {
    /*
     * C = {1, 9}; block 9 is in no delta map, so it survives the baseline
     * seq    3      2      1      0
     * map    {1,9}  {1,9}  {1,9}  {9}   → residual {9}, bad versions (1,1) and (0,9)
     */
    // Prepare
    const compare = blocks([1, 9]);

    // Act
    const walk = suspectWalkVersions(chain, compare, headAtT0);
    const badBlocks = imageBadBlocks(chain, walk.versions);

    // Assess
    expect(badArrays(walk.versions)).toEqual({ 0: [9], 1: [1] });
    expect(walk.residual.toArray()).toEqual([9]);
    expect(badCounts(badBlocks)).toEqual(claimMarks(chain, compare, headAtT0));
    expect(badCounts(badBlocks)).toEqual({ 0: 1, 1: 2, 2: 2, 3: 2 });
  });

  it('walks from C, not C′: a block a sync rewrote during the scan is still bad in the older images', () => {
    /*
     * head at T0 = 3, sync 4 {2} commits during the scan
     * C = {2}, SD = {2}, C' = {}   (nothing to copy) — yet S_3 and S_2 hold the bad block 2
     */
    // Prepare
    const withScanSync = buildChain([
      { delta: [0, 1, 2, 3, 4, 5] }, { delta: [1, 2] }, { delta: [2] }, { delta: [3] }, { delta: [2] },
    ]);
    const compare = blocks([2]);

    // Act
    const revised = revisedCompareMap(compare, scanDeltaMap(withScanSync, headAtT0, compare.volumeBlocks));
    const walk = suspectWalkVersions(withScanSync, compare, headAtT0);
    const badBlocks = imageBadBlocks(withScanSync, walk.versions);

    // Assess
    expect(revised.toArray()).toEqual([]);
    expect(badArrays(walk.versions)).toEqual({ 2: [2] });
    expect(badArrays(badBlocks)).toEqual({ 2: [2], 3: [2] });
  });

  it('makes the restore points committed during the scan suspect too: they inherit the bad blocks they did not rewrite', () => {
    /*
     * head at T0 = 3; sync 4 {2} commits during the scan. C = {1, 2}
     * S_4 was written with parent S_3 and copied only block 2 → still holds bad block 1 (= C')
     */
    // Prepare
    const withScanSync = buildChain([
      { delta: [0, 1, 2, 3, 4, 5] }, { delta: [1, 2] }, { delta: [2] }, { delta: [3] }, { delta: [2] },
    ]);
    const compare = blocks([1, 2]);
    const revised = revisedCompareMap(compare, scanDeltaMap(withScanSync, headAtT0, compare.volumeBlocks));

    // Act
    const walk = suspectWalkVersions(withScanSync, compare, headAtT0);
    const badBlocks = imageBadBlocks(withScanSync, walk.versions);

    // Assess
    expect(badBlocks.get(4)?.toArray()).toEqual(revised.toArray());
    expect(revised.toArray()).toEqual([1]);
    expect(badCounts(badBlocks)).toEqual({ 1: 1, 2: 2, 3: 2, 4: 1 });
  });

  it('leaves a fix-up that repaired only part of C suspect, and clears the points from the one that rewrote the rest', () => {
    /*
     * seq          3 = head at T0   4 fixup {1}   5 sync {2, 3} (carries the head's bad blocks)
     * image holds  {1,2,3}          {2,3}         {}
     */
    // Prepare
    const repaired = buildChain([
      { delta: [0, 1, 2, 3, 4, 5] }, { delta: [1, 2] }, { delta: [2] }, { delta: [3] },
      { delta: [1], kind: 'fixup' }, { delta: [2, 3] },
    ]);
    const walk = suspectWalkVersions(repaired, blocks([1, 2, 3]), headAtT0);

    // Act
    const badBlocks = imageBadBlocks(repaired, walk.versions);

    // Assess
    expect(badArrays(badBlocks)).toEqual({ 1: [1], 2: [1, 2], 3: [1, 2, 3], 4: [2, 3] });
    expect(badBlocks.has(5)).toBe(false);
  });
});

describe('claim 12 (twin 24): select a restore point and load it back', () => {
  /*
   * seq        0            1       2       3 (head)   now
   * D          {0..7}       {1,2}   {2,3}   {4}        present {5}
   * restore 1: R = D_2 ∪ D_3 ∪ present = {2,3,4,5}, read from S_1 into a child of P_now
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3, 4, 5, 6, 7] }, { delta: [1, 2] }, { delta: [2, 3] }, { delta: [4] }]);
  /** The same chain as the store reads it once point 2's image holds 12 bad versions. */
  const marked = buildChain([{ delta: [0, 1, 2, 3, 4, 5, 6, 7] }, { delta: [1, 2] }, { delta: [2, 3], suspectBlocks: 12 }, { delta: [4] }]);
  const current = { snapshotId: 'snap-pnow', volumeSize: 1, presentDeltaMap: blocks([5]) };

  it('writes only the blocks changed since the chosen point, read from its snapshot', () => {
    // Prepare
    const { restorePoint } = selectRestorePoint(chain, { seq: 1 });

    // Act
    const plan = restorePlan(chain, restorePoint.seq, current);

    // Assess
    expect(plan.mode).toBe('delta');
    if (plan.mode !== 'delta') return;
    expect(plan.sourceSnapshotId).toBe('snap-s1');
    expect(plan.parentSnapshotId).toBe('snap-pnow');
    expect(plan.blocks.toArray()).toEqual([2, 3, 4, 5]);
    expect(plan.blocksToRead.toArray()).toEqual([2, 3, 4, 5]);
    expect(plan.beyondSource.toArray()).toEqual([]);
  });

  it('selects by time the newest trusted point at or before it, passing over a suspect one', () => {
    // Act
    const selection = selectRestorePoint(marked, { at: at(25) });

    // Assess
    expect(selection.restorePoint.seq).toBe(1);
    expect(selection.skippedSuspect).toEqual([2]);
  });

  it('refuses a suspect point unless explicitly allowed', () => {
    // Act
    const refuse = (): unknown => selectRestorePoint(marked, { seq: 2 });
    const allowed = selectRestorePoint(marked, { seq: 2 }, { allowSuspect: true });

    // Assess
    expect(refuse).toThrow(SuspectRestorePointError);
    expect(refuse).toThrow('restore point 2 is suspect (12 bad blocks); pick another point or pass --allow-suspect');
    expect(allowed.restorePoint.seq).toBe(2);
  });

  it('writes the blocks of a volume grown since the point as zeros', () => {
    /*
     * seq 0: 1 GiB {0..3}; seq 1: 2 GiB, wrote 2048, 2049 (new region); present {1, 2050}
     * restore 0: R = {1, 2048, 2049, 2050}; beyond S_0's 2048 blocks: {2048, 2049, 2050}
     */
    // Prepare
    const grown = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [2048, 2049], volumeSize: 2 }]);
    const grownNow = { snapshotId: 'snap-pnow', volumeSize: 2, presentDeltaMap: blocks([1, 2050], 2) };

    // Act
    const plan = restorePlan(grown, 0, grownNow);

    // Assess
    expect(plan.mode).toBe('delta');
    if (plan.mode !== 'delta') return;
    expect(plan.volumeSize).toBe(2);
    expect(plan.blocks.toArray()).toEqual([1, 2048, 2049, 2050]);
    expect(plan.blocksToRead.toArray()).toEqual([1]);
    expect(plan.beyondSource.toArray()).toEqual([2048, 2049, 2050]);
  });

  it('restores the whole snapshot when the primary lineage is gone', () => {
    // Act
    const plan = restorePlan(chain, 1, undefined);

    // Assess
    expect(plan).toEqual({ mode: 'full', restorePoint: 1, sourceSnapshotId: 'snap-s1', volumeSize: 1 });
  });
});

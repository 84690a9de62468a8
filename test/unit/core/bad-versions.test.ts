/**
 * Bad versions (ARCHITECTURE.md "Verify"): the one record of damage, each image's bad blocks
 * derived from it, the suspect walk that records it, and what a prune does to it. Volumes are
 * 1 GiB unless a scenario grows one; block diagrams show only the blocks that matter.
 */
import { badVersionCount, handedToSuccessor, imageBadBlocks, oldestBadWriter, suspectWalkVersions } from '../../../shared/core/bad-versions';
import type { Chain } from '../../../shared/core/chain';
import type { ChainEntry } from '../../../shared/core/chain-entry';
import type { DeltaMap } from '../../../shared/core/delta-map';
import { ChainInvariantError } from '../../../shared/core/errors';
import { pruneRestorePoint } from '../../../shared/core/retention';
import { badArrays, badCounts, blocks, buildChain, recorded } from './chain-fixtures';

/** The derived bad blocks of the images of `chain` that are still in `remaining`. */
function restrictedTo(badBlocks: ReadonlyMap<number, DeltaMap>, remaining: Chain): Record<number, number[]> {
  const seqs = new Set(remaining.map((entry) => entry.seq));
  return badArrays(new Map([...badBlocks].filter(([seq]) => seqs.has(seq))));
}

describe('imageBadBlocks', () => {
  it('counts what each check found exactly: block 0 held by points 0–1, then block 1 held by 0–2 → 2, 2, 1', () => {
    /*
     * seq          0 baseline   1 sync   2 fixup   3 fixup
     * D            {0,1,2,3}    {2}      {0}       {1}
     * verify 1, head 1: C = {0} → (0,0), held by images 0 and 1; fix-up 2 rewrites block 0
     * verify 2, head 2: C = {1} → (0,1), held by images 0, 1 and 2; fix-up 3 rewrites block 1
     * bad blocks   {0,1}        {0,1}    {1}       {}
     */
    // Prepare
    const chain = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [2] }, { delta: [0], kind: 'fixup' }, { delta: [1], kind: 'fixup' }]);
    const first = suspectWalkVersions(chain.slice(0, 2), blocks([0]), 1);
    const second = suspectWalkVersions(chain.slice(0, 3), blocks([1]), 2);

    // Act
    const afterFirst = imageBadBlocks(chain, first.versions);
    const afterSecond = imageBadBlocks(chain, recorded(first.versions, second.versions));

    // Assess
    expect(badArrays(first.versions)).toEqual({ 0: [0] });
    expect(badArrays(second.versions)).toEqual({ 0: [1] });
    expect(badCounts(afterFirst)).toEqual({ 0: 1, 1: 1 });
    expect(badCounts(afterSecond)).toEqual({ 0: 2, 1: 2, 2: 1 });
  });

  it('never counts a version twice when two checks record it', () => {
    /*
     * seq          0          1     2     3
     * D            {0..3}     {1}   {2}   {3}
     * verify 1, head 2: C = {2}    → (2,2)
     * verify 2, head 3: C = {2,3}  → (2,2) again, and (3,3)
     * an added count would make image 2 hold 2 bad blocks and image 3 hold 3
     */
    // Prepare
    const chain = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [1] }, { delta: [2] }, { delta: [3] }]);
    const first = suspectWalkVersions(chain, blocks([2]), 2);
    const second = suspectWalkVersions(chain, blocks([2, 3]), 3);
    const both = recorded(first.versions, second.versions);

    // Act
    const once = imageBadBlocks(chain, first.versions);
    const twice = imageBadBlocks(chain, recorded(first.versions, first.versions));
    const afterBoth = imageBadBlocks(chain, both);

    // Assess
    expect(badArrays(twice)).toEqual(badArrays(once));
    expect(badVersionCount(both)).toBe(badVersionCount(second.versions));
    expect(badArrays(afterBoth)).toEqual(badArrays(imageBadBlocks(chain, second.versions)));
    expect(badCounts(afterBoth)).toEqual({ 2: 1, 3: 2 });
  });

  it('passes a bad version on to every later image until an entry rewrites the block', () => {
    /*
     * seq          0        1      2     3     4
     * D            {0..3}   {1,2}  {2}   {0}   {1}
     * bad          —        (1,1)  —     —     —
     * image holds  —        {1}    {1}   {1}   {}     ← 4 rewrote block 1; 1–3 keep it
     */
    // Prepare
    const chain = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [1, 2] }, { delta: [2] }, { delta: [0] }, { delta: [1] }]);

    // Act
    const badBlocks = imageBadBlocks(chain, new Map([[1, blocks([1])]]));

    // Assess
    expect(badArrays(badBlocks)).toEqual({ 1: [1], 2: [1], 3: [1] });
  });

  it('sizes each image\'s bad blocks to its own volume, which only grows', () => {
    /*
     * seq   0 (1 GiB) {0}   1 (2 GiB) {2048}   bad (0,0) and (1,2048)
     */
    // Prepare
    const chain = buildChain([{ delta: [0] }, { delta: [2048], volumeSize: 2 }]);
    const bad = new Map([[0, blocks([0])], [1, blocks([2048], 2)]]);

    // Act
    const badBlocks = imageBadBlocks(chain, bad);

    // Assess
    expect(badArrays(badBlocks)).toEqual({ 0: [0], 1: [0, 2048] });
    expect(badBlocks.get(0)?.volumeBlocks).toBe(chain[0]?.deltaMap.volumeBlocks);
    expect(badBlocks.get(1)?.volumeBlocks).toBe(chain[1]?.deltaMap.volumeBlocks);
  });

  it('ignores bad versions of a writer that is not in the chain', () => {
    // Prepare
    const chain = buildChain([{ delta: [0, 1] }, { delta: [1] }]);

    // Act
    const badBlocks = imageBadBlocks(chain, new Map([[7, blocks([0])]]));

    // Assess
    expect(badBlocks.size).toBe(0);
  });

  it('refuses entries that are not in ascending seq order', () => {
    // Prepare
    const chain = buildChain([{ delta: [0, 1] }, { delta: [1] }, { delta: [0] }]);
    const bad = new Map([[0, blocks([0])]]);

    // Act
    const descending = (): unknown => imageBadBlocks([...chain].reverse(), bad);
    const repeated = (): unknown => imageBadBlocks([chain[0], chain[1], chain[1]].filter((entry) => entry !== undefined), bad);

    // Assess
    expect(descending).toThrow(ChainInvariantError);
    expect(descending).toThrow('bad-version derivation needs ascending seqs; got 1 after 2');
    expect(repeated).toThrow('got 1 after 1');
  });
});

describe('suspectWalkVersions', () => {
  /*
   * seq   0 {0,1,2,3}   1 {1}   2 {2} = start   3 {1} (committed during the scan)
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [1] }, { delta: [2] }, { delta: [1] }]);

  it('takes the chain in any order and walks back from the start, passing over entries committed after it', () => {
    // Act
    const ascending = suspectWalkVersions(chain, blocks([1, 2, 3]), 2);
    const shuffled = suspectWalkVersions([chain[3], chain[0], chain[2], chain[1]].filter((entry) => entry !== undefined), blocks([1, 2, 3]), 2);

    // Assess
    expect(ascending.startSeq).toBe(2);
    expect(badArrays(ascending.versions)).toEqual({ 0: [3], 1: [1], 2: [2] });
    expect(badArrays(shuffled.versions)).toEqual(badArrays(ascending.versions));
  });

  it('records a residual as bad versions of the oldest entry, united with its own', () => {
    /*
     * C = {0, 9}: block 0's copy is the baseline's; no entry wrote block 9 → (0,0) and (0,9)
     */
    // Act
    const walk = suspectWalkVersions(chain, blocks([0, 9]), 3);

    // Assess
    expect(walk.residual.toArray()).toEqual([9]);
    expect(badArrays(walk.versions)).toEqual({ 0: [0, 9] });
    expect(badCounts(imageBadBlocks(chain, walk.versions))).toEqual({ 0: 2, 1: 2, 2: 2, 3: 2 });
  });

  it('attributes a residual to the oldest remaining entry of a pruned chain', () => {
    // Prepare
    const pruned = buildChain([{ seq: 2, delta: [0, 1] }, { seq: 3, delta: [1] }, { seq: 4, delta: [0] }]);

    // Act
    const walk = suspectWalkVersions(pruned, blocks([9]), 4);

    // Assess
    expect(badArrays(walk.versions)).toEqual({ 2: [9] });
    expect(oldestBadWriter(walk.versions)).toBe(2);
  });

  it('records nothing for an empty compare map', () => {
    // Act
    const walk = suspectWalkVersions(chain, blocks([]), 3);

    // Assess
    expect(walk.versions.size).toBe(0);
    expect(walk.residual.isEmpty()).toBe(true);
  });

  it('fails when the start is not in the chain, pruned or never committed', () => {
    // Prepare
    const withoutOne = chain.filter((entry) => entry.seq !== 1);

    // Act
    const unknown = (): unknown => suspectWalkVersions(chain, blocks([1]), 7);
    const pruned = (): unknown => suspectWalkVersions(withoutOne, blocks([1]), 1);

    // Assess
    expect(unknown).toThrow(ChainInvariantError);
    expect(unknown).toThrow('the suspect walk starts at restore point 7, which is not in the chain');
    expect(pruned).toThrow('the suspect walk starts at restore point 1, which is not in the chain');
  });
});

describe('oldestBadWriter', () => {
  it('finds the smallest writer with a bad version, passing over an empty record', () => {
    // Act
    const oldest = oldestBadWriter(new Map([[5, blocks([1])], [2, blocks([])], [3, blocks([4])]]));
    const none = oldestBadWriter(new Map());

    // Assess
    expect(oldest).toBe(3);
    expect(none).toBeUndefined();
  });
});

describe('badVersionCount', () => {
  it('counts versions, not blocks: one block bad in the copies of two writers is two versions', () => {
    // Act
    const count = badVersionCount(new Map([[1, blocks([1])], [2, blocks([1, 2])]]));

    // Assess
    expect(count).toBe(3);
  });
});

describe('handedToSuccessor', () => {
  it('hands the successor the versions of the blocks it did not rewrite', () => {
    // Act
    const handed = handedToSuccessor(blocks([1, 2, 3]), blocks([2, 5]));

    // Assess
    expect(handed.toArray()).toEqual([1, 3]);
  });

  it('hands nothing when the pruned writer has no bad version or the successor rewrote them all', () => {
    // Act
    const none = handedToSuccessor(undefined, blocks([2], 2));
    const rewritten = handedToSuccessor(blocks([2]), blocks([2]));

    // Assess
    expect(none.isEmpty()).toBe(true);
    expect(none.volumeBlocks).toBe(blocks([], 2).volumeBlocks);
    expect(rewritten.isEmpty()).toBe(true);
  });
});

describe('a prune of a writer with bad versions', () => {
  /*
   * seq          0 {0,1,2,3}   1 {1,2}   2 {2}   3 {3} = head
   * bad          —             (1,1) (1,2)
   * image holds  —             {1,2}     {1}     {1}      ← 2 rewrote block 2
   *
   * prune 1:  BAD#2 += BAD#1 − D_2 = {1}   ─►   D_2 := D_1 ∪ D_2   ─►   ENTRY#1, BAD#1 deleted
   *           pre-merge state                  post-merge state        clean state
   */
  const chain = buildChain([{ delta: [0, 1, 2, 3] }, { delta: [1, 2] }, { delta: [2] }, { delta: [3] }]);
  const bad = new Map([[1, blocks([1, 2])]]);
  const successor = chain[2] as ChainEntry;
  const handed = handedToSuccessor(bad.get(1), successor.deltaMap);
  const preMerge = recorded(bad, new Map([[successor.seq, handed]]));

  it('hands over only the block the successor did not rewrite', () => {
    // Assess
    expect(handed.toArray()).toEqual([1]);
  });

  it('pre-merge: a version re-keyed to the successor while the pruned writer still exists counts once per block', () => {
    // Act
    const badBlocks = imageBadBlocks(chain, preMerge);

    // Assess
    expect(badVersionCount(preMerge)).toBe(badVersionCount(bad) + handed.size);
    expect(badArrays(badBlocks)).toEqual(badArrays(imageBadBlocks(chain, bad)));
    expect(badCounts(badBlocks)).toEqual({ 1: 2, 2: 1, 3: 1 });
  });

  it('post-merge: the pruned writer\'s leftover versions are ignored and every remaining image keeps its bad blocks', () => {
    // Prepare
    const merged = pruneRestorePoint(chain, 1).chain;
    const clean = new Map([...preMerge].filter(([writer]) => writer !== 1));

    // Act
    const postMerge = imageBadBlocks(merged, preMerge);
    const afterGarbage = imageBadBlocks(merged, clean);

    // Assess
    expect(badArrays(postMerge)).toEqual(restrictedTo(imageBadBlocks(chain, bad), merged));
    expect(badArrays(afterGarbage)).toEqual(badArrays(postMerge));
  });

  it('has nothing left to hand after the merge, which hides which blocks the successor wrote itself', () => {
    // Prepare
    const mergedSuccessor = pruneRestorePoint(chain, 1).chain.find((entry) => entry.seq === successor.seq);

    // Act
    const retried = handedToSuccessor(preMerge.get(1), mergedSuccessor?.deltaMap ?? blocks([]));

    // Assess
    expect(retried.isEmpty()).toBe(true);
  });

  it('hands the baseline\'s versions to the entry that becomes the baseline', () => {
    /*
     * bad (0,0) and (0,3): entry 1 rewrote neither; prune 0 → entry 1 is the baseline and holds
     * both, entry 2 too; entry 3 rewrote block 3
     */
    // Prepare
    const baselineBad = new Map([[0, blocks([0, 3])]]);
    const next = chain[1] as ChainEntry;
    const state = recorded(baselineBad, new Map([[next.seq, handedToSuccessor(baselineBad.get(0), next.deltaMap)]]));
    const merged = pruneRestorePoint(chain, 0).chain;

    // Act
    const badBlocks = imageBadBlocks(merged, state);

    // Assess
    expect(merged[0]?.kind).toBe('baseline');
    expect(badArrays(badBlocks)).toEqual(restrictedTo(imageBadBlocks(chain, baselineBad), merged));
    expect(badArrays(badBlocks)).toEqual({ 1: [0, 3], 2: [0, 3], 3: [0] });
  });
});

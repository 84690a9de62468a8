/**
 * Properties of the chain algebra against naive models over plain arrays and Sets. Chains are
 * small (up to 8 entries) over a handful of blocks, some in regions a volume gains when it grows
 * from 1 to 3 GiB, so that overlaps, gaps and growth all occur often.
 */
import fc from 'fast-check';
import type { ChainEntry } from '../../../shared/core/chain-entry';
import { type Chain, validateChain } from '../../../shared/core/chain';
import { volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { restorePlan } from '../../../shared/core/restore-plan';
import { applyRetention, pruneRestorePoint } from '../../../shared/core/retention';
import { suspectWalk } from '../../../shared/core/verify-plan';
import { at, buildChain, ENTRY_SPACING_MINUTES } from './chain-fixtures';

/** Blocks the generated maps draw from: the first GiB, and the start of the second and third. */
const UNIVERSE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2048, 2049, 2050, 4096, 4097];
const MAX_GIB = 3;
/** Minutes after an entry's point in time that T0 falls: after its commit, before the next entry. */
const T0_OFFSET_MINUTES = 5;

const chainArbitrary = fc
  .array(fc.record({ grow: fc.boolean(), delta: fc.subarray(UNIVERSE) }), { minLength: 1, maxLength: 8 })
  .map((specs) => {
    let volumeSize = 1;
    return buildChain(specs.map((spec, position) => {
      if (position > 0 && spec.grow) volumeSize = Math.min(volumeSize + 1, MAX_GIB);
      return { volumeSize, delta: spec.delta.filter((blockIndex) => blockIndex < volumeBlocks(volumeSize)) };
    }));
  });

function lastOf(chain: Chain): ChainEntry {
  const last = chain[chain.length - 1];
  if (last === undefined) throw new Error('generated chains are never empty');
  return last;
}

function withinVolume(list: readonly number[], volumeSize: number): number[] {
  return list.filter((blockIndex) => blockIndex < volumeBlocks(volumeSize));
}

/** Naive image: for each block, the seq of the last entry ≤ `seq` whose delta map holds it. */
function naiveWriter(chain: Chain, seq: number, blockIndex: number): number | undefined {
  let writer: number | undefined;
  for (const entry of chain) if (entry.seq <= seq && entry.deltaMap.has(blockIndex)) writer = entry.seq;
  return writer;
}

describe('suspectWalk', () => {
  describe('against a naive model', () => {
    it('marks, for every bad block, the entries from the start back to the last one that wrote it', () => {
      fc.assert(fc.property(chainArbitrary, fc.subarray(UNIVERSE), fc.nat(), (chain, badList, pick) => {
        // Prepare
        const start = pick % chain.length;
        const head = lastOf(chain);
        const compare = DeltaMap.of(volumeBlocks(head.volumeSize), withinVolume(badList, head.volumeSize));
        const counts = new Map<number, number>();
        const residual: number[] = [];
        for (const blockIndex of compare) {
          const writer = naiveWriter(chain, start, blockIndex);
          if (writer === undefined) residual.push(blockIndex);
          for (let seq = writer ?? 0; seq <= start; seq++) counts.set(seq, (counts.get(seq) ?? 0) + 1);
        }
        const expected = [...counts.entries()]
          .sort(([a], [b]) => b - a)
          .map(([seq, suspectBlocks]) => ({ seq, suspectBlocks }));

        // Act
        const result = suspectWalk(chain, compare, at(start * ENTRY_SPACING_MINUTES + T0_OFFSET_MINUTES));

        // Assess
        expect(result.startSeq).toBe(start);
        expect(result.marks).toEqual(expected);
        expect(result.residual.toArray()).toEqual(residual);
      }));
    });
  });
});

describe('restorePlan', () => {
  describe('against a naive model', () => {
    it('writes the union of every later delta map and the present delta map, zeros beyond the point', () => {
      fc.assert(fc.property(chainArbitrary, fc.subarray(UNIVERSE), fc.nat(), (chain, presentList, pick) => {
        // Prepare
        const point = chain[pick % chain.length] as ChainEntry;
        const head = lastOf(chain);
        const present = DeltaMap.of(volumeBlocks(head.volumeSize), withinVolume(presentList, head.volumeSize));
        const expected = new Set<number>(present);
        for (const entry of chain) if (entry.seq > point.seq) for (const blockIndex of entry.deltaMap) expected.add(blockIndex);
        const sorted = [...expected].sort((a, b) => a - b);
        const beyond = sorted.filter((blockIndex) => blockIndex >= volumeBlocks(point.volumeSize));

        // Act
        const plan = restorePlan(chain, point.seq, { snapshotId: 'snap-pnow', volumeSize: head.volumeSize, presentDeltaMap: present });

        // Assess
        if (plan.mode !== 'delta') throw new Error('a plan with the current primary is a delta plan');
        expect(plan.blocks.toArray()).toEqual(sorted);
        expect(plan.beyondSource.toArray()).toEqual(beyond);
        expect(plan.blocksToRead.toArray()).toEqual(sorted.filter((blockIndex) => !beyond.includes(blockIndex)));
      }));
    });
  });
});

describe('pruneRestorePoint', () => {
  /**
   * The image of every remaining point is unchanged: for each block, the last remaining entry at
   * or before it whose (merged) delta map holds the block has, in its own full image, the same
   * version the point had before pruning.
   */
  function expectImagesUnchanged(before: Chain, after: Chain): void {
    for (const point of after) {
      for (const blockIndex of UNIVERSE) {
        const writerAfter = naiveWriter(after, point.seq, blockIndex);
        const versionAfter = writerAfter === undefined ? undefined : naiveWriter(before, writerAfter, blockIndex);
        expect([point.seq, blockIndex, versionAfter]).toEqual([point.seq, blockIndex, naiveWriter(before, point.seq, blockIndex)]);
      }
    }
  }

  describe('against a naive model', () => {
    it('leaves the image of every remaining restore point unchanged, whichever points are pruned', () => {
      const chainWithPrunes = chainArbitrary
        .filter((chain) => chain.length >= 2)
        .chain((chain) => fc.tuple(fc.constant(chain), fc.subarray(chain.slice(0, -1).map((entry) => entry.seq))));
      fc.assert(fc.property(chainWithPrunes, fc.boolean(), ([chain, doomed], reverse) => {
        // Prepare
        const order = reverse ? [...doomed].reverse() : doomed;

        // Act
        let pruned: Chain = chain;
        const unreferenced: string[] = [];
        for (const seq of order) {
          const result = pruneRestorePoint(pruned, seq);
          pruned = result.chain;
          unreferenced.push(...result.unreferencedSnapshotIds);
        }

        // Assess
        expect(() => validateChain(pruned)).not.toThrow();
        expect(pruned.map((entry) => entry.seq)).toEqual(chain.map((entry) => entry.seq).filter((seq) => !doomed.includes(seq)));
        expect([...unreferenced].sort()).toEqual(doomed.map((seq) => `snap-s${seq}`).sort());
        expectImagesUnchanged(chain, pruned);
      }));
    });

    it('keeps the images unchanged under a keep-last policy, and keeps exactly the last N', () => {
      fc.assert(fc.property(chainArbitrary, fc.integer({ min: 1, max: 9 }), (chain, keepLast) => {
        // Act
        const result = applyRetention(chain, { keepLast }, at(0));

        // Assess
        expect(result.chain.map((entry) => entry.seq)).toEqual(chain.slice(-keepLast).map((entry) => entry.seq));
        expectImagesUnchanged(chain, result.chain);
      }));
    });
  });
});

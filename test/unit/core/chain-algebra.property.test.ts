/**
 * Properties of the chain algebra against naive models over plain arrays and Sets. Chains are
 * small (up to 8 entries) over a handful of blocks, some in regions a volume gains when it grows
 * from 1 to 3 GiB, so that overlaps, gaps and growth all occur often.
 */
import fc from 'fast-check';
import { handedToSuccessor, imageBadBlocks, suspectWalkVersions } from '../../../shared/core/bad-versions';
import type { ChainEntry } from '../../../shared/core/chain-entry';
import { type Chain, validateChain } from '../../../shared/core/chain';
import { volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { restorePlan } from '../../../shared/core/restore-plan';
import { applyRetention, pruneRestorePoint } from '../../../shared/core/retention';
import { at, badArrays, buildChain, recorded } from './chain-fixtures';

/** Blocks the generated maps draw from: the first GiB, and the start of the second and third. */
const UNIVERSE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2048, 2049, 2050, 4096, 4097];
const MAX_GIB = 3;

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

/** A chain and some of its stored versions `(writer n, block b ∈ D_n)` found damaged. */
const damagedChainArbitrary = chainArbitrary.chain((chain) => {
  const stored = chain.flatMap((entry) => entry.deltaMap.toArray().map((blockIndex): [number, number] => [entry.seq, blockIndex]));
  return fc.tuple(fc.constant(chain), fc.subarray(stored));
});

/** The damaged versions as the bad-version set: writer → blocks, sized to the writer's volume. */
function asBadVersions(chain: Chain, damaged: ReadonlyArray<readonly [number, number]>): Map<number, DeltaMap> {
  const bad = new Map<number, DeltaMap>();
  for (const [writer, blockIndex] of damaged) {
    const entry = chain.find((candidate) => candidate.seq === writer) as ChainEntry;
    bad.set(writer, (bad.get(writer) ?? DeltaMap.empty(entry.deltaMap.volumeBlocks)).add(blockIndex));
  }
  return bad;
}

/**
 * Naive model: image `k` holds, for each block, the copy of the last entry ≤ `k` that wrote it;
 * the block is bad in `k` when that copy is damaged. Only images with a bad block appear.
 */
function naiveBadBlocks(chain: Chain, damaged: ReadonlyArray<readonly [number, number]>): Record<number, number[]> {
  const isDamaged = new Set(damaged.map(([writer, blockIndex]) => `${writer}/${blockIndex}`));
  const result: Record<number, number[]> = {};
  for (const image of chain) {
    const bad = UNIVERSE.filter((blockIndex) => {
      const writer = naiveWriter(chain, image.seq, blockIndex);
      return writer !== undefined && isDamaged.has(`${writer}/${blockIndex}`);
    });
    if (bad.length > 0) result[image.seq] = bad;
  }
  return result;
}

describe('bad versions', () => {
  describe('against a naive model', () => {
    it('derives for every image exactly the blocks whose copy it holds is damaged', () => {
      fc.assert(fc.property(damagedChainArbitrary, ([chain, damaged]) => {
        // Prepare
        const expected = naiveBadBlocks(chain, damaged);

        // Act
        const badBlocks = imageBadBlocks(chain, asBadVersions(chain, damaged));

        // Assess
        expect(badArrays(badBlocks)).toEqual(expected);
        for (const [seq, blocks] of badBlocks) {
          expect([seq, blocks.volumeBlocks]).toEqual([seq, (chain.find((entry) => entry.seq === seq) as ChainEntry).deltaMap.volumeBlocks]);
        }
      }));
    });

    it('walks from the head image\'s C to exactly the writer of each copy it holds, and those versions give back C', () => {
      const scenario = damagedChainArbitrary.chain(([chain, damaged]) =>
        fc.tuple(fc.constant(chain), fc.constant(damaged), fc.shuffledSubarray([...chain], { minLength: chain.length, maxLength: chain.length })));
      fc.assert(fc.property(scenario, ([chain, damaged, anyOrder]) => {
        // Prepare
        const head = lastOf(chain);
        const compare = DeltaMap.of(head.deltaMap.volumeBlocks, naiveBadBlocks(chain, damaged)[head.seq] ?? []);
        const expected: Record<number, number[]> = {};
        for (const blockIndex of compare) {
          const writer = naiveWriter(chain, head.seq, blockIndex) as number;
          (expected[writer] ??= []).push(blockIndex);
        }

        // Act
        const walk = suspectWalkVersions(anyOrder, compare, head.seq);

        // Assess
        expect(walk.startSeq).toBe(head.seq);
        expect(badArrays(walk.versions)).toEqual(expected);
        expect(walk.residual.isEmpty()).toBe(true);
        expect(imageBadBlocks(chain, walk.versions).get(head.seq)?.toArray() ?? []).toEqual(compare.toArray());
      }));
    });

    it('attributes the blocks of C no entry wrote to the oldest entry, whose image and every later one hold them', () => {
      fc.assert(fc.property(chainArbitrary, fc.subarray(UNIVERSE), fc.nat(), (chain, badList, pick) => {
        // Prepare
        const start = chain[pick % chain.length] as ChainEntry;
        const compare = DeltaMap.of(start.deltaMap.volumeBlocks, withinVolume(badList, start.volumeSize));
        const unwritten = compare.toArray().filter((blockIndex) => naiveWriter(chain, start.seq, blockIndex) === undefined);
        const expected: Record<number, number[]> = {};
        for (const blockIndex of compare) {
          const writer = naiveWriter(chain, start.seq, blockIndex) ?? 0;
          (expected[writer] ??= []).push(blockIndex);
        }
        for (const list of Object.values(expected)) list.sort((a, b) => a - b);

        // Act
        const walk = suspectWalkVersions(chain, compare, start.seq);

        // Assess
        expect(walk.residual.toArray()).toEqual(unwritten);
        expect(badArrays(walk.versions)).toEqual(expected);
        expect(imageBadBlocks(chain, walk.versions).get(start.seq)?.toArray() ?? []).toEqual(compare.toArray());
      }));
    });

    it('keeps the bad blocks of every remaining image when a prune hands the pruned writer\'s versions to its successor', () => {
      const scenario = damagedChainArbitrary
        .filter(([chain]) => chain.length >= 2)
        .chain(([chain, damaged]) => fc.tuple(fc.constant(chain), fc.constant(damaged), fc.subarray(chain.slice(0, -1).map((entry) => entry.seq))));
      fc.assert(fc.property(scenario, ([chain, damaged, doomed]) => {
        // Prepare
        const before = imageBadBlocks(chain, asBadVersions(chain, damaged));

        // Act
        let pruned: Chain = chain;
        let bad = asBadVersions(chain, damaged);
        for (const seq of doomed) {
          const position = pruned.findIndex((entry) => entry.seq === seq);
          const successor = pruned[position + 1] as ChainEntry;
          const handed = handedToSuccessor(bad.get(seq), successor.deltaMap);
          bad = recorded(bad, new Map([[successor.seq, handed]]));
          pruned = pruneRestorePoint(pruned, seq).chain;
          bad.delete(seq);
        }
        const after = imageBadBlocks(pruned, bad);

        // Assess
        const remaining = new Set(pruned.map((entry) => entry.seq));
        expect(badArrays(after)).toEqual(badArrays(new Map([...before].filter(([seq]) => remaining.has(seq)))));
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

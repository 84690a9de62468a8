import type { ChainEntry } from '../../../shared/core/chain-entry';
import {
  appendPending,
  baselineEntry,
  changesBetween,
  commitEntry,
  discardPending,
  headEntry,
  nextSeq,
  pendingEntry,
  presentDeltaMap,
  restorePoints,
  toInstant,
  validateChain,
} from '../../../shared/core/chain';
import { BlockRangeError, ChainInvariantError, InvalidTimeError } from '../../../shared/core/errors';
import { at, blocks, buildChain } from './chain-fixtures';

const draft = {
  kind: 'sync' as const,
  deltaMap: blocks([3]),
  primarySnapshotId: 'snap-p9',
  secondarySnapshotId: 'snap-s9',
  volumeSize: 1,
  pointInTime: at(50),
};

describe('chain', () => {
  describe('toInstant', () => {
    it('compares times in different zones as instants', () => {
      // Act
      const utc = toInstant('2026-01-01T10:00:00Z');
      const paris = toInstant('2026-01-01T11:00:00.000+01:00');

      // Assess
      expect(paris).toBe(utc);
    });

    it('refuses a time without a zone and a non-date', () => {
      // Act
      const noZone = (): number => toInstant('2026-01-01T10:00:00', 'T0');
      const garbage = (): number => toInstant('yesterday');

      // Assess
      expect(noZone).toThrow(InvalidTimeError);
      expect(noZone).toThrow("T0 '2026-01-01T10:00:00' is not an ISO 8601 time with a zone");
      expect(garbage).toThrow(InvalidTimeError);
    });
  });

  describe('validateChain', () => {
    it('accepts a chain with a gap left by pruning', () => {
      // Prepare
      const chain = buildChain([{ delta: [0, 1], seq: 3 }, { delta: [1], seq: 5 }, { delta: [2], seq: 6, status: 'pending' }]);

      // Act
      const check = (): void => validateChain(chain);

      // Assess
      expect(check).not.toThrow();
    });

    it.each<[string, (chain: ChainEntry[]) => ChainEntry[], string]>([
      ['a repeated seq', (c) => [c[0], { ...c[1], seq: 0 }], 'seq must ascend'],
      ['a first entry that is not the baseline', (c) => [{ ...c[0], kind: 'sync' }, c[1]], 'the first entry must be the baseline'],
      ['a second baseline', (c) => [c[0], { ...c[1], kind: 'baseline' }], 'only the first entry may be a baseline'],
      ['a pending entry before the tail', (c) => [{ ...c[0], status: 'pending', committedAt: undefined }, c[1]], 'only the last entry may be pending'],
      ['a shrinking volume', (c) => [{ ...c[0], volumeSize: 2, deltaMap: blocks([0], 2) }, c[1]], 'volumeSize shrank'],
      ['a delta map of the wrong size', (c) => [c[0], { ...c[1], deltaMap: blocks([1], 2) }], 'delta map covers 4096 blocks'],
      ['a point in time going backwards', (c) => [c[0], { ...c[1], pointInTime: at(-5) }], 'pointInTime goes backwards'],
      ['a commit time going backwards', (c) => [c[0], { ...c[1], committedAt: at(-5) }], 'committedAt goes backwards'],
      ['a committed entry without committedAt', (c) => [c[0], { ...c[1], committedAt: undefined }], 'needs committedAt'],
      ['a suspect entry without bad blocks', (c) => [c[0], { ...c[1], trust: 'suspect' }], 'trust is suspect exactly when'],
    ])('rejects %s', (_name, corrupt, message) => {
      // Prepare
      const chain = corrupt(buildChain([{ delta: [0, 1] }, { delta: [1] }]));

      // Act
      const check = (): void => validateChain(chain);

      // Assess
      expect(check).toThrow(ChainInvariantError);
      expect(check).toThrow(message);
    });
  });

  describe('headEntry', () => {
    it('is the last committed entry, not the pending tail', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1] }, { delta: [2], status: 'pending' }]);

      // Act
      const head = headEntry(chain);

      // Assess
      expect(head.seq).toBe(1);
      expect(pendingEntry(chain)?.seq).toBe(2);
      expect(restorePoints(chain).map((entry) => entry.seq)).toEqual([0, 1]);
    });

    it('fails on a chain with nothing committed', () => {
      // Prepare
      const chain = buildChain([{ delta: [0], status: 'pending' }]);

      // Act
      const find = (): ChainEntry => headEntry(chain);

      // Assess
      expect(find).toThrow(ChainInvariantError);
      expect(baselineEntry(chain).seq).toBe(0);
      expect(() => baselineEntry([])).toThrow(ChainInvariantError);
    });
  });

  describe('appendPending', () => {
    it('appends a pending entry at the next seq after a gap', () => {
      // Prepare
      const chain = buildChain([{ delta: [0, 1], seq: 3 }, { delta: [1], seq: 5 }]);

      // Act
      const { chain: next, entry } = appendPending(chain, draft);

      // Assess
      expect(entry).toMatchObject({ seq: 6, kind: 'sync', status: 'pending', trust: 'trusted', suspectBlocks: 0 });
      expect(entry.committedAt).toBeUndefined();
      expect(next).toHaveLength(3);
      expect(chain).toHaveLength(2);
    });

    it('refuses a second entry in flight', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1], status: 'pending' }]);

      // Act
      const append = (): unknown => appendPending(chain, draft);

      // Assess
      expect(append).toThrow('entry 1 is still pending');
    });

    it('refuses a baseline after the first entry and a sync as the first', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }]);

      // Act
      const secondBaseline = (): unknown => appendPending(chain, { ...draft, kind: 'baseline' });
      const firstSync = (): unknown => appendPending([], draft);
      const first = appendPending([], { ...draft, kind: 'baseline' });

      // Assess
      expect(secondBaseline).toThrow(ChainInvariantError);
      expect(firstSync).toThrow(ChainInvariantError);
      expect(first.entry.seq).toBe(0);
      expect(nextSeq(first.chain)).toBe(1);
    });
  });

  describe('commitEntry', () => {
    it('commits the pending entry and is a no-op when repeated', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1], status: 'pending' }]);

      // Act
      const once = commitEntry(chain, 1, at(12));
      const twice = commitEntry(once, 1, at(99));

      // Assess
      expect(headEntry(once)).toMatchObject({ seq: 1, status: 'committed', committedAt: at(12) });
      expect(twice).toBe(once);
    });

    it('refuses an unknown seq and a commit time before the previous one', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1], status: 'pending' }]);

      // Act
      const unknown = (): unknown => commitEntry(chain, 7, at(12));
      const backwards = (): unknown => commitEntry(chain, 1, at(-1));

      // Assess
      expect(unknown).toThrow('cannot commit entry 7');
      expect(backwards).toThrow('committedAt goes backwards');
    });
  });

  describe('discardPending', () => {
    it('drops the pending tail and leaves a committed chain alone', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1], status: 'pending' }]);

      // Act
      const dropped = discardPending(chain);
      const nothing = discardPending(dropped.chain);

      // Assess
      expect(dropped.discarded?.seq).toBe(1);
      expect(dropped.chain.map((entry) => entry.seq)).toEqual([0]);
      expect(nothing.discarded).toBeUndefined();
      expect(nothing.chain).toBe(dropped.chain);
    });
  });

  describe('changesBetween', () => {
    it('unites the delta maps after `from` up to `to`, growing to the largest volume', () => {
      // Prepare
      const chain = buildChain([{ delta: [0] }, { delta: [1] }, { delta: [2, 2048], volumeSize: 2 }, { delta: [3], volumeSize: 2 }]);

      // Act
      const changes = changesBetween(chain, 0, 2, blocks([]).volumeBlocks);

      // Assess
      expect(changes.toArray()).toEqual([1, 2, 2048]);
      expect(changes.volumeBlocks).toBe(4096);
    });
  });

  describe('presentDeltaMap', () => {
    it('sizes the map to the grown volume so the new region fits', () => {
      // Prepare
      const head = headEntry(buildChain([{ delta: [0] }]));

      // Act
      const present = presentDeltaMap(head, 2, [1, 3000]);

      // Assess
      expect(present.volumeBlocks).toBe(4096);
      expect(present.toArray()).toEqual([1, 3000]);
    });

    it('refuses a volume that shrank and a block beyond the volume', () => {
      // Prepare
      const head = headEntry(buildChain([{ delta: [0], volumeSize: 2 }]));

      // Act
      const shrunk = (): unknown => presentDeltaMap(head, 1, [1]);
      const outside = (): unknown => presentDeltaMap(head, 2, [4096]);

      // Assess
      expect(shrunk).toThrow(ChainInvariantError);
      expect(outside).toThrow(BlockRangeError);
    });
  });
});

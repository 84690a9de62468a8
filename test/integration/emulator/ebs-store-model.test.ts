import fc from 'fast-check';
import { EmulatorClock, SnapshotStore } from '../../../local/emulator';
import { IN_FIRST, IN_SECOND } from '../../../local/emulator/store';
import { patternBlock } from './ebs-helpers';

/** Blocks of the model volume: small, so collisions between steps are frequent. */
const MODEL_BLOCKS = 48;
/** Distinct block contents: few, so identical content across steps is frequent too. */
const CONTENT_SEEDS = 6;
const CONTENTS = Array.from({ length: CONTENT_SEEDS }, (_, seed) => patternBlock(seed));

/** One step of a lineage: block → content seed, or null for a block the volume trimmed. */
const stepArbitrary = fc.dictionary(
  fc.integer({ min: 0, max: MODEL_BLOCKS - 1 }).map(String),
  fc.option(fc.integer({ min: 0, max: CONTENT_SEEDS - 1 }), { nil: null }),
  { maxKeys: 12 },
);

describe('SnapshotStore (against a naive model)', () => {
  describe('changedBlocks', () => {
    it('equals the union of the steps between two snapshots, restricted to blocks either one holds', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArbitrary, { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat(), async (steps, a, b) => {
          // Prepare: the store's lineage and the model's full images side by side.
          const store = await SnapshotStore.open({ clock: new EmulatorClock() });
          const ids: string[] = [];
          const images: Map<number, number>[] = [];
          let image = new Map<number, number>();
          for (const step of steps) {
            const changed = new Map<number, Buffer | null>();
            image = new Map(image);
            for (const [key, seed] of Object.entries(step)) {
              changed.set(Number(key), seed === null ? null : CONTENTS[seed]);
              if (seed === null) image.delete(Number(key));
              else image.set(Number(key), seed);
            }
            const info = await store.createSnapshotFromVolume({
              volumeId: 'vol-0model',
              volumeSize: 1,
              parentSnapshotId: ids.at(-1),
              changed,
              tags: [],
              encrypted: false,
            });
            ids.push(info.snapshotId);
            images.push(image);
          }
          const [i, j] = [a % steps.length, b % steps.length].sort((x, y) => x - y);

          // Act
          const { listing } = store.changedBlocks(ids[i], ids[j]);

          // Assess
          const touched = new Set<number>();
          for (let k = i + 1; k <= j; k++) for (const key of Object.keys(steps[k])) touched.add(Number(key));
          const expected = [...touched].filter((x) => images[i].has(x) || images[j].has(x)).sort((x, y) => x - y);
          expect(Array.from(listing.indexes)).toEqual(expected);
          expected.forEach((x, n) => {
            expect((listing.flags![n] & IN_FIRST) !== 0).toBe(images[i].has(x));
            expect((listing.flags![n] & IN_SECOND) !== 0).toBe(images[j].has(x));
          });
          expect(store.listBlockIndexes(ids[j])).toEqual([...images[j].keys()].sort((x, y) => x - y));
          for (const [x, seed] of images[j]) expect((await store.readBlock(ids[j], x))?.equals(CONTENTS[seed])).toBe(true);
        }),
        { numRuns: 60 },
      );
    });
  });
});

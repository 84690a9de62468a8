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

  describe('corruptBlock', () => {
    /** The damage the store derives from a stored version: its first byte inverted. */
    function damaged(data: Buffer): Buffer {
      const bad = Buffer.from(data);
      bad[0] ^= 0xff;
      return bad;
    }

    /** A snapshot of the model tree: the index of its parent (or a new lineage) and its own step. */
    const nodeArbitrary = fc.record({ parent: fc.option(fc.nat(), { nil: undefined }), step: stepArbitrary });

    it('damages exactly the snapshots whose image resolves to the stored version, in a forest of lineages sharing content', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(nodeArbitrary, { minLength: 1, maxLength: 8 }),
          fc.array(fc.record({ at: fc.nat(), blockIndex: fc.integer({ min: 0, max: MODEL_BLOCKS - 1 }), snapshotScope: fc.boolean() }), { minLength: 1, maxLength: 6 }),
          async (nodes, corruptions) => {
            // Prepare: a forest (each root a volume of its own, children possibly branching) and its model
            const store = await SnapshotStore.open({ clock: new EmulatorClock() });
            const ids: string[] = [];
            const parents: (number | undefined)[] = [];
            const own: Map<number, number | null>[] = [];
            for (const [k, node] of nodes.entries()) {
              const parent = k === 0 || node.parent === undefined ? undefined : node.parent % k;
              const changed = new Map<number, Buffer | null>();
              const step = new Map(Object.entries(node.step).map(([key, seed]) => [Number(key), seed]));
              for (const [blockIndex, seed] of step) changed.set(blockIndex, seed === null ? null : CONTENTS[seed]);
              const info = await store.createSnapshotFromVolume({
                volumeId: parent === undefined ? `vol-0model${k}` : 'unused',
                volumeSize: 1,
                parentSnapshotId: parent === undefined ? undefined : ids[parent],
                changed,
                tags: [],
                encrypted: false,
              });
              ids.push(info.snapshotId);
              parents.push(parent);
              own.push(step);
            }
            const writerOf = (k: number, blockIndex: number): number | undefined => {
              for (let r: number | undefined = k; r !== undefined; r = parents[r]) if (own[r].has(blockIndex)) return r;
              return undefined;
            };
            const storedDamage = new Set<string>();
            const privateDamage = new Set<string>();

            for (const { at, blockIndex, snapshotScope } of corruptions) {
              const k = at % nodes.length;
              const writer = writerOf(k, blockIndex);
              const seed = writer === undefined ? undefined : own[writer].get(blockIndex);

              // Act
              const corrupting = store.corruptBlock(ids[k], blockIndex, snapshotScope ? 'snapshot' : 'stored');

              // Assess: the answer, then every block of every snapshot against the model
              if (writer === undefined || seed === null || seed === undefined) {
                await expect(corrupting).rejects.toMatchObject({ reason: 'INVALID_BLOCK', status: 400 });
                continue;
              }
              const result = await corrupting;
              if (snapshotScope) privateDamage.add(`${k}:${blockIndex}`);
              else storedDamage.add(`${writer}:${blockIndex}`);
              const sharers = ids.filter((_, n) => writerOf(n, blockIndex) === writer && !privateDamage.has(`${n}:${blockIndex}`));
              expect(result.writerSnapshotId).toBe(ids[writer]);
              expect([...result.affectedSnapshotIds].sort()).toEqual(snapshotScope ? [ids[k]] : [...sharers].sort());
              for (let n = 0; n < ids.length; n++) {
                for (let x = 0; x < MODEL_BLOCKS; x++) {
                  const w = writerOf(n, x);
                  const s = w === undefined ? undefined : own[w].get(x);
                  const read = await store.readBlock(ids[n], x);
                  if (s === undefined || s === null) {
                    expect(read).toBeUndefined();
                    continue;
                  }
                  const isDamaged = privateDamage.has(`${n}:${x}`) || storedDamage.has(`${w}:${x}`);
                  expect(read?.equals(isDamaged ? damaged(CONTENTS[s]) : CONTENTS[s])).toBe(true);
                }
              }
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});

/**
 * The Scrub job's steps against the local cloud (emulator + dynalite over HTTP), driven in the
 * Scrub machine's order: ScrubBegin → ScrubSegment per (point, segment) → ScrubFinish. The scrub
 * reads each stored version back against its digest-manifest digest; what it finds becomes bad
 * versions, from which every point's trust is derived and which the next sync repairs.
 */
import { BLOCKS_PER_SEGMENT } from '../../../shared/core/constants';
import { driveScrub, driveVerify } from '../../../local/drivers';
import { chainView, corrupt, imageDifferences, runSyncSteps, startVerifyHarness, startWorkload, type VerifyHarness } from './verify-harness';

/** 40 GiB: two segments, so a point's versions span two Map items. */
const TWO_SEGMENT_GIB = 40;
const FAR = BLOCKS_PER_SEGMENT + 3;

let harness: VerifyHarness;

beforeAll(async () => {
  harness = await startVerifyHarness();
}, 30_000);

afterAll(async () => {
  await harness.stop();
});

async function secondaryOf(volumeId: string, seq: number): Promise<string> {
  return (await harness.ctx.store.getEntry(volumeId, seq)).secondarySnapshotId;
}

describe('Scrub job', () => {
  it('reads every retained stored version once against its manifest digest, finds nothing on a healthy lineage, and a `new` scrub reads only what came since', async () => {
    // Prepare: 0 writes {0,1,2,FAR}, 1 writes {1,FAR}
    const workload = await startWorkload(harness, TWO_SEGMENT_GIB);
    await workload.write([0, 1, 2, FAR], 1);
    await runSyncSteps(harness, workload);
    await workload.write([1, FAR], 2);
    await runSyncSteps(harness, workload);
    harness.cloud.emulator.stats.reset();

    // Act
    const full = await driveScrub(harness.ctx, workload.volumeId);
    const nothingNew = await driveScrub(harness.ctx, workload.volumeId, undefined, { scope: 'new' });
    await workload.write([2], 3);
    await runSyncSteps(harness, workload);
    const readBack = await driveScrub(harness.ctx, workload.volumeId, undefined, { scope: 'new' });

    // Assess
    const read = (run: typeof full): number => run.segments.reduce((sum, segment) => sum + segment.read, 0);
    expect(full.begun?.items).toEqual([{ seq: 0, segment: 0 }, { seq: 0, segment: 1 }, { seq: 1, segment: 0 }, { seq: 1, segment: 1 }]);
    expect(read(full)).toBe(4 + 2);
    expect(full.segments.every((segment) => segment.bad === 0 && segment.structural === 0 && segment.unchecked === 0)).toBe(true);
    expect(full.report).toMatchObject({ scope: 'all', throughSeq: 1, pointsRead: 2, badVersions: 0, suspectPoints: [] });
    expect(nothingNew.begun?.items).toEqual([]);
    expect(readBack.begun?.seqs).toEqual([2]);
    expect(read(readBack)).toBe(1);
    expect((await chainView(harness, workload.volumeId)).every((entry) => entry.trust === 'trusted')).toBe(true);
  });

  it('finds damage to a copy the host has since rewritten, which no verify can see, marks exactly the points holding it, and the next sync repairs the head', async () => {
    // point 0 writes {0,1,2}; 1 writes {3}; the host then rewrites 1, and point 2 writes {1}.
    // The baseline's copy of 1 is damaged at rest (shared by S_0 and S_1, as on EBS).
    const workload = await startWorkload(harness, TWO_SEGMENT_GIB);
    await workload.write([0, 1, 2], 11);
    await runSyncSteps(harness, workload);
    await workload.write([3], 12);
    await runSyncSteps(harness, workload);
    await corrupt(harness, 1, [await secondaryOf(workload.volumeId, 0), await secondaryOf(workload.volumeId, 1)]);
    await workload.write([1], 13);
    await runSyncSteps(harness, workload);
    // The head (point 2) rewrote block 1: a verify compares the primary with the head and sees nothing.
    const verify = await driveVerify(harness.ctx, workload.volumeId);
    expect(verify.report).toMatchObject({ outcome: 'clean', mismatches: 0 });

    // Act
    const scrub = await driveScrub(harness.ctx, workload.volumeId);

    // Assess: the bad version is (0, 1); points 0 and 1 hold it, point 2 rewrote it
    expect(scrub.report).toMatchObject({ badVersions: 1, suspectPoints: [{ seq: 0, suspectBlocks: 1 }, { seq: 1, suspectBlocks: 1 }] });
    expect([...(await harness.ctx.store.readBadVersions(workload.volumeId))].map(([writer, blocks]) => [writer, blocks.toArray()])).toEqual([[0, [1]]]);
    expect(await chainView(harness, workload.volumeId)).toEqual([
      { seq: 0, kind: 'baseline', trust: 'suspect', suspectBlocks: 1 },
      { seq: 1, kind: 'sync', trust: 'suspect', suspectBlocks: 1 },
      { seq: 2, kind: 'sync', trust: 'trusted', suspectBlocks: 0 },
    ]);
  });

  it('records damage the head holds as the pending repair: the next sync carries it as a fix-up and the head reads back equal to the primary', async () => {
    // Prepare: 0 writes {0,1,FAR}; 1 writes {2}; the baseline's copy of FAR is damaged (held by 0 and 1)
    const workload = await startWorkload(harness, TWO_SEGMENT_GIB);
    await workload.write([0, 1, FAR], 21);
    await runSyncSteps(harness, workload);
    await workload.write([2], 22);
    await runSyncSteps(harness, workload);
    await corrupt(harness, FAR, [await secondaryOf(workload.volumeId, 0), await secondaryOf(workload.volumeId, 1)]);
    const scrub = await driveScrub(harness.ctx, workload.volumeId);
    expect(scrub.report?.suspectPoints).toEqual([{ seq: 0, suspectBlocks: 1 }, { seq: 1, suspectBlocks: 1 }]);

    // Act: a scheduled sync with nothing else changed
    const repaired = await runSyncSteps(harness, workload);

    // Assess
    expect(repaired).toMatchObject({ seq: 2, kind: 'fixup', blocks: 1 });
    expect(await chainView(harness, workload.volumeId)).toEqual([
      { seq: 0, kind: 'baseline', trust: 'suspect', suspectBlocks: 1 },
      { seq: 1, kind: 'sync', trust: 'suspect', suspectBlocks: 1 },
      { seq: 2, kind: 'fixup', trust: 'trusted', suspectBlocks: 0 },
    ]);
    expect(await imageDifferences(harness, workload, repaired.secondarySnapshotId)).toEqual([]);
  });
});

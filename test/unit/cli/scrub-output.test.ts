/** What `ebs-cdp scrub` and `ebs-cdp status` print of a scrub. */
import { renderScrub } from '../../../cli/commands/jobs';
import { renderStatus, type VolumeStatus } from '../../../cli/commands/points';
import type { ScrubReport } from '../../../shared/engine/scrub';

const CLEAN: ScrubReport = {
  volumeId: 'vol-1', runId: 'scrub-a', scope: 'all', throughSeq: 4, pointsRead: 5, badVersions: 0, suspectPoints: [], prunedMeanwhile: [],
};

describe('renderScrub', () => {
  it('says a clean full scrub read every retained point, through which point', () => {
    // Act
    const text = renderScrub(CLEAN);

    // Assess
    expect(text.split('\n')).toEqual([
      'scrub scrub-a of vol-1 (every retained restore point): clean',
      '  read 5 restore points, through point 4',
    ]);
  });

  it('names the bad versions, the suspect points and the points pruned meanwhile of a read-back', () => {
    // Act
    const text = renderScrub({
      ...CLEAN, scope: 'new', pointsRead: 2, badVersions: 3, suspectPoints: [{ seq: 3, suspectBlocks: 2 }, { seq: 4, suspectBlocks: 1 }], prunedMeanwhile: [2],
    });

    // Assess
    expect(text.split('\n')).toEqual([
      'scrub scrub-a of vol-1 (the restore points committed since the last scrub): found 3 bad stored versions',
      '  read 2 restore points, through point 4',
      '  suspect: point 3 (2 bad), point 4 (1 bad)',
      '  pruned while it ran (their successors are read next time): 2',
    ]);
  });
});

describe('renderStatus', () => {
  it('shows the last scrub with its scope, how far it read and what it found', () => {
    // Prepare
    const status: VolumeStatus = {
      volumeId: 'vol-1', volumeSize: 8, headSeq: 4, restorePoints: 5, suspectPoints: 0, lease: null, dirtyRegionBlocks: 0,
      lastSync: null, lastVerify: null,
      lastScrub: { runId: 'scrub-a', job: 'scrub', status: 'succeeded', at: '2026-11-25T00:00:00.000Z', summary: { scope: 'new', throughSeq: 4, badVersions: 0 } },
      rpoLagMs: null, config: {},
    };

    // Act
    const lines = renderStatus(status).split('\n');
    const never = renderStatus({ ...status, lastScrub: null }).split('\n');

    // Assess
    expect(lines).toContain('  last scrub      succeeded at 2026-11-25T00:00:00.000Z (new, through point 4, 0 bad versions)');
    expect(never).toContain('  last scrub      never');
  });
});

import * as core from '../../../shared/core';

describe('shared/core index', () => {
  describe('exports', () => {
    it('re-exports the geometry, errors, delta maps, chain algebra and plans', () => {
      // Act
      const names = Object.keys(core);

      // Assess
      expect(names).toEqual(expect.arrayContaining([
        'BLOCK_SIZE', 'volumeBlocks', 'EbsCdpError', 'ChainInvariantError', 'DeltaMap', 'MAX_ENCODED_SEGMENT_BYTES',
        'validateChain', 'headEntry', 'appendPending', 'commitEntry', 'PitMap', 'scanScope', 'compareDeltaMap',
        'scanDeltaMap', 'revisedCompareMap', 'fixupMap', 'selectRestorePoint', 'restorePlan', 'pruneRestorePoint',
        'restorePointsToPrune', 'applyRetention',
      ]));
      expect(new core.RetentionError('x')).toBeInstanceOf(core.EbsCdpError);
    });
  });
});

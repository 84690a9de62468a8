import { snapshotClientToken } from '../../../shared/aws/snapshot-writer';

describe('snapshotClientToken', () => {
  it('is the same for the same job, so a re-run step gets its snapshot back', () => {
    // Act
    const first = snapshotClientToken({ volumeId: 'vol-1', seq: 7, purpose: 'sync' });
    const again = snapshotClientToken({ volumeId: 'vol-1', seq: 7, purpose: 'sync' });

    // Assess
    expect(again).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs when any part of the job differs', () => {
    // Prepare
    const base = { volumeId: 'vol-1', seq: 7, purpose: 'sync' };

    // Act
    const tokens = new Set([
      snapshotClientToken(base),
      snapshotClientToken({ ...base, volumeId: 'vol-2' }),
      snapshotClientToken({ ...base, seq: 8 }),
      snapshotClientToken({ ...base, purpose: 'fixup' }),
      // Fields are not simply concatenated: these two must not collide.
      snapshotClientToken({ volumeId: 'vol-1', seq: 7, purpose: '1sync' }),
    ]);

    // Assess
    expect(tokens.size).toBe(5);
  });

  it('refuses a seq that is not a non-negative integer', () => {
    // Act / Assess
    expect(() => snapshotClientToken({ volumeId: 'vol-1', seq: -1, purpose: 'sync' })).toThrow(RangeError);
  });
});

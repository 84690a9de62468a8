import { isInvalidBlockToken, readWithFreshToken } from '../../../shared/aws/block-token';
import { EbsValidationError, InvalidBlockTokenError } from '../../../shared/core/ports/errors';

function invalidToken(): EbsValidationError {
  return new EbsValidationError('token expired (test)', 'INVALID_BLOCK_TOKEN');
}

describe('readWithFreshToken', () => {
  const context = { snapshotId: 'snap-1', blockIndex: 42 };

  it('reads with the given token when it is valid, without listing', async () => {
    // Prepare
    const relist = jest.fn(async () => 'fresh');

    // Act
    const data = await readWithFreshToken('old', async (token) => `data via ${token}`, relist, context);

    // Assess
    expect(data).toBe('data via old');
    expect(relist).not.toHaveBeenCalled();
  });

  it('re-lists the block once when its token is refused, and reads with the fresh one', async () => {
    // Prepare
    const used: string[] = [];
    const read = async (token: string): Promise<string> => {
      used.push(token);
      if (token === 'old') throw invalidToken();
      return `data via ${token}`;
    };

    // Act
    const data = await readWithFreshToken('old', read, async () => 'fresh', context);

    // Assess
    expect(data).toBe('data via fresh');
    expect(used).toEqual(['old', 'fresh']);
  });

  it('fails with InvalidBlockTokenError when the block is no longer listed', async () => {
    // Act
    const failure = readWithFreshToken('old', async () => Promise.reject(invalidToken()), async () => undefined, context);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(InvalidBlockTokenError);
    await expect(failure).rejects.toMatchObject({ snapshotId: 'snap-1', blockIndex: 42 });
  });

  it('fails with InvalidBlockTokenError when the fresh token is refused too, after one re-list', async () => {
    // Prepare
    const relist = jest.fn(async () => 'fresh');

    // Act
    const failure = readWithFreshToken('old', async () => Promise.reject(invalidToken()), relist, context);

    // Assess
    await expect(failure).rejects.toThrow(/refused a freshly listed token too/);
    expect(relist).toHaveBeenCalledTimes(1);
  });

  it('passes other errors through without re-listing', async () => {
    // Prepare
    const relist = jest.fn(async () => 'fresh');
    const other = new EbsValidationError('bad block (test)', 'INVALID_BLOCK');

    // Act / Assess
    await expect(readWithFreshToken('old', async () => Promise.reject(other), relist, context)).rejects.toBe(other);
    expect(relist).not.toHaveBeenCalled();
  });
});

describe('isInvalidBlockToken', () => {
  it('recognises the raw SDK exception and the translated error, nothing else', () => {
    // Act / Assess
    expect(isInvalidBlockToken(Object.assign(new Error('x'), { name: 'ValidationException', Reason: 'INVALID_BLOCK_TOKEN' }))).toBe(true);
    expect(isInvalidBlockToken(invalidToken())).toBe(true);
    expect(isInvalidBlockToken(Object.assign(new Error('x'), { name: 'ValidationException', Reason: 'INVALID_PAGE_TOKEN' }))).toBe(false);
    expect(isInvalidBlockToken('INVALID_BLOCK_TOKEN')).toBe(false);
  });
});

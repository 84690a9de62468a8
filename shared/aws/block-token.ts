/**
 * What to do when GetSnapshotBlock refuses a block token: list the block again and retry once.
 * Tokens live 7 days, but a long verify or a resumed step can hold listed tokens past that, and
 * re-listing one block costs one List call, far less than failing the segment.
 */
import { EbsValidationError, InvalidBlockTokenError } from '../core/ports/errors';

/** Reason EBS gives when a block token is expired or belongs to another snapshot or block. */
export const INVALID_BLOCK_TOKEN = 'INVALID_BLOCK_TOKEN';

/** True for EBS's ValidationException INVALID_BLOCK_TOKEN, raw or translated. */
export function isInvalidBlockToken(error: unknown): boolean {
  if (error instanceof EbsValidationError) return error.reason === INVALID_BLOCK_TOKEN;
  if (typeof error !== 'object' || error === null) return false;
  const { name, Reason } = error as { name?: string; Reason?: string };
  return name === 'ValidationException' && Reason === INVALID_BLOCK_TOKEN;
}

/**
 * Reads with `blockToken`; if the token is refused, asks `relist` for a fresh one and reads once
 * more. A block that is no longer listed, or a fresh token refused again, is an
 * `InvalidBlockTokenError`: something other than expiry is wrong.
 *
 * @example
 * const data = await readWithFreshToken(token, (t) => get(t), () => relistOne(snapshotId, blockIndex), ctx);
 */
export async function readWithFreshToken<T>(
  blockToken: string,
  read: (blockToken: string) => Promise<T>,
  relist: () => Promise<string | undefined>,
  context: { snapshotId: string; blockIndex: number },
): Promise<T> {
  try {
    return await read(blockToken);
  } catch (error) {
    if (!isInvalidBlockToken(error)) throw error;
    const fresh = await relist();
    if (fresh === undefined) {
      throw new InvalidBlockTokenError(
        `block ${context.blockIndex} of ${context.snapshotId} refused its token and is no longer listed in the snapshot; ` +
          'list the snapshot again and rebuild the delta map',
        { ...context, cause: error },
      );
    }
    try {
      return await read(fresh);
    } catch (again) {
      if (!isInvalidBlockToken(again)) throw again;
      throw new InvalidBlockTokenError(
        `block ${context.blockIndex} of ${context.snapshotId} refused a freshly listed token too; check that the reader's client points at the snapshot's Region`,
        { ...context, cause: again },
      );
    }
  }
}

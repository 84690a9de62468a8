/**
 * The errors the ports promise (the chain store's and the snapshot and volume ports'): the
 * adapters in `shared/aws` translate SDK exceptions into these and rethrow what they do not know,
 * and the engine, the state machines and the CLI match on them. Names are stable API (see
 * `EbsCdpError`); fields carry the ids (holder, runId, snapshotId, blockIndex) so nothing parses a
 * message. Messages say what happened and what to do.
 */
import { EbsCdpError } from '../errors';

// ── Chain store ──────────────────────────────────────────────────────────────────────────────

/** The volume has no META record: nothing protects it yet. */
export class VolumeNotProtectedError extends EbsCdpError {
  static override readonly errorName: string = 'VolumeNotProtectedError';
}

/** `protect` was asked again for a volume already protected with another size or config. */
export class VolumeAlreadyProtectedError extends EbsCdpError {
  static override readonly errorName: string = 'VolumeAlreadyProtectedError';
}

/** Another run holds a live lease on the volume. */
export class VolumeBusyError extends EbsCdpError {
  static override readonly errorName: string = 'VolumeBusyError';

  readonly holder: string;
  readonly runId: string;
  readonly expiresAt: number;

  constructor(volumeId: string, lease: { holder: string; runId: string; expiresAt: number }) {
    super(
      `volume ${volumeId} is busy: run ${lease.runId} of ${lease.holder} holds its lease until ` +
        `${new Date(lease.expiresAt).toISOString()}; wait for that run to finish or for the lease to expire, then retry`,
      { volumeId },
    );
    this.holder = lease.holder;
    this.runId = lease.runId;
    this.expiresAt = lease.expiresAt;
  }
}

/**
 * The caller's fencing token is no longer the volume's: its lease expired and another run took
 * it over (or it was released). Nothing was committed by this call.
 */
export class LeaseLostError extends EbsCdpError {
  static override readonly errorName: string = 'LeaseLostError';
}

/** A conditional update of a volume's META kept losing to concurrent writers. */
export class ConcurrentUpdateError extends EbsCdpError {
  static override readonly errorName: string = 'ConcurrentUpdateError';
}

/** BatchWriteItem / BatchGetItem left items unprocessed after every retry. */
export class BatchRetryExhaustedError extends EbsCdpError {
  static override readonly errorName: string = 'BatchRetryExhaustedError';
}

/** A stored item is malformed, or a delta map's shards do not match their entry's checksum. */
export class ChainStoreCorruptError extends EbsCdpError {
  static override readonly errorName: string = 'ChainStoreCorruptError';
}

/** No verify run with that id was recorded for the volume. */
export class VerifyRunNotFoundError extends EbsCdpError {
  static override readonly errorName: string = 'VerifyRunNotFoundError';
}

/** An id or number the chain store cannot key on (empty, holds `#`, negative, too large). */
export class ChainStoreInputError extends EbsCdpError {
  static override readonly errorName: string = 'ChainStoreInputError';
}

// ── Snapshots and volumes (EBS direct APIs, EC2) ─────────────────────────────────────────

/** The snapshot does not exist (deleted, wrong Region/endpoint, or a typo in its id). */
export class SnapshotNotFoundError extends EbsCdpError {
  static override readonly errorName: string = 'SnapshotNotFoundError';
}

/**
 * ListChangedBlocks was asked to compare snapshots of two lineages (UNRELATED_SNAPSHOTS). The
 * base primary snapshot was probably replaced or deleted: take a new baseline.
 */
export class UnrelatedSnapshotsError extends EbsCdpError {
  static override readonly errorName: string = 'UnrelatedSnapshotsError';
}

/** A block's bytes do not hash to the `x-amz-Checksum` EBS sent, or its length is not one block. */
export class ChecksumMismatchError extends EbsCdpError {
  static override readonly errorName: string = 'ChecksumMismatchError';
}

/**
 * A block token was refused (INVALID_BLOCK_TOKEN) even after listing the block again: the block
 * is no longer in the snapshot's listing, or the snapshot was replaced.
 */
export class InvalidBlockTokenError extends EbsCdpError {
  static override readonly errorName: string = 'InvalidBlockTokenError';
}

/** One block's failure inside a {@link BlockCopyFailedError}. */
export interface BlockFailure {
  readonly blockIndex: number;
  readonly error: unknown;
}

/** Largest number of per-block failures quoted in the message: the rest are in `failures`. */
const QUOTED_FAILURES = 5;

/**
 * Some blocks of a copy failed after every retry. Every other block was written; the step can be
 * re-run (it is idempotent) once the cause is fixed. `failures` holds every failed block.
 */
export class BlockCopyFailedError extends EbsCdpError {
  static override readonly errorName: string = 'BlockCopyFailedError';

  readonly failures: readonly BlockFailure[];

  constructor(failures: readonly BlockFailure[], context: { snapshotId?: string; volumeId?: string } = {}) {
    const sorted = [...failures].sort((a, b) => a.blockIndex - b.blockIndex);
    const quoted = sorted
      .slice(0, QUOTED_FAILURES)
      .map((f) => `block ${f.blockIndex}: ${f.error instanceof Error ? `${f.error.name}: ${f.error.message}` : String(f.error)}`)
      .join('; ');
    const more = sorted.length > QUOTED_FAILURES ? `; and ${sorted.length - QUOTED_FAILURES} more` : '';
    super(
      `${sorted.length} block(s) failed${context.snapshotId === undefined ? '' : ` for snapshot ${context.snapshotId}`}: ${quoted}${more}. ` +
        'The other blocks are done; fix the cause and re-run the step (it is idempotent).',
      { ...context, blockIndex: sorted[0]?.blockIndex, cause: sorted[0]?.error },
    );
    this.failures = sorted;
  }
}

/** The snapshot went to state `error` (e.g. its StartSnapshot timeout passed before completion). */
export class SnapshotFailedError extends EbsCdpError {
  static override readonly errorName: string = 'SnapshotFailedError';

  readonly stateMessage?: string;

  constructor(snapshotId: string, stateMessage: string | undefined, context: { volumeId?: string } = {}) {
    super(
      `snapshot ${snapshotId} is in state error (${stateMessage ?? 'no reason given'}); delete it and run the step again`,
      { ...context, snapshotId },
    );
    this.stateMessage = stateMessage;
  }
}

/** A snapshot did not reach `completed` within the bounded number of polls. */
export class SnapshotWaitTimeoutError extends EbsCdpError {
  static override readonly errorName: string = 'SnapshotWaitTimeoutError';
}

/** EBS kept throttling a request after every retry: lower the account budget or the concurrency. */
export class ThrottledError extends EbsCdpError {
  static override readonly errorName: string = 'ThrottledError';
}

/** EBS kept answering a server error (5xx) after every retry: the service is degraded; retry later. */
export class EbsServiceError extends EbsCdpError {
  static override readonly errorName: string = 'EbsServiceError';
}

/** EBS refused a request as invalid (ValidationException): retrying cannot help. `reason` is EBS's. */
export class EbsValidationError extends EbsCdpError {
  static override readonly errorName: string = 'EbsValidationError';

  readonly reason?: string;

  constructor(message: string, reason: string | undefined, context: { snapshotId?: string; blockIndex?: number; cause?: unknown } = {}) {
    super(message, context);
    this.reason = reason;
  }
}

/**
 * StartSnapshot's ClientToken was used before with other parameters (ConflictException): an
 * earlier attempt of this step asked for a different snapshot (other parent, size, tags or
 * encryption). Find out why the step's input changed; do not reuse the token.
 */
export class ClientTokenConflictError extends EbsCdpError {
  static override readonly errorName: string = 'ClientTokenConflictError';
}

/** Too many snapshots are pending in the account or for the volume (ConcurrentLimitExceededException): retry later. */
export class SnapshotLimitError extends EbsCdpError {
  static override readonly errorName: string = 'SnapshotLimitError';
}

/** A volume that does not exist, or is in a state the operation cannot use. */
export class InvalidVolumeError extends EbsCdpError {
  static override readonly errorName: string = 'InvalidVolumeError';
}

/** An instance that does not exist or does not have the volume where the operation expects it. */
export class InvalidInstanceError extends EbsCdpError {
  static override readonly errorName: string = 'InvalidInstanceError';
}

/** A snapshot we were asked to delete does not carry our ownership tag: we never delete it. */
export class SnapshotNotOwnedError extends EbsCdpError {
  static override readonly errorName: string = 'SnapshotNotOwnedError';
}

/**
 * Swapping a volume onto an instance failed at `failedStep`. `rollback` lists what was done to
 * put the original volume back; `rolledBack` tells whether the instance is as it was.
 */
export class SwapFailedError extends EbsCdpError {
  static override readonly errorName: string = 'SwapFailedError';

  readonly failedStep: string;
  readonly rollback: readonly string[];
  readonly rolledBack: boolean;

  constructor(args: {
    instanceId: string;
    volumeId: string;
    failedStep: string;
    rollback: readonly string[];
    rolledBack: boolean;
    cause: unknown;
  }) {
    const causeText = args.cause instanceof Error ? `${args.cause.name}: ${args.cause.message}` : String(args.cause);
    const rollbackText = args.rollback.length === 0 ? 'nothing to roll back' : args.rollback.join(', ');
    const outcome = args.rolledBack
      ? 'the original volume is back in place; fix the cause and retry the swap'
      : 'ROLLBACK INCOMPLETE: check the instance by hand and re-attach the original volume';
    super(`swapping a volume onto instance ${args.instanceId} failed at ${args.failedStep} (${causeText}); rollback: ${rollbackText}; ${outcome}`, {
      volumeId: args.volumeId,
      cause: args.cause,
    });
    this.failedStep = args.failedStep;
    this.rollback = args.rollback;
    this.rolledBack = args.rolledBack;
  }
}

/**
 * `unprotectVolume` found a sync's entry in flight (a live DRL, its lease expired or released):
 * its secondary snapshot would be orphaned. The next sync recovers it (adopts or discards it).
 */
export class SyncInFlightError extends EbsCdpError {
  static override readonly errorName: string = 'SyncInFlightError';
}

/** `unprotectVolume` was asked to hand back more snapshot ids than META can record. */
export class TooManyRestorePointsError extends EbsCdpError {
  static override readonly errorName: string = 'TooManyRestorePointsError';
}

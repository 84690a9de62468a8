/**
 * Every typed error the engine steps raise themselves, in one file. Errors the ports promise
 * (`shared/core/ports/errors.ts`) and the core's (`shared/core/errors.ts`) pass through the engine
 * unchanged. Names are stable API (see `EbsCdpError`): Step Functions Retry/Catch and the CLI
 * match on `X.errorName`.
 */
import { EbsCdpError, InvalidTimeError, RestorePointNotFoundError, SuspectRestorePointError } from '../core/errors';
import { VolumeNotProtectedError } from '../core/ports/errors';

// ── Every job ───────────────────────────────────────────────────────────────────────────────

/** The engine's environment is missing a variable or holds a malformed one. */
export class EngineConfigError extends EbsCdpError {
  static override readonly errorName: string = 'EngineConfigError';
}

/**
 * The digests persisted for a snapshot do not add up to the blocks its plan wrote (a segment's
 * copy is missing or was cut short): run the missing CopySegment items again, then complete.
 */
export class DigestsIncompleteError extends EbsCdpError {
  static override readonly errorName: string = 'DigestsIncompleteError';
}

/**
 * A step ran out of the order of its job: e.g. `SyncCommit` with no entry in flight and none
 * committed at that seq, or `CopySegment` for a segment the plan does not hold.
 */
export class StepOrderError extends EbsCdpError {
  static override readonly errorName: string = 'StepOrderError';
}

/** A snapshot a step needs is not `completed` yet: the state machine's wait loop should run first. */
export class SnapshotNotReadyError extends EbsCdpError {
  static override readonly errorName: string = 'SnapshotNotReadyError';
}

/** The volume's protection config holds a malformed retention policy or KMS key. */
export class ProtectionConfigError extends EbsCdpError {
  static override readonly errorName: string = 'ProtectionConfigError';
}

/**
 * A bounded poll loop of a state machine ran out of polls (a task that reports its own progress,
 * e.g. `RestoreCreateVolume`, never said `COMPLETED`). Raised by the state machine's own Pass state,
 * never thrown in process; a class so that JobFailed and the CLI name it like any other error.
 */
export class WaitTimeoutError extends EbsCdpError {
  static override readonly errorName: string = 'WaitTimeoutError';
}

// ── Verify ──────────────────────────────────────────────────────────────────────────────────

/** The volume has no committed restore point yet: there is nothing to compare. */
export class NothingToVerifyError extends EbsCdpError {
  static override readonly errorName: string = 'NothingToVerifyError';
}

/** `VerifyFinishScan` ran before every planned segment wrote its compare shard: run the missing Map items first. */
export class ScanIncompleteError extends EbsCdpError {
  static override readonly errorName: string = 'ScanIncompleteError';
}

/**
 * The base of the present delta map `D0` kept disappearing while the plan listed it (syncs
 * committing and deleting their base over and over). Retry the plan.
 */
export class VerifyBaseMovedError extends EbsCdpError {
  static override readonly errorName: string = 'VerifyBaseMovedError';
}

/**
 * A primary block could not be read intact (its checksum kept failing): the scan cannot judge that
 * block, so the segment fails rather than reporting it clean or bad. Retry the segment.
 */
export class PrimaryBlockUnreadableError extends EbsCdpError {
  static override readonly errorName: string = 'PrimaryBlockUnreadableError';
}

/** The fix-up of a repairing verify was not found, or does not cover the revised compare map `C'`. */
export class FixupMissingError extends EbsCdpError {
  static override readonly errorName: string = 'FixupMissingError';
}

// ── Restore ─────────────────────────────────────────────────────────────────────────────────

/**
 * A restore request that cannot be carried out as asked (an in-place swap with no instance to swap
 * on, no Availability Zone for a volume whose primary is gone). Nothing was changed.
 */
export class RestoreRequestError extends EbsCdpError {
  static override readonly errorName: string = 'RestoreRequestError';
}

/**
 * The chain moved on between `RestoreBegin` and `RestorePlan` (the lease was lost and a sync
 * committed a new head, replacing the base of the present delta map). Nothing was written:
 * start the restore again.
 */
export class RestoreChainMovedError extends EbsCdpError {
  static override readonly errorName: string = 'RestoreChainMovedError';
}

/**
 * Names of the errors that refuse a restore (the request is wrong, not the system): the state
 * machine's Catch sends them to `RestoreReport` as `refused`, never to Retry.
 */
export const RESTORE_REFUSALS: readonly string[] = [
  RestorePointNotFoundError.errorName,
  SuspectRestorePointError.errorName,
  InvalidTimeError.errorName,
  VolumeNotProtectedError.errorName,
  RestoreRequestError.errorName,
];

/** Whether `error` is one of {@link RESTORE_REFUSALS}. */
export function isRestoreRefusal(error: unknown): error is EbsCdpError {
  return error instanceof EbsCdpError && RESTORE_REFUSALS.includes(error.name);
}

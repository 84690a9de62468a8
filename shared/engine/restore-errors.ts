/**
 * Typed errors of the Restore job. Step Functions Retry/Catch match on `name`: never rename one.
 * The refusals of the core (`RestorePointNotFoundError`, `SuspectRestorePointError`,
 * `InvalidTimeError`) and the chain store (`VolumeNotProtectedError`) are reused as they are, so
 * one refusal has one name whichever layer raises it.
 */
import { EbsCdpError, InvalidTimeError, RestorePointNotFoundError, SuspectRestorePointError } from '../core/errors';
import { VolumeNotProtectedError } from '../aws/errors';

/**
 * A restore request that cannot be carried out as asked (an in-place swap with no instance to swap
 * on, no Availability Zone for a volume whose primary is gone). Nothing was changed.
 */
export class RestoreRequestError extends EbsCdpError {}

/**
 * The chain moved on between `RestoreBegin` and `RestorePlan` (the lease was lost and a sync
 * committed a new head, replacing the base of the present delta map). Nothing was written:
 * start the restore again.
 */
export class RestoreChainMovedError extends EbsCdpError {}

/**
 * Names of the errors that refuse a restore (the request is wrong, not the system): the state
 * machine's Catch sends them to `RestoreReport` as `refused`, never to Retry.
 */
export const RESTORE_REFUSALS: readonly string[] = [
  RestorePointNotFoundError.name,
  SuspectRestorePointError.name,
  InvalidTimeError.name,
  VolumeNotProtectedError.name,
  RestoreRequestError.name,
];

/** Whether `error` is one of {@link RESTORE_REFUSALS}. */
export function isRestoreRefusal(error: unknown): error is EbsCdpError {
  return error instanceof EbsCdpError && RESTORE_REFUSALS.includes(error.name);
}

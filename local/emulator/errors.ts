import { EbsCdpError, type ErrorContext } from '../../shared/core/errors';

/** Exception types of the EBS direct APIs, as the SDK's error registry names them. */
export type EbsErrorType =
  | 'ValidationException'
  | 'ResourceNotFoundException'
  | 'RequestThrottledException'
  | 'ConflictException'
  | 'ConcurrentLimitExceededException'
  | 'ServiceQuotaExceededException'
  | 'AccessDeniedException'
  | 'InternalServerException';

/** HTTP status AWS answers with for each exception type (from the service model). */
export const EBS_ERROR_STATUS: Record<EbsErrorType, number> = {
  ValidationException: 400,
  ResourceNotFoundException: 404,
  RequestThrottledException: 400,
  ConflictException: 409,
  ConcurrentLimitExceededException: 400,
  ServiceQuotaExceededException: 402,
  AccessDeniedException: 403,
  InternalServerException: 500,
};

/**
 * An error the emulated service answers with: the server turns it into the status, the
 * `x-amzn-ErrorType` header and the `{ message, Reason }` body AWS sends, so the SDK raises the
 * same exception class (with the same `.Reason`) it raises against AWS.
 */
export class EbsApiError extends EbsCdpError {
  static override readonly errorName: string = 'EbsApiError';

  readonly type: EbsErrorType;
  readonly reason?: string;
  readonly status: number;

  constructor(type: EbsErrorType, reason: string | undefined, message: string, context: ErrorContext = {}) {
    super(message, context);
    this.type = type;
    this.reason = reason;
    this.status = EBS_ERROR_STATUS[type];
  }
}

/** Shorthand for the most common answer: a ValidationException with its `Reason`. */
export function validationError(reason: string, message: string, context: ErrorContext = {}): EbsApiError {
  return new EbsApiError('ValidationException', reason, message, context);
}

/** ResourceNotFoundException SNAPSHOT_NOT_FOUND, as AWS answers for an unknown snapshot. */
export function snapshotNotFound(snapshotId: string): EbsApiError {
  return new EbsApiError('ResourceNotFoundException', 'SNAPSHOT_NOT_FOUND', `The snapshot '${snapshotId}' does not exist.`, {
    snapshotId,
  });
}

/** A fault switch set to a value it cannot take (a rate above 1, a negative latency, …). */
export class FaultConfigError extends EbsCdpError {
  static override readonly errorName: string = 'FaultConfigError';
}

/** Persisted emulator state that cannot be read back (truncated map file, bad metadata). */
export class EmulatorStateError extends EbsCdpError {
  static override readonly errorName: string = 'EmulatorStateError';
}

/**
 * The errors the local Step Functions endpoint answers with: AWS's error codes (the `__type` the
 * SDK turns into `StateMachineDoesNotExist`, `ExecutionAlreadyExists`, …) and their HTTP status,
 * so a client written against AWS meets the same failures here.
 */
import { EbsCdpError } from '../../shared/core/errors';

/** The error codes of the Step Functions API this endpoint can answer with. */
export type StepFunctionsErrorCode =
  | 'StateMachineDoesNotExist'
  | 'ExecutionDoesNotExist'
  | 'ExecutionAlreadyExists'
  | 'InvalidArn'
  | 'InvalidName'
  | 'InvalidExecutionInput'
  | 'InvalidToken'
  | 'ResourceNotFound'
  | 'ValidationException'
  | 'UnknownOperationException'
  | 'SerializationException';

/** Every client error of the API is a 400 (awsJson1_0: the code is in the body, not the status). */
export const CLIENT_ERROR_STATUS = 400;

/** A refused Step Functions call: `code` is the exception's name as the SDK raises it. */
export class StepFunctionsApiError extends EbsCdpError {
  static override readonly errorName: string = 'StepFunctionsApiError';

  readonly status = CLIENT_ERROR_STATUS;

  constructor(
    readonly code: StepFunctionsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The errors the task bundle itself raises around the engine steps (`middleware.ts`): a rejected
 * input, a transient SDK error that escaped the adapters, anything untyped. Names are stable API
 * (see `EbsCdpError`): the state machines' Retry/Catch and the CLI match on `X.errorName`.
 */
import { EbsCdpError } from '../shared/core/errors';

/** The task's input does not match its schema. Never retried: the same input fails the same way. */
export class InvalidTaskInputError extends EbsCdpError {
  static override readonly errorName: string = 'InvalidTaskInputError';

  /** One line per issue: `path: message`. */
  readonly issues: readonly string[];

  constructor(taskName: string, issues: readonly string[], context: { volumeId?: string; cause?: unknown } = {}) {
    super(`${taskName} input is invalid: ${issues.join('; ')}`, context);
    this.issues = issues;
  }
}

/**
 * An error the code did not type (a bug, or an exception no adapter translates). Its original
 * name and message are in this message; its stack and cause are in the task's log.
 */
export class InternalTaskError extends EbsCdpError {
  static override readonly errorName: string = 'InternalTaskError';
}

/**
 * An AWS SDK error the SDK itself marks as transient (throttling, 5xx, a dropped connection)
 * that escaped the adapters after the SDK's own retries: Step Functions retries it with backoff.
 */
export class TransientTaskError extends EbsCdpError {
  static override readonly errorName: string = 'TransientTaskError';
}

/**
 * Typed errors of the local job drivers. Names are set as literals (a minified bundle would lose
 * class names) and match what the state machines record for the same event.
 */
import { EbsCdpError, type ErrorContext } from '../../shared/core/errors';

/** A crash injected at a step boundary: the step died like a Lambda whose retries ran out. */
export class InjectedCrashError extends EbsCdpError {
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
    this.name = 'InjectedCrashError';
  }
}

/**
 * A task polled by a Wait/Choice loop (RestoreCreateVolume) did not answer `COMPLETED` within the
 * bounded number of polls: the machine's `<id>WaitExhausted` state records the same name.
 */
export class WaitTimeoutError extends EbsCdpError {
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
    this.name = 'WaitTimeoutError';
  }
}

/** The SyncRecovered loop came back more often than a recovery can (one crashed run, one resume). */
export class SyncLoopError extends EbsCdpError {
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
    this.name = 'SyncLoopError';
  }
}

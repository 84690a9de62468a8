/**
 * Typed errors of the local job drivers. A bounded poll that runs out throws the engine's
 * `WaitTimeoutError`, the name the state machines record for the same event.
 */
import { EbsCdpError } from '../../shared/core/errors';

/** A crash injected at a step boundary: the step died like a Lambda whose retries ran out. */
export class InjectedCrashError extends EbsCdpError {
  static override readonly errorName: string = 'InjectedCrashError';
}

/** The SyncRecovered loop came back more often than a recovery can (one crashed run, one resume). */
export class SyncLoopError extends EbsCdpError {
  static override readonly errorName: string = 'SyncLoopError';
}

/**
 * The base of every typed error of ebs-cdp. Step Functions Retry/Catch and the CLI's exit-code
 * table match on `name`, so names are stable API: never rename one.
 *
 * Every class declares its name once, as a literal: `static override readonly errorName: string = 'X'`.
 * A name taken from `new.target.name` would be minified away in the Lambda bundles (`l`, `t`),
 * so nothing may depend on a class's JavaScript name. Lists of names (Retry, Catch, exit codes)
 * are built from `X.errorName`, never retyped; `test/unit/core/error-registry.test.ts` fails if a
 * class forgets its literal or spells it differently from the class.
 */
export interface ErrorContext {
  volumeId?: string;
  snapshotId?: string;
  blockIndex?: number;
  segment?: number;
  seq?: number;
  cause?: unknown;
}

export class EbsCdpError extends Error {
  /** The stable name this class's instances carry as `name` (see above). */
  static readonly errorName: string = 'EbsCdpError';

  readonly volumeId?: string;
  readonly snapshotId?: string;
  readonly blockIndex?: number;
  readonly segment?: number;
  readonly seq?: number;

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = errorNameOf(new.target);
    this.volumeId = context.volumeId;
    this.snapshotId = context.snapshotId;
    this.blockIndex = context.blockIndex;
    this.segment = context.segment;
    this.seq = context.seq;
  }
}

/**
 * The stable name of an error class: its own `errorName` literal. A class that declares none
 * (a test's throwaway subclass) falls back to its JavaScript name, which survives only unbundled
 * code; every shipped class declares one (the registry test checks).
 */
export function errorNameOf(errorClass: { readonly errorName: string; readonly name: string }): string {
  return Object.prototype.hasOwnProperty.call(errorClass, 'errorName') ? errorClass.errorName : errorClass.name;
}

/** A block index outside the volume, or a map of another volume size. */
export class BlockRangeError extends EbsCdpError {
  static override readonly errorName: string = 'BlockRangeError';
}

/** Two delta maps of different volume sizes were combined. Resize the smaller one first. */
export class VolumeSizeMismatchError extends EbsCdpError {
  static override readonly errorName: string = 'VolumeSizeMismatchError';
}

/** Serialized delta-map bytes that cannot be decoded (truncated, wrong version, bad container). */
export class DeltaMapDecodeError extends EbsCdpError {
  static override readonly errorName: string = 'DeltaMapDecodeError';
}

/** The chain breaks an invariant (gap in seq, uncommitted entry where a committed one is needed). */
export class ChainInvariantError extends EbsCdpError {
  static override readonly errorName: string = 'ChainInvariantError';
}

/** No restore point matches the request (unknown seq, nothing at or before the time). */
export class RestorePointNotFoundError extends EbsCdpError {
  static override readonly errorName: string = 'RestorePointNotFoundError';
}

/** The chosen restore point is suspect; pass the explicit override to restore it anyway. */
export class SuspectRestorePointError extends EbsCdpError {
  static override readonly errorName: string = 'SuspectRestorePointError';
}

/** A time that is not an ISO 8601 instant with a zone (e.g. `2026-01-02T03:04:05Z`). */
export class InvalidTimeError extends EbsCdpError {
  static override readonly errorName: string = 'InvalidTimeError';
}

/** A prune request or retention policy that cannot be honoured (the head, a pending entry, bad limits). */
export class RetentionError extends EbsCdpError {
  static override readonly errorName: string = 'RetentionError';
}

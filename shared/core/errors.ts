/**
 * The base of every typed error of ebs-cdp. Step Functions Retry/Catch match on `name`,
 * so names are stable API: never rename one.
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
  readonly volumeId?: string;
  readonly snapshotId?: string;
  readonly blockIndex?: number;
  readonly segment?: number;
  readonly seq?: number;

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.volumeId = context.volumeId;
    this.snapshotId = context.snapshotId;
    this.blockIndex = context.blockIndex;
    this.segment = context.segment;
    this.seq = context.seq;
  }
}

/** A block index outside the volume, or a map of another volume size. */
export class BlockRangeError extends EbsCdpError {}

/** Two delta maps of different volume sizes were combined. Resize the smaller one first. */
export class VolumeSizeMismatchError extends EbsCdpError {}

/** Serialized delta-map bytes that cannot be decoded (truncated, wrong version, bad container). */
export class DeltaMapDecodeError extends EbsCdpError {}

/** The chain breaks an invariant (gap in seq, uncommitted entry where a committed one is needed). */
export class ChainInvariantError extends EbsCdpError {}

/** No restore point matches the request (unknown seq, nothing at or before the time). */
export class RestorePointNotFoundError extends EbsCdpError {}

/** The chosen restore point is suspect; pass the explicit override to restore it anyway. */
export class SuspectRestorePointError extends EbsCdpError {}

/** A time that is not an ISO 8601 instant with a zone (e.g. `2026-01-02T03:04:05Z`). */
export class InvalidTimeError extends EbsCdpError {}

/** A prune request or retention policy that cannot be honoured (the head, a pending entry, bad limits). */
export class RetentionError extends EbsCdpError {}

/**
 * Typed errors of the engine steps. Step Functions Retry/Catch match on `name`: never rename one.
 * Errors of the store and adapters (`shared/aws/errors.ts`) and of the core
 * (`shared/core/errors.ts`) pass through the engine unchanged.
 */
import { EbsCdpError } from '../core/errors';

/** The engine's environment is missing a variable or holds a malformed one. */
export class EngineConfigError extends EbsCdpError {}

/** A task's input does not match its schema (the lambdas validate with `schemas.ts`). */
export class TaskInputError extends EbsCdpError {}

/**
 * The digests persisted for a snapshot do not add up to the blocks its plan wrote (a segment's
 * copy is missing or was cut short): run the missing CopySegment items again, then complete.
 */
export class DigestsIncompleteError extends EbsCdpError {}

/**
 * A step ran out of the order of its job: e.g. `SyncCommit` with no entry in flight and none
 * committed at that seq, or `CopySegment` for a segment the plan does not hold.
 */
export class StepOrderError extends EbsCdpError {}

/** A snapshot a step needs is not `completed` yet: the state machine's wait loop should run first. */
export class SnapshotNotReadyError extends EbsCdpError {}

/** The volume's protection config holds a malformed retention policy or KMS key. */
export class ProtectionConfigError extends EbsCdpError {}

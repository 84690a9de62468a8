/**
 * Typed errors of the Verify job. Step Functions Retry/Catch match on `name`: never rename one.
 * Messages say what happened and what to do.
 */
import { EbsCdpError } from '../core/errors';

/** The volume has no committed restore point yet: there is nothing to compare. */
export class NothingToVerifyError extends EbsCdpError {}

/** `VerifyFinishScan` ran before every planned segment wrote its compare shard: run the missing Map items first. */
export class ScanIncompleteError extends EbsCdpError {}

/**
 * The base of the present delta map `D0` kept disappearing while the plan listed it (syncs
 * committing and deleting their base over and over). Retry the plan.
 */
export class VerifyBaseMovedError extends EbsCdpError {}

/**
 * A primary block could not be read intact (its checksum kept failing): the scan cannot judge that
 * block, so the segment fails rather than reporting it clean or bad. Retry the segment.
 */
export class PrimaryBlockUnreadableError extends EbsCdpError {}

/** The fix-up of a repairing verify was not found, or does not cover the revised compare map `C'`. */
export class FixupMissingError extends EbsCdpError {}

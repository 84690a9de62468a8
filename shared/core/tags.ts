/**
 * The tags ebs-cdp puts on what it creates, in one module for every layer: the ownership tag the
 * adapters require before deleting anything, and the keys by which a re-run finds what an earlier
 * attempt created and a sweep tells a job's temporary snapshots from restore points, so that
 * sync, verify and restore cannot drift apart on a key.
 */
import type { Tag } from './ports/snapshots';

/**
 * The ownership tag: present on every snapshot and volume ebs-cdp creates, and required before it
 * deletes one, so a mistaken id can never delete someone else's snapshot.
 */
export const OWNER_TAG: Tag = { key: 'ebs-cdp:managed', value: 'true' };

/**
 * The tag on an instance that an in-place restore may stop, start and swap volumes on: the swap
 * role's IAM conditions require it, so a restore can never stop an instance nobody marked. The
 * Dispatch state machine puts it on the instances of the volumes it protects when the deployment
 * allows in-place restores; any other instance needs it put on by hand.
 */
export const IN_PLACE_RESTORE_TAG: Tag = { key: 'ebs-cdp:in-place-restore', value: 'allowed' };

/** EBS and EC2 allow 50 tags per resource (EBS-FACTS.md). */
export const MAX_TAGS = 50;

/** `tags` with the ownership tag first (a caller's tag of the same key is dropped). */
export function withOwnerTag(tags: readonly Tag[] = []): Tag[] {
  return [OWNER_TAG, ...tags.filter((tag) => tag.key !== OWNER_TAG.key)];
}

/** Whether AWS-style tags include the ownership tag. */
export function isOwned(tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined): boolean {
  return (tags ?? []).some((tag) => tag.Key === OWNER_TAG.key && tag.Value === OWNER_TAG.value);
}

/** Our tags in the SDK's shape. */
export function toSdkTags(tags: readonly Tag[]): Array<{ Key: string; Value: string }> {
  return tags.map((tag) => ({ Key: tag.key, Value: tag.value }));
}

// ── Keys the jobs tag their snapshots with ──────────────────────────────────────────────────

/** The protected volume a snapshot belongs to. */
export const VOLUME_ID_TAG = 'ebs-cdp:volume-id';
/** The run (execution name) that created it: a re-run of SyncBegin finds its `P_now` by it. */
export const RUN_ID_TAG = 'ebs-cdp:run-id';
/**
 * What a snapshot is for. Primary and secondary may share an account and Region, so the sweep
 * after a commit must tell the Sync job's primary snapshots from restore points by this tag.
 */
export const PURPOSE_TAG = 'ebs-cdp:purpose';
/** The restore point a secondary snapshot holds. */
export const SEQ_TAG = 'ebs-cdp:seq';
/** The entry kind (baseline, sync, fixup) of a secondary snapshot. */
export const KIND_TAG = 'ebs-cdp:kind';
/** Tag on a verify's `P0` naming the run that took it: a rerun of VerifyBegin finds it instead of taking another. */
export const VERIFY_RUN_TAG = 'ebs-cdp:verify-run';
/** {@link PURPOSE_TAG} of the primary snapshots (`P_n`) the Sync job takes. */
export const SYNC_PRIMARY_PURPOSE = 'sync-primary';
/** {@link PURPOSE_TAG} of restore points (`S_n`). */
export const RESTORE_POINT_PURPOSE = 'restore-point';

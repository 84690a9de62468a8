/** Tags ebs-cdp puts on what it creates, and how it recognises its own snapshots. */
import type { Tag } from '../core/ports/snapshots';

/**
 * The ownership tag: present on every snapshot and volume ebs-cdp creates, and required before it
 * deletes one, so a mistaken id can never delete someone else's snapshot.
 */
export const OWNER_TAG: Tag = { key: 'ebs-cdp:managed', value: 'true' };

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

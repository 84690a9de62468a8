/** Primary snapshots: EC2 CreateSnapshot of the primary volume, waiting for it, deleting ours. */
import { CreateSnapshotCommand, DeleteSnapshotCommand, DescribeSnapshotsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { PrimarySnapshots, SnapshotStatus, Tag } from '../core/ports/snapshots';
import { callEc2, ec2ErrorCode } from './ec2-calls';
import { InvalidVolumeError, SnapshotNotOwnedError } from '../core/ports/errors';
import { Ec2SnapshotWaiter, type SnapshotWaiterOptions } from './snapshot-waiter';
import { isOwned, toSdkTags, withOwnerTag } from '../core/tags';

/**
 * `completed` answers in a row before a primary snapshot counts as done: a primary snapshot is the
 * base of the next ListChangedBlocks, so we make sure EC2's answer has settled.
 */
export const PRIMARY_CONSECUTIVE_COMPLETED = 3;

const SNAPSHOT_NOT_FOUND = 'InvalidSnapshot.NotFound';
const VOLUME_NOT_FOUND = 'InvalidVolume.NotFound';

/**
 * @example
 * const primary = new Ec2PrimarySnapshots(ec2);
 * const snapshotId = await primary.takeSnapshot(volumeId, { tags: [{ key: 'ebs-cdp:seq', value: '4' }] });
 * await primary.waitUntilCompleted(snapshotId);
 */
export class Ec2PrimarySnapshots implements PrimarySnapshots {
  private readonly waiter: Ec2SnapshotWaiter;

  constructor(
    private readonly ec2: EC2Client,
    private readonly options: SnapshotWaiterOptions = {},
  ) {
    this.waiter = new Ec2SnapshotWaiter(ec2, { consecutiveCompleted: PRIMARY_CONSECUTIVE_COMPLETED, ...options });
  }

  async takeSnapshot(volumeId: string, options: { tags?: readonly Tag[]; description?: string } = {}): Promise<string> {
    try {
      const out = await callEc2(
        () =>
          this.ec2.send(
            new CreateSnapshotCommand({
              VolumeId: volumeId,
              Description: options.description,
              TagSpecifications: [{ ResourceType: 'snapshot', Tags: toSdkTags(withOwnerTag(options.tags)) }],
            }),
          ),
        this.options,
      );
      if (out.SnapshotId === undefined) throw new InvalidVolumeError(`CreateSnapshot of ${volumeId} answered without a SnapshotId`, { volumeId });
      return out.SnapshotId;
    } catch (error) {
      if (ec2ErrorCode(error) === VOLUME_NOT_FOUND) {
        throw new InvalidVolumeError(`volume ${volumeId} does not exist; check the id and the Region of the protection`, { volumeId, cause: error });
      }
      throw error;
    }
  }

  waitUntilCompleted(snapshotId: string): Promise<SnapshotStatus> {
    return this.waiter.waitUntilCompleted(snapshotId);
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    let tags;
    try {
      const out = await callEc2(() => this.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })), this.options);
      const snapshot = out.Snapshots?.find((s) => s.SnapshotId === snapshotId);
      if (snapshot === undefined) return;
      tags = snapshot.Tags;
    } catch (error) {
      // Already gone: deleting is idempotent.
      if (ec2ErrorCode(error) === SNAPSHOT_NOT_FOUND) return;
      throw error;
    }
    if (!isOwned(tags)) {
      throw new SnapshotNotOwnedError(`snapshot ${snapshotId} was not created by ebs-cdp (no ownership tag); it is never deleted by ebs-cdp`, {
        snapshotId,
      });
    }
    try {
      await callEc2(() => this.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })), this.options);
    } catch (error) {
      if (ec2ErrorCode(error) === SNAPSHOT_NOT_FOUND) return;
      throw error;
    }
  }
}

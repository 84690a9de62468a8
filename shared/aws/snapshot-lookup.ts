/**
 * Finding the snapshots ebs-cdp owns by their tags (EC2 DescribeSnapshots with tag filters).
 *
 * Why the engine needs it: EC2 CreateSnapshot has no ClientToken, so a re-run of `SyncBegin`
 * finds the primary snapshot it already took by its run tag instead of taking another, and
 * `SyncCommit` sweeps the primary snapshots of earlier syncs that a crash left behind.
 * */
import { DescribeSnapshotsCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import type { OwnedSnapshot, SnapshotLookup, Tag } from '../core/ports/snapshots';
import { callEc2, type Ec2AdapterOptions } from './ec2-calls';
import { OWNER_TAG } from '../core/tags';

/** DescribeSnapshots page size: the API's maximum, as a volume rarely has more than a few of ours. */
const DESCRIBE_PAGE_SIZE = 1_000;

/**
 * @example
 * const lookup = new Ec2SnapshotLookup(ec2);
 * const [taken] = await lookup.findOwned([{ key: RUN_ID_TAG, value: runId }]);
 */
export class Ec2SnapshotLookup implements SnapshotLookup {
  constructor(
    private readonly ec2: EC2Client,
    private readonly options: Ec2AdapterOptions = {},
  ) {}

  async findOwned(tags: readonly Tag[]): Promise<OwnedSnapshot[]> {
    const filters: Filter[] = [OWNER_TAG, ...tags].map((tag) => ({ Name: `tag:${tag.key}`, Values: [tag.value] }));
    const found: OwnedSnapshot[] = [];
    let nextToken: string | undefined;
    do {
      const out = await callEc2(
        () => this.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: filters, MaxResults: DESCRIBE_PAGE_SIZE, NextToken: nextToken })),
        this.options,
      );
      for (const snapshot of out.Snapshots ?? []) {
        const state = snapshot.State;
        if (snapshot.SnapshotId === undefined || (state !== 'pending' && state !== 'completed' && state !== 'error')) continue;
        found.push({
          snapshotId: snapshot.SnapshotId,
          state,
          startTime: (snapshot.StartTime ?? new Date(0)).toISOString(),
          volumeSize: snapshot.VolumeSize ?? 0,
          tags: (snapshot.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [{ key: t.Key, value: t.Value ?? '' }])),
        });
      }
      nextToken = out.NextToken;
    } while (nextToken !== undefined);
    return found.sort((a, b) => a.startTime.localeCompare(b.startTime) || a.snapshotId.localeCompare(b.snapshotId));
  }
}

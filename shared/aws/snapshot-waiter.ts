/**
 * Waiting for snapshots through EC2 DescribeSnapshots: the only place EBS reports a snapshot's
 * final state after CompleteSnapshot (which may answer `pending`) or CreateSnapshot.
 */
import { DescribeSnapshotsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { SnapshotState, SnapshotStatus, SnapshotWaiter } from '../core/ports/snapshots';
import { callEc2, DEFAULT_MAX_POLLS, DEFAULT_POLL_INTERVAL_MS, ec2ErrorCode, type Ec2AdapterOptions } from './ec2-calls';
import { SnapshotFailedError, SnapshotNotFoundError, SnapshotWaitTimeoutError } from '../core/ports/errors';
import { systemTimer } from './timer';

/** EC2's error code for an unknown snapshot id. */
const SNAPSHOT_NOT_FOUND = 'InvalidSnapshot.NotFound';

export interface SnapshotWaiterOptions extends Ec2AdapterOptions {
  /**
   * `completed` answers in a row before a wait returns. One is enough for direct-API snapshots;
   * for primary snapshots several guard against an eventually consistent read (EC2's read
   * replicas can briefly disagree right after the state changes).
   */
  readonly consecutiveCompleted?: number;
}

/**
 * @example
 * const waiter = new Ec2SnapshotWaiter(ec2);
 * await waiter.waitUntilCompleted(snapshotId); // throws SnapshotFailedError on `error`
 */
export class Ec2SnapshotWaiter implements SnapshotWaiter {
  constructor(
    private readonly ec2: EC2Client,
    private readonly options: SnapshotWaiterOptions = {},
  ) {}

  async status(snapshotId: string): Promise<SnapshotStatus> {
    let out;
    try {
      out = await callEc2(() => this.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })), this.options);
    } catch (error) {
      if (ec2ErrorCode(error) === SNAPSHOT_NOT_FOUND) {
        throw new SnapshotNotFoundError(`snapshot ${snapshotId} does not exist; check its id and that the client points at its Region`, {
          snapshotId,
          cause: error,
        });
      }
      throw error;
    }
    const snapshot = out.Snapshots?.find((s) => s.SnapshotId === snapshotId);
    if (snapshot === undefined) {
      throw new SnapshotNotFoundError(`snapshot ${snapshotId} is not in DescribeSnapshots' answer; it was deleted or belongs to another account`, {
        snapshotId,
      });
    }
    const state = snapshot.State;
    if (state !== 'pending' && state !== 'completed' && state !== 'error') {
      throw new SnapshotFailedError(snapshotId, `unexpected state ${String(state)}`);
    }
    return {
      snapshotId,
      state: state satisfies SnapshotState,
      progress: parseProgress(snapshot.Progress),
      stateMessage: snapshot.StateMessage,
      tags: (snapshot.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [{ key: t.Key, value: t.Value ?? '' }])),
    };
  }

  async waitUntilCompleted(snapshotId: string): Promise<SnapshotStatus> {
    const timer = this.options.timer ?? systemTimer;
    const interval = this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    const maxPolls = this.options.maxPolls ?? DEFAULT_MAX_POLLS;
    const needed = this.options.consecutiveCompleted ?? 1;
    let inARow = 0;
    let last: SnapshotStatus | undefined;
    for (let poll = 0; poll < maxPolls; poll++) {
      if (poll > 0) await timer.sleep(interval);
      last = await this.status(snapshotId);
      if (last.state === 'error') throw new SnapshotFailedError(snapshotId, last.stateMessage);
      inARow = last.state === 'completed' ? inARow + 1 : 0;
      if (inARow >= needed) return last;
    }
    throw new SnapshotWaitTimeoutError(
      `snapshot ${snapshotId} is still ${last?.state ?? 'unknown'} (${last?.progress ?? 0}%) after ${maxPolls} polls; wait longer or check it in the console`,
      { snapshotId },
    );
  }
}

/** EC2 reports progress as `"42%"`. */
function parseProgress(progress: string | undefined): number {
  const value = Number.parseInt(progress ?? '', 10);
  return Number.isFinite(value) ? value : 0;
}
